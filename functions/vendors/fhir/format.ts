import * as z from "zod";
import type { Retraction } from "../../domain/facts.js";
import { groupKeyOf, parseEnvelope, readJsonBody, sha256Hex } from "../envelope.js";
import { ResourceGoneError, UnauthorizedDeliveryError, UnmappableDeliveryError } from "../errors.js";
import type {
  AcceptedDelivery,
  IgnoredReason,
  MappedDelivery,
  ResourceFetcher,
  VendorFormat,
} from "../format.js";
import {
  type BundledResource,
  factsFromResources,
  factTypes,
  ignoredTypeReason,
  logicalReference,
  parseReference,
  patientReferenceOf,
} from "./resources.js";
import { bodyHmacMatches, sharedSecretMatches } from "./signatures.js";

/**
 * The `fhir` format (VENDORS.md 1): topic-based subscription notifications from R4 servers using the
 * Subscriptions R5 Backport IG, R4B and R5 servers, and athenahealth's event platform.
 */

const notificationType = z.enum([
  "handshake",
  "heartbeat",
  "event-notification",
  "query-status",
  "query-event",
]);

const kindOf = {
  handshake: "handshake",
  heartbeat: "heartbeat",
  "event-notification": "event",
  "query-status": "query",
  "query-event": "query",
} as const satisfies Record<z.infer<typeof notificationType>, AcceptedDelivery["kind"]>;

/** Event counters: strings in the backport and R4B, integer64 (a JSON string) in R5; some servers send numbers. */
const counter = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,15}$/, "expected a non-negative integer")
    .transform(Number),
]);
const reference = z.looseObject({ reference: z.string().min(1).optional() });
/**
 * An event's focus: a reference, or (athenahealth, for what it has no FHIR id for) only an identifier, with
 * the resource `type` when the server gives it.
 */
const focusReference = z.looseObject({
  reference: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  identifier: z
    .looseObject({ system: z.string().min(1).optional(), value: z.string().min(1).optional() })
    .optional(),
});
type FocusReference = z.infer<typeof focusReference>;

/** R4B/R5 `SubscriptionStatus`, camelCase; athenahealth sends it in R4 `history` bundles too. */
const subscriptionStatus = z
  .looseObject({
    resourceType: z.literal("SubscriptionStatus"),
    type: notificationType,
    subscription: reference.optional(),
    eventsSinceSubscriptionStart: counter.optional(),
    notificationEvent: z
      .array(
        z.looseObject({
          // athenahealth's unique event id: its event numbers restart in every bundle.
          id: z.string().min(1).optional(),
          eventNumber: counter.optional(),
          focus: focusReference.optional(),
          additionalContext: z.array(reference).optional(),
        }),
      )
      .optional(),
  })
  .transform((status) => ({
    type: status.type,
    subscription: status.subscription?.reference,
    eventsSinceSubscriptionStart: status.eventsSinceSubscriptionStart,
    events: (status.notificationEvent ?? []).map((event) => ({
      id: event.id,
      eventNumber: event.eventNumber,
      focus: event.focus?.reference,
      focusIdentifier: identifiedFocusOf(event.focus),
      additionalContext: (event.additionalContext ?? []).flatMap((item) => item.reference ?? []),
    })),
  }));

/** Both status shapes read as one. */
type NotificationStatus = z.output<typeof subscriptionStatus>;

const backportParameter = z.looseObject({
  name: z.string(),
  id: z.string().min(1).optional(),
  part: z.array(z.looseObject({ name: z.string() })).optional(),
});
type ParameterElement = z.infer<typeof backportParameter>;

