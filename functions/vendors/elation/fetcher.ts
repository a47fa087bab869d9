import * as z from "zod";
import { UnmappableDeliveryError } from "../errors.js";
import type { ResourceFetcher } from "../format.js";
import {
  bearerAuthorization,
  createVendorApi,
  parseApiUrl,
  parseJson,
  type RetryOptions,
  urlUnder,
} from "../http/api-client.js";
import { type Credential, fixedCredential, readCredential, type SecretReader } from "../http/credential.js";
import { CachedAccessToken, requestToken } from "../http/oauth-token.js";
import type { elationApi } from "./api.js";

/**
 * Fetches what elation/format.ts asks for from Elation's REST API, with a bearer token from Elation's OAuth2
 * client-credentials grant (`POST <base>/oauth2/token/`, form `grant_type=client_credentials&client_id=…&
 * client_secret=…`):
 * - `message_threads/<id>`, `thread_messages/<id>`: `GET <base>/<resource>/<id>/`, returned as Elation sends it,
 *   checked only to be the resource asked for (docs.elationhealth.com/reference/the-message-thread-object: a
 *   thread's `messages` may be the messages or only their ids).
 * - `problems?patient=<id>`, `reports?patient=<id>`, `thread_messages?thread=<id>`: the patient's problem list
 *   and chart documents, a thread's messages, `GET <base>/<list>/?<filter>=<id>&limit=100`, every page (Elation's paginated answer `{ count, next, previous,
 *   results }`, following `next`), returned as `{ results: [...] }` (Elation's published Patient Profile API,
 *   operation `problems_list`, Patient Document API, `reports_list`, Messaging API, `thread_messages_list`:
 *   https://docs.elationhealth.com/reference/problems_list, https://docs.elationhealth.com/reference/reports_list).
 * - an absolute URL: a webhook's `resource_url`, "an optional URL to retrieve the full resource payload"
 *   (https://help.elationhealth.com/articles/rest/event-subscription-api/event-subscriptions/the-published-event-object),
 *   fetched only when it lies under the configured API base URL: the bearer token never leaves Elation's API.
 *
 * Requests go through the shared mechanism (http/api-client.ts): tokens are cached until shortly before
 * `expires_in` runs out, shared by concurrent fetches, and replaced (the client secret re-read) once when the API
 * or the token endpoint refuses them. Failures: `ResourceGoneError` for 404 and 410; transient failures
 * (network, timeout, 408, 429, 5xx, of the API or the token endpoint) are retried with backoff honouring
 * `Retry-After`, then thrown as `ResourceFetchError`; other statuses are a `ResourceFetchError` at once.
 * Redirects are never followed, and no body reaches an error.
 */

export interface ElationFetcherOptions extends RetryOptions {
  /** e.g. `https://sandbox.elationemr.com/api/2.0/`. */
  apiBaseUrl: string;
  /** e.g. `https://sandbox.elationemr.com/api/2.0/oauth2/token/`. */
  tokenUrl: string;
  clientId: string;
  /** The OAuth2 client secret: a value, or a credential re-read from its secret when refused. */
  clientSecret: string | Credential<string>;
  /** Elation's optional scopes (closed beta); omitted, Elation grants `apiv2`. */
  scope?: string;
  /** Per request, API or token endpoint. Default 5 s. */
  timeoutMs?: number;
  /** How long before `expires_in` runs out a token stops being used. Default 60 s. */
  expiryMarginSeconds?: number;
}

/** The resources this fetcher serves one by one, by the reference's first segment. */
const servedResources = new Set(["message_threads", "thread_messages"]);
/** The lists it serves, every page, each with the one filter elation/format.ts gives it. */
const servedLists = new Map([
  ["problems", "patient"],
  ["reports", "patient"],
  ["thread_messages", "thread"],
]);

/** `<resource>/<numeric id>`, as elation/format.ts names them. */
const referencePattern = /^([a-z_]{1,64})\/(\d{1,20})$/;
/** `<list>?<filter>=<numeric id>`, as elation/format.ts names them. */
const listPattern = /^([a-z_]{1,64})\?([a-z_]{1,64})=(\d{1,20})$/;

/** Elation's largest page; a patient's list longer than `maxPages` of them is refused, never cut short. */
const PAGE_SIZE = 100;
const MAX_PAGES = 50;

const elationId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String);

/** Checks only that a body is the resource asked for. */
const resourceSchema = z.looseObject({ id: elationId });

