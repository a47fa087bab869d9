import * as z from "zod";
import { ResourceFetchError, ResourceGoneError, UnmappableDeliveryError } from "../errors.js";
import type { ResourceFetcher } from "../format.js";
import {
  type AccessTokens,
  bearerAuthorization,
  createVendorApi,
  parseApiUrl,
  type RetryOptions,
  urlUnder,
  type VendorApi,
} from "../http/api-client.js";
import { readCredential, type SecretReader } from "../http/credential.js";
import type { fhirApi } from "./api.js";
import { loadSmartSigningKey, SmartTokenProvider } from "./smart-token-provider.js";

// Tests import it from here.
export { ResourceGoneError } from "../errors.js";

/** Retries: `maxAttempts` (default 3), `baseDelayMs` (200), `maxDelayMs` (5 s), `sleep`, `now` (functions/vendors/http/retry.ts). */
export interface SmartFhirFetcherOptions extends RetryOptions {
  /** The tenant's FHIR base URL, e.g. `https://ehr.example.com/fhir/R4`. */
  baseUrl: string;
  tokens: AccessTokens;
  /** Per request. Default 5 s. */
  timeoutMs?: number;
}

/** `Type/id`, optionally `/_history/version`, with FHIR's id syntax. */
const relativeReferencePattern =
  /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A reference checked to name a resource on the tenant's server. */
interface ResolvedReference {
  url: URL;
  type: string;
  id: string;
}

/** Checks only what makes a body a resource; the mappings check the rest. */
const resourceSchema = z.looseObject({ resourceType: z.string().min(1), id: z.string().min(1) });

/**
 * Fetches resources from one tenant's FHIR server with a SMART Backend Services token: by reference (`Type/id`),
 * or by identifier as a conditional reference (`Type?identifier=system|value`, for athenahealth's events that
 * name their focus only by its identifier), which must find exactly one resource carrying that identifier.
 * Throws `UnmappableDeliveryError` for references outside the server, bodies that are not resources and searches
 * that find several, `ResourceGoneError` for 404 and 410, and otherwise a retryable `ResourceFetchError` (a
 * search that finds nothing yet, too; transient, or a credential failure).
 */
export function createSmartFhirFetcher(options: SmartFhirFetcherOptions): ResourceFetcher {
  const base = parseBaseUrl(options.baseUrl);
  const get = createVendorApi({
    ...options,
    base: new URL(`${base.origin}${base.path}/`),
    authorization: bearerAuthorization(options.tokens),
    accept: "application/fhir+json",
  });
  return async (reference) => {
    const search = parseIdentifierSearch(reference);
    if (search !== undefined) return searchByIdentifier(base, search, reference, get);
    const { url, type, id } = resolveReference(base, reference);
    return get(url, reference, (body) => parseResource(body, type, id));
  };
}

/** The fetcher the apply function's `hydration.fhir` settings describe, its key read now from its secret. */
export async function fetcherFromSettings(
  settings: z.infer<typeof fhirApi.runtimeSettings>,
  readSecret: SecretReader,
): Promise<ResourceFetcher> {
  const key = await readCredential(readSecret, settings.keySecretName, loadSmartSigningKey);
  const tokens = new SmartTokenProvider({
    tokenUrl: settings.tokenUrl,
    clientId: settings.clientId,
    scope: settings.scope,
    key,
  });
  return createSmartFhirFetcher({ baseUrl: settings.baseUrl, tokens });
}

/** `Type?identifier=system|value`, as FHIR writes a conditional reference; the system and value as sent. */
const identifierSearchPattern = /^([A-Z][A-Za-z]+)\?identifier=([^|]{1,256})\|(.{1,256})$/;

interface IdentifierSearch {
  type: string;
  system: string;
  value: string;
}

function parseIdentifierSearch(reference: string): IdentifierSearch | undefined {
  const [, type, system, value] = identifierSearchPattern.exec(reference) ?? [];
  if (type === undefined || system === undefined || value === undefined) return undefined;
  return { type, system, value };
}