/** R4 backport `Parameters` (kebab-case names, one `notification-event` parameter per event). */
const backportStatus = z
  .looseObject({ resourceType: z.literal("Parameters"), parameter: z.array(backportParameter) })
  .transform((resource, ctx): NotificationStatus => {
    /** A parameter's value sits in whichever `value[x]` its type gives it; failures are reported at that key. */
    const read = <S extends z.ZodType>(element: ParameterElement, path: (string | number)[], schema: S) => {
      const key = Object.keys(element).find((name) => name.startsWith("value")) ?? "value";
      const result = schema.safeParse(element[key]);
      if (result.success) return result.data;
      for (const issue of result.error.issues) {
        ctx.issues.push({
          code: "custom",
          message: issue.message,
          path: [...path, key, ...issue.path],
          input: undefined,
        });
      }
      return undefined;
    };
    const named = (name: string) =>
      resource.parameter.flatMap((element, index) => (element.name === name ? [{ element, index }] : []));
    const one = <S extends z.ZodType>(name: string, schema: S) =>
      named(name)
        .slice(0, 1)
        .map(({ element, index }) => read(element, ["parameter", index], schema))[0];

    if (named("type").length === 0) {
      ctx.issues.push({
        code: "custom",
        message: "no parameter named type",
        path: ["parameter"],
        input: undefined,
      });
    }
    const type = one("type", notificationType);
    const events = named("notification-event").map(({ element, index }) => {
      const parts = (element.part ?? []).map((part, partIndex) => ({
        part,
        path: ["parameter", index, "part", partIndex],
      }));
      const partValue = <S extends z.ZodType>(name: string, schema: S) =>
        parts.filter(({ part }) => part.name === name).map(({ part, path }) => read(part, path, schema));
      const focus = partValue("focus", focusReference)[0];
      return {
        id: element.id,
        eventNumber: partValue("event-number", counter)[0],
        focus: focus?.reference,
        focusIdentifier: identifiedFocusOf(focus),
        additionalContext: partValue("additional-context", reference).flatMap(
          (item) => item?.reference ?? [],
        ),
      };
    });
    return {
      // When `type` is missing or invalid an issue is already recorded, so this value is never returned.
      type: type ?? "event-notification",
      subscription: one("subscription", reference)?.reference,
      eventsSinceSubscriptionStart: one("events-since-subscription-start", counter),
      events,
    };
  });

const bundleEntry = z.looseObject({
  fullUrl: z.string().optional(),
  resource: z
    .looseObject({
      resourceType: z.string().min(1),
      id: z.string().optional(),
      meta: z.looseObject({ versionId: z.string().optional() }).optional(),
    })
    .optional(),
  request: z.looseObject({ method: z.string().optional(), url: z.string().optional() }).optional(),
  response: z.looseObject({ etag: z.string().optional() }).optional(),
});
type BundleEntry = z.infer<typeof bundleEntry>;

/** The notification: entry 0 is its status, the other entries the resources (full-resource) or their ids. */
const notificationBundle = z.looseObject({
  resourceType: z.literal("Bundle"),
  type: z.enum(["history", "subscription-notification"]),
  entry: z.tuple(
    [z.looseObject({ resource: z.discriminatedUnion("resourceType", [backportStatus, subscriptionStatus]) })],
    bundleEntry,
  ),
});

/** What a deployment sets for its FHIR subscriptions (functions/runtime-config.ts, `fhirSecretHeaders`). */
export interface FhirFormatOptions {
  /**
   * The lower-case names of the headers the subscriptions carry their shared secret in (each subscription's
   * `channel.header`): `Authorization: Bearer <secret>` by default, `x-api-key: <secret>` and the like.
   */
  secretHeaders?: readonly string[];
}

export const defaultSecretHeaders = ["authorization"] as const;

