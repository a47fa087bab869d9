import * as z from "zod";
import { groupKeyOf, hasNoncharacter, parseEnvelope, readJsonBody } from "../envelope.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError, UnmappableDeliveryError } from "../errors.js";
import { factsFromResources, patientReferenceOf } from "../fhir/resources.js";
import { bodyHmacMatches } from "../fhir/signatures.js";
import type { VendorFormat } from "../format.js";

/**
 * The `medplum` format (VENDORS.md 2): a classic FHIR R4 rest-hook whose body is the resource itself. Medplum
 * deletes arrive with the body `{}` and the resource named in `X-Medplum-Deleted-Resource`.
 */

const interaction = z.enum(["create", "update", "delete"]);
const logicalReference = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

const medplumHeaders = z.looseObject({
  "x-medplum-subscription": z
    .string()
    .min(1)
    .max(128)
    .refine((value) => !hasNoncharacter(value), "contains the noncharacter U+FFFE or U+FFFF"),
  "x-medplum-interaction": interaction,
  "x-medplum-deleted-resource": z.string().regex(logicalReference, "expected Type/id").optional(),
});

/** Medplum stamps every version with `meta.versionId`, which the dedupe key needs. */
const medplumResource = z.looseObject({
  resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/, "expected a FHIR resource type"),
  id: z.string().min(1).max(64),
  meta: z.looseObject({ versionId: z.string().min(1).max(64) }),
});

/** What reaches the apply side: the headers that give the body its meaning travel with it. */
const medplumPayload = z.object({
  subscription: z.string(),
  interaction,
  deletedResource: z.string().optional(),
  resource: z.unknown().optional(),
});
type MedplumPayload = z.infer<typeof medplumPayload>;

const isEmptyObject = (json: unknown): boolean =>
  typeof json === "object" && json !== null && !Array.isArray(json) && Object.keys(json).length === 0;

export const medplum: VendorFormat = {
  name: "medplum",
  contentTypes: ["application/fhir+json", "application/json"],
  acceptedStatus: 200,

  authenticate(request, secrets) {
    const signature = request.headers["x-signature"];
    if (signature === undefined) throw new UnauthorizedDeliveryError("missing-signature");
    if (!bodyHmacMatches(request.body, signature, secrets))
      throw new UnauthorizedDeliveryError("bad-signature");
  },

  accept(request) {
    const headers = parseEnvelope(medplumHeaders, request.headers, "headers");
    const subscription = headers["x-medplum-subscription"];
    const kind = headers["x-medplum-interaction"];
    const deletedResource = headers["x-medplum-deleted-resource"];
    const json = readJsonBody(request.body);

    if (kind === "delete" && isEmptyObject(json)) {
      if (deletedResource === undefined) {
        throw new InvalidEnvelopeError(
          "headers.x-medplum-deleted-resource",
          "required when a delete has no body",
        );
      }
      const payload: MedplumPayload = { subscription, interaction: kind, deletedResource };
      return {
        format: "medplum",
        kind: "event",
        // A resource is deleted once, and Medplum's bodiless delete carries no version.
        dedupeKey: `medplum:${subscription}:${deletedResource}:delete`,
        groupKey: groupKeyOf(deletedResource),
        subscription,
        payload,
      };
    }

    const resource = parseEnvelope(medplumResource, json);
    const payload: MedplumPayload = { subscription, interaction: kind, deletedResource, resource: json };
    return {
      format: "medplum",
      kind: "event",
      dedupeKey: `medplum:${subscription}:${resource.meta.versionId}:${kind}`,
      groupKey: groupKeyOf(patientReferenceOf(json) ?? `${resource.resourceType}/${resource.id}`),
      subscription,
      payload,
    };
  },

  async toFacts(delivery) {
    const parsed = medplumPayload.safeParse(delivery.payload);
    if (!parsed.success)
      throw new UnmappableDeliveryError("payload does not match the medplum delivery schema");
    const { interaction: done, deletedResource, resource } = parsed.data;
    if (resource === undefined) {
      // Medplum's delete is bodiless: the fact held under the resource's id is retracted, wherever it lives (R16).
      if (deletedResource === undefined)
        throw new UnmappableDeliveryError("a delete without content names no resource");
      return { facts: [], retractions: [{ factId: deletedResource }], skipped: [] };
    }
    return factsFromResources([{ resource }], { dedupeKey: delivery.dedupeKey, deleted: done === "delete" });
  },
};