/** One page of an Elation list: its items as Elation sends them, and the URL of the next page. */
const pageSchema = z.looseObject({
  next: z.string().nullish(),
  results: z.array(z.unknown()),
});

/** The fetcher the apply function's `hydration.elation` settings describe, its secret read now. */
export async function fetcherFromSettings(
  settings: z.infer<typeof elationApi.runtimeSettings>,
  readSecret: SecretReader,
): Promise<ResourceFetcher> {
  const clientSecret = await readCredential(readSecret, settings.clientSecretName, String);
  return createElationFetcher({ ...settings, clientSecret });
}

/** Creates the fetcher elation/format.ts's `toFacts` is given. */
export function createElationFetcher(options: ElationFetcherOptions): ResourceFetcher {
  const base = parseApiUrl(options.apiBaseUrl, "Elation API base URL");
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  const tokenUrl = parseApiUrl(options.tokenUrl, "Elation token URL");
  const timeoutMs = options.timeoutMs ?? 5_000;
  const clientSecret =
    typeof options.clientSecret === "string" ? fixedCredential(options.clientSecret) : options.clientSecret;

  const tokens = new CachedAccessToken({
    async requestToken() {
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: options.clientId,
        client_secret: await clientSecret.current(),
      });
      if (options.scope !== undefined) form.set("scope", options.scope);
      return requestToken(tokenUrl, form, timeoutMs);
    },
    now: options.now,
    expiryMarginSeconds: options.expiryMarginSeconds,
    credential: clientSecret,
  });
  const get = createVendorApi({
    ...options,
    base,
    authorization: bearerAuthorization(tokens),
    accept: "application/json",
    timeoutMs,
  });

  /** A URL under the API base (`resource_url`, a page's `next`); undefined when it points anywhere else. */
  const underBase = (value: string): URL | undefined => urlUnder(base, value);

  async function fetchList(reference: string, list: string, filter: string, id: string): Promise<unknown> {
    const results: unknown[] = [];
    let url: URL | undefined = new URL(`${list}/`, base);
    url.search = new URLSearchParams({ [filter]: id, limit: String(PAGE_SIZE) }).toString();
    for (let pages = 0; url !== undefined; pages += 1) {
      if (pages === MAX_PAGES)
        throw new UnmappableDeliveryError(`Elation ${list} list is longer than ${MAX_PAGES} pages`);
      const page = await get(url, reference, parsePage);
      results.push(...page.results);
      if (!page.next) break;
      url = underBase(page.next);
      if (url === undefined)
        throw new UnmappableDeliveryError(`Elation ${list} list pages to a URL outside the API`);
    }
    return { results };
  }

  return async (reference) => {
    if (/^https?:/i.test(reference)) {
      const url = underBase(reference);
      if (url === undefined)
        throw new UnmappableDeliveryError("resource_url is not under the configured Elation API base URL");
      return get(url, "elation:resource_url", (body) => parseResource(body, undefined));
    }
    const [, list, filter, listed] = listPattern.exec(reference) ?? [];
    if (
      list !== undefined &&
      filter !== undefined &&
      listed !== undefined &&
      servedLists.get(list) === filter
    )
      return fetchList(reference, list, filter, listed);
    const [, resource, id] = referencePattern.exec(reference) ?? [];
    if (resource === undefined || id === undefined || !servedResources.has(resource))
      throw new UnmappableDeliveryError("reference is not an Elation resource this fetcher serves");
    return get(new URL(`${resource}/${id}/`, base), reference, (body) => parseResource(body, id));
  };
}

/** A page of a list. Throws `UnmappableDeliveryError`, never quoting the body. */
function parsePage(body: string): z.infer<typeof pageSchema> {
  const page = pageSchema.safeParse(parseJson(body));
  if (!page.success) throw new UnmappableDeliveryError("fetched Elation body is not a page of a list");
  return page.data;
}

/**
 * The body as the resource asked for (any resource for a `resource_url`, whose id the event does not say).
 * Throws `UnmappableDeliveryError`, never quoting the body.
 */
function parseResource(body: string, id: string | undefined): unknown {
  const json = parseJson(body);
  const resource = resourceSchema.safeParse(json);
  if (!resource.success) throw new UnmappableDeliveryError("fetched Elation body is not a resource");
  if (id !== undefined && resource.data.id !== id)
    throw new UnmappableDeliveryError("fetched Elation resource is not the referenced one");
  // As Elation sent it: elation/format.ts reads its own types.
  return json;
}