export function createFhirFormat(options: FhirFormatOptions = {}): VendorFormat {
  const secretHeaders = options.secretHeaders ?? defaultSecretHeaders;
  return {
    name: "fhir",
    contentTypes: ["application/fhir+json", "application/json"],
    acceptedStatus: 200,

    /**
     * Each credential presented must verify and at least one must be present: the subscription's header secret
     * (in whichever of the configured headers it comes), and athenahealth's `X-Hub-Signature` over the raw body.
     */
    authenticate(request, secrets) {
      const presented = secretHeaders.flatMap((header) => {
        const value = request.headers[header];
        return value === undefined ? [] : [{ header, value }];
      });
      const hubSignature = request.headers["x-hub-signature"];
      if (presented.length === 0 && hubSignature === undefined) {
        throw new UnauthorizedDeliveryError("missing-signature");
      }
      for (const { header, value } of presented) {
        if (!sharedSecretMatches(value, secrets))
          throw new UnauthorizedDeliveryError("bad-signature", header);
      }
      if (hubSignature !== undefined) {
        const hex = /^sha256=(.*)$/i.exec(hubSignature)?.[1];
        if (hex === undefined || !bodyHmacMatches(request.body, hex, secrets)) {
          throw new UnauthorizedDeliveryError("bad-signature", "x-hub-signature");
        }
      }
    },

    accept(request) {
      const json = readJsonBody(request.body);
      const [{ resource: status }, ...entries] = parseEnvelope(notificationBundle, json).entry;
      const subscription = subscriptionOf(status);
      const numbers = status.events.flatMap((event) => event.eventNumber ?? []);
      return {
        format: "fhir",
        kind: kindOf[status.type],
        dedupeKey: dedupeKeyOf(status, entries, request.body),
        groupKey: groupKeyOf(groupReferenceOf(status, entries)),
        ...(subscription === undefined ? {} : { subscription }),
        // The highest number this notification reaches; without events, the count the server reports.
        ...optionalNumber(numbers.length > 0 ? Math.max(...numbers) : status.eventsSinceSubscriptionStart),
        payload: json,
      };
    },

    toFacts: notificationFacts,
  };
}

/** The format with the default secret header, for everything that does not authenticate (apply, replay, tests). */
export const fhir: VendorFormat = createFhirFormat();

async function notificationFacts(
  delivery: AcceptedDelivery,
  fetchResource: ResourceFetcher,
): Promise<MappedDelivery> {
  const parsed = notificationBundle.safeParse(delivery.payload);
  if (!parsed.success) {
    throw new UnmappableDeliveryError("payload does not match the fhir notification schema");
  }
  if (delivery.kind !== "event") return { facts: [], skipped: [] };
  const [{ resource: status }, ...entries] = parsed.data.entry;

  const carried: BundledResource[] = entries.flatMap((entry) =>
    entry.resource === undefined || entry.request?.method === "DELETE"
      ? []
      : [{ resource: entry.resource, fullUrl: entry.fullUrl }],
  );
  const carriedKeys = new Set(entries.flatMap((entry) => (entry.resource ? [keyOfEntry(entry)] : [])));
  // R16: a history entry that deletes retracts the fact held under that resource's id.
  const retractions = new Map<string, Retraction>();
  for (const entry of entries.filter((candidate) => candidate.request?.method === "DELETE")) {
    const key = keyOfEntry(entry);
    if (key === undefined) continue;
    const version = versionOfEtag(entry.response?.etag);
    retractions.set(key, version === undefined ? { factId: key } : { factId: key, version });
  }

  // id-only notifications, and full-resource ones that left a focus out, are completed from the server; a focus
  // of a type no fact is mapped from is not worth a request.
  const ignored: NonNullable<MappedDelivery["ignored"]> = [];
  const skipped: MappedDelivery["skipped"] = [];
  const toFetch = new Set<string>();
  for (const event of status.events) {
    const target = focusToFetch(event);
    if (target === undefined) continue;
    if ("skip" in target) skipped.push({ reference: "focus", reason: target.skip });
    // A focus the bundle carries (or deletes) is mapped (or retracted) from its entry.
    else if (retractions.has(target.key) || carriedKeys.has(target.key)) continue;
    else if (target.ignore !== undefined) ignored.push({ reference: target.key, reason: target.ignore });
    else toFetch.add(target.key);
  }
  const fetched = await Promise.all([...toFetch].map((key) => fetchFocus(key, fetchResource)));
  for (const outcome of fetched) {
    if ("reason" in outcome) skipped.push(outcome);
    // The server says the focus no longer exists: it was deleted (R16).
    else if ("gone" in outcome) retractions.set(outcome.gone, { factId: outcome.gone });
  }

  const resources = [...carried, ...fetched.flatMap((outcome) => ("resource" in outcome ? [outcome] : []))];
  const mapped = factsFromResources(resources, { dedupeKey: delivery.dedupeKey });
  return {
    facts: mapped.facts,
    retractions: [...retractions.values()],
    ignored: [...ignored, ...(mapped.ignored ?? [])],
    skipped: [...skipped, ...mapped.skipped],
  };
}