/** A searchset's matches, each checked to be of the type searched. */
const searchsetSchema = z.looseObject({
  resourceType: z.literal("Bundle"),
  entry: z
    .array(
      z.looseObject({
        resource: z.looseObject({
          resourceType: z.string(),
          id: z.string().min(1),
          identifier: z
            .array(z.looseObject({ system: z.string().optional(), value: z.string().optional() }))
            .optional(),
        }),
        search: z.looseObject({ mode: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

/**
 * `GET [base]/<Type>?identifier=<system>|<value>`: the one resource of that type carrying the identifier. Only
 * the query varies with the payload, encoded, so the request stays on the tenant's server and path. A server that
 * ignores the parameter answers with resources that do not carry the identifier: they are not matches.
 */
async function searchByIdentifier(
  base: FhirBase,
  search: IdentifierSearch,
  reference: string,
  get: VendorApi,
): Promise<unknown> {
  const url = new URL(`${base.origin}${base.path}/${search.type}`);
  url.searchParams.set("identifier", `${search.system}|${search.value}`);
  let matches: unknown[];
  try {
    matches = await get(url, reference, (body) => searchMatches(body, search));
  } catch (error) {
    // A 404 or 410 answers the search, not a resource: the server does not offer it, which no retry changes.
    if (error instanceof ResourceGoneError) {
      throw new UnmappableDeliveryError(
        `the FHIR server does not offer the ${search.type} identifier search`,
      );
    }
    throw error;
  }
  if (matches.length > 1) {
    throw new UnmappableDeliveryError(`several ${search.type} resources carry the focus identifier`);
  }
  const [match] = matches;
  // The event was just committed: a server may not find it yet. SQS retries, and dead-letters what never appears.
  if (match === undefined) throw new ResourceFetchError(reference, 404);
  return match;
}

function searchMatches(body: string, search: IdentifierSearch): unknown[] {
  const bundle = searchsetSchema.safeParse(jsonOf(body, "search answer"));
  if (!bundle.success) throw new UnmappableDeliveryError("search answer is not a FHIR Bundle");
  return (bundle.data.entry ?? [])
    .filter((entry) => (entry.search?.mode ?? "match") === "match")
    .map((entry) => entry.resource)
    .filter(
      (resource) =>
        resource.resourceType === search.type &&
        (resource.identifier ?? []).some(
          (identifier) => identifier.system === search.system && identifier.value === search.value,
        ),
    );
}

/** The base URL as its origin and its path with no trailing slash (empty at the root). */
interface FhirBase {
  origin: string;
  path: string;
}

function parseBaseUrl(baseUrl: string): FhirBase {
  const base = parseApiUrl(baseUrl, "FHIR base URL");
  return { origin: base.origin, path: base.pathname.replace(/\/+$/, "") };
}

/**
 * A `Type/id` reference, relative or absolute under the base URL, resolved against the base URL. Anything
 * else is refused before any request: a payload must not make us call another host or path (SSRF).
 */
function resolveReference(base: FhirBase, reference: string): ResolvedReference {
  const refused = () =>
    new UnmappableDeliveryError("reference is not a resource on the tenant's FHIR server");
  const prefix = `${base.path}/`;
  let relative = reference;
  if (!relativeReferencePattern.test(reference)) {
    const absolute = urlUnder(new URL(`${base.origin}${prefix}`), reference);
    if (absolute === undefined || absolute.search !== "") throw refused();
    relative = absolute.pathname.slice(prefix.length);
  }
  const [, type, id] = relativeReferencePattern.exec(relative) ?? [];
  if (type === undefined || id === undefined) throw refused();
  const url = new URL(`${base.origin}${prefix}${relative}`);
  // FHIR ids may be all dots: refuse whatever URL normalisation moves out of the base path.
  if (url.origin !== base.origin || url.pathname !== `${prefix}${relative}`) throw refused();
  return { url, type, id };
}

/** The body as a resource, checked to be the one referenced. Throws `UnmappableDeliveryError`. */
function parseResource(body: string, type: string, id: string): unknown {
  const resource = resourceSchema.safeParse(jsonOf(body, "fetched body"));
  if (!resource.success) throw new UnmappableDeliveryError("fetched body is not a FHIR resource");
  if (resource.data.resourceType !== type || resource.data.id !== id) {
    // An OperationOutcome in a 200 lands here too. The server's values stay out of the message.
    throw new UnmappableDeliveryError(`fetched resource is not the referenced ${type}`);
  }
  return resource.data;
}

/** The body as JSON. Throws `UnmappableDeliveryError` naming `what`, never quoting the body. */
function jsonOf(body: string, what: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new UnmappableDeliveryError(`${what} is not JSON`);
  }
}