/**
 * What an event's focus asks for: the `Type/id` to read, or (a focus named only by an identifier) the
 * `Type?identifier=system|value` search that finds it, as FHIR writes a conditional reference; nothing for a
 * type no fact is mapped from; or why it cannot be read. An event without a focus (`empty` content) asks for
 * nothing.
 */
function focusToFetch(
  event: NotificationStatus["events"][number],
): { key: string; ignore?: IgnoredReason } | { skip: string } | undefined {
  const worthFetching = (type: string) => (factTypes.has(type) ? {} : { ignore: ignoredTypeReason(type) });
  if (event.focus !== undefined) {
    const parsed = parseReference(event.focus);
    if (parsed === undefined) return { skip: "focus names no FHIR resource to fetch" };
    return { key: logicalReference(parsed), ...worthFetching(parsed.type) };
  }
  const identified = event.focusIdentifier;
  if (identified === undefined) return undefined;
  if (identified.type === undefined) return { skip: "focus identifier names no resource type" };
  const key = `${identified.type}?identifier=${identified.system}|${identified.value}`;
  return { key, ...worthFetching(identified.type) };
}

/**
 * athenahealth names what it has no FHIR id for by `urn:athenahealth:athenanet:<entity>:<practice id>` (its
 * published sample notifications): the FHIR resource type holding each entity. Entities not listed here (claims,
 * lab results, patient cases...) are athenaOne documents no fact is mapped from. So are its orders, although FHIR
 * holds them as ServiceRequests (R25's consult requests): athenaOne orders are labs, imaging and referrals, its
 * samples fetch them from proprietary endpoints, and searching each by identifier would cost a request per order
 * for a consult that athenahealth does not mark as one.
 */
const athenaEntityTypes: Readonly<Record<string, string>> = {
  appointment: "Appointment",
  encounter: "Encounter",
  patient: "Patient",
};
const athenaSystem = /^urn:athenahealth:athenanet:([a-z]+):\d+$/;

/** A focus with an identifier and no reference: its system, value and resource type (when it can be told). */
function identifiedFocusOf(
  focus: FocusReference | undefined,
): { system: string; value: string; type?: string } | undefined {
  const system = focus?.identifier?.system;
  const value = focus?.identifier?.value;
  if (focus === undefined || focus.reference !== undefined || system === undefined || value === undefined) {
    return undefined;
  }
  // `type` is a resource type, or its StructureDefinition URL.
  const declared = focus.type === undefined ? undefined : /(?:^|\/)([A-Z][A-Za-z]+)$/.exec(focus.type)?.[1];
  const athenaEntity = athenaSystem.exec(system)?.[1];
  const type =
    declared ??
    (athenaEntity === undefined
      ? undefined
      : (athenaEntityTypes[athenaEntity] ?? `athenaOne:${athenaEntity}`));
  return type === undefined ? { system, value } : { system, value, type };
}

/** A history entry's `W/"<n>"` etag as a version, when the server numbers its versions (as `meta.versionId`). */
function versionOfEtag(etag: string | undefined): number | undefined {
  const match = etag === undefined ? null : /^(?:W\/)?"(\d{1,15})"$/.exec(etag);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * A fetch that can never succeed (the resource is gone, or lies outside the tenant's server) skips its focus;
 * retryable failures propagate so SQS retries the message. Vendor-layer error messages carry no PHI.
 */
async function fetchFocus(
  key: string,
  fetchResource: ResourceFetcher,
): Promise<BundledResource | MappedDelivery["skipped"][number] | { gone: string }> {
  try {
    return { resource: await fetchResource(key) };
  } catch (error) {
    if (error instanceof ResourceGoneError) return { gone: key };
    const permanent = error instanceof Error && "retryable" in error && error.retryable === false;
    if (permanent) return { reference: key, reason: `fetch cannot succeed: ${error.message}` };
    throw error;
  }
}

const optionalNumber = (eventNumber: number | undefined) =>
  eventNumber === undefined ? {} : { eventNumber };

const normalized = (referenceText: string): string => {
  const parsed = parseReference(referenceText);
  return parsed === undefined ? referenceText : logicalReference(parsed);
};

const subscriptionOf = (status: NotificationStatus): string | undefined =>
  status.subscription === undefined ? undefined : normalized(status.subscription);

/** `Type/id` of an entry's resource, else of its fullUrl or request url (deletes and id-only entries). */
function keyOfEntry(entry: BundleEntry): string | undefined {
  if (entry.resource?.id !== undefined) return `${entry.resource.resourceType}/${entry.resource.id}`;
  const named = parseReference(entry.fullUrl) ?? parseReference(entry.request?.url);
  return named && logicalReference(named);
}

/** The values when there are some and none is missing, else undefined. */
function everyPresent<T>(values: readonly (T | undefined)[]): T[] | undefined {
  const present = values.filter((value): value is T => value !== undefined);
  return present.length > 0 && present.length === values.length ? present : undefined;
}

/** One part reads as itself; several (a batched notification) as their digest. */
const joined = (parts: readonly string[]): string =>
  parts.length === 1 ? (parts[0] ?? "") : sha256Hex(parts.join("\n"));

/**
 * VENDORS.md: the event id when present (athenahealth), else subscription + event number, else a digest of
 * each focus with its version. Handshakes, heartbeats and queries name no event: a retry repeats their bytes.
 */
function dedupeKeyOf(status: NotificationStatus, entries: readonly BundleEntry[], body: Buffer): string {
  const ids = everyPresent(status.events.map((event) => event.id));
  if (ids !== undefined) return `fhir:event:${joined(ids)}`;
  const numbers = everyPresent(status.events.map((event) => event.eventNumber?.toString()));
  const subscription = subscriptionOf(status);
  if (subscription !== undefined && numbers !== undefined) return `fhir:${subscription}#${joined(numbers)}`;
  const focuses = everyPresent(status.events.map((event) => event.focus));
  if (focuses !== undefined) {
    const versioned = focuses.map((focus) => `${normalized(focus)}@${focusVersion(focus, entries)}`);
    return `fhir:focus:${sha256Hex(versioned.join("\n"))}`;
  }
  return `fhir:body:${sha256Hex(body)}`;
}

function focusVersion(focus: string, entries: readonly BundleEntry[]): string {
  const parsed = parseReference(focus);
  if (parsed?.version !== undefined) return parsed.version;
  const key = parsed && logicalReference(parsed);
  return (
    entries.find((entry) => key !== undefined && keyOfEntry(entry) === key)?.resource?.meta?.versionId ?? ""
  );
}

/** The patient the bundle's resources (or the events' context) name, else the focus, else the subscription. */
function groupReferenceOf(status: NotificationStatus, entries: readonly BundleEntry[]): string {
  const named = status.events
    .flatMap((event) => [event.focus, ...event.additionalContext])
    .map(parseReference);
  const contextPatient = named.find((item) => item?.type === "Patient");
  const firstFocus = status.events.find((event) => event.focus !== undefined)?.focus;
  return (
    entries
      .map((entry) => patientReferenceOf(entry.resource) ?? auditEventPatientOf(entry.resource))
      .find((found) => found !== undefined) ??
    (contextPatient && logicalReference(contextPatient)) ??
    (firstFocus && normalized(firstFocus)) ??
    subscriptionOf(status) ??
    "fhir"
  );
}

/**
 * athenahealth's AuditEvents name the event's patient in R5's cross-version extension (its README writes the
 * URL with `http`, its sample notifications with `https`): events about one patient keep their order, and
 * events about different patients of one subscription need not wait for each other.
 */
const auditEvent = z.looseObject({
  resourceType: z.literal("AuditEvent"),
  extension: z.array(z.looseObject({ url: z.string(), valueReference: reference.optional() })).optional(),
});
const auditEventPatientUrl =
  /^https?:\/\/hl7\.org\/fhir\/5\.0\/StructureDefinition\/extension-AuditEvent\.patient$/;

function auditEventPatientOf(resource: unknown): string | undefined {
  const parsed = auditEvent.safeParse(resource);
  if (!parsed.success) return undefined;
  const named = parsed.data.extension?.find((item) => auditEventPatientUrl.test(item.url));
  const patient = parseReference(named?.valueReference?.reference);
  return patient?.type === "Patient" ? logicalReference(patient) : undefined;
}
