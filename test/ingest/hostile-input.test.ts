import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { devFormatSecrets } from "../../bin/local/dev-secrets.js";
import { lambdaContext } from "../../bin/local/pipeline.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import { createIngestHandler } from "../../functions/ingest/ingest-handler.js";
import { staticSecretSource } from "../../functions/ingest/secrets.js";
import { SqsInboxSender } from "../../functions/queue/inbox-sender.js";
import { ingestConfigSchema } from "../../functions/runtime-config.js";
import { MAX_JSON_DEPTH } from "../../functions/vendors/envelope.js";
import { type FormatName, formatNames } from "../../functions/vendors/format.js";
import { allFormats, enabledFormats } from "../../functions/vendors/registry.js";

/**
 * Hostile input at the front door (ARCHITECTURE.md invariants 7 and 8): for every format, fast-check generates
 * at least 1,000 malformed requests (truncated JSON, wrong types, missing fields, huge strings, deep nesting,
 * invalid UTF-8 and noncharacters, wrong content types, missing, garbage and forged signatures, stale timestamps,
 * valid signatures over malformed bodies, oversized bodies), each carrying synthetic PHI. Every answer must be a
 * 4xx problem+json, never a 5xx or a throw; nothing may reach the inbox; no PHI may reach the logs or the answer.
 *
 * The inbox is the real SQS adapter over a recording client that refuses what SQS refuses (characters outside
 * SQS's allowed set, messages over 256 KiB), so a body that could never be queued shows as the 503 it would be.
 * The seed is fixed for CI; HOSTILE_SEED=<n> explores others.
 */

const NOW = new Date("2026-03-02T15:00:00Z");
const MAX_BODY_BYTES = 64 * 1024;
const RUNS_PER_FORMAT = 1000;
const SEED = Number(process.env.HOSTILE_SEED ?? 20260302);
const INBOX_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/test-inbox.fifo";

/** Synthetic PHI; none of it may ever show in a log line or an answer. */
const PHI = {
  name: "Zebulon Quixote",
  mrn: "MRN-8675309",
  text: "worsening chest pain since the picnic",
};
const PHI_VALUES = Object.values(PHI);

const config = ingestConfigSchema.parse({
  inboxQueueUrl: INBOX_URL,
  enabledFormats: [...formatNames],
  secretPrefix: "test",
  localSecrets: devFormatSecrets,
  maxBodyBytes: MAX_BODY_BYTES,
});

// --- the inbox: SQS's own limits, every attempt recorded -------------------------------------------------------

/** SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a message body. */
const notAllowedBySqs = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
const sendAttempts: unknown[] = [];
const recordingSqs = {
  send: async (command: SendMessageCommand) => {
    sendAttempts.push(command.input);
    const body = command.input.MessageBody ?? "";
    if (notAllowedBySqs.test(body)) {
      throw Object.assign(new Error("Invalid characters found."), { name: "InvalidMessageContents" });
    }
    if (Buffer.byteLength(body) > SQS_MAX_MESSAGE_BYTES) {
      throw Object.assign(new Error("Message must be shorter than 262144 bytes."), {
        name: "InvalidParameterValue",
      });
    }
    return { MessageId: "m-1" };
  },
} as unknown as SQSClient;

const handler = createIngestHandler(config, {
  formats: enabledFormats(formatNames),
  secrets: staticSecretSource(devFormatSecrets),
  inbox: new SqsInboxSender(recordingSqs, INBOX_URL),
  now: () => NOW,
  maxBodyBytes: MAX_BODY_BYTES,
});

// --- valid deliveries, each carrying PHI --------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const fixture = (path: string): Json =>
  JSON.parse(readFileSync(new URL(`../fixtures/vendors/${path}`, import.meta.url), "utf8"));

function templateOf(format: FormatName): Json {
  const body = fixture(
    {
      bridge: "bridge/event-episode.json",
      fhir: "fhir/r4-inquiry.json",
      medplum: "medplum/communication-reply.json",
      elation: "elation/thread-message-patient.json",
      healthie: "healthie/message-created.json",
    }[format],
  ) as Record<string, Json>;
  switch (format) {
    case "bridge":
      body.patientId = PHI.mrn;
      (body.facts as Record<string, Json>[])[0] = {
        ...(body.facts as Record<string, Json>[])[0],
        id: PHI.name,
      };
      break;
    case "fhir": {
      const communication = (body.entry as Record<string, Record<string, Json>>[])[1]?.resource ?? {};
      communication.subject = { reference: `Patient/${PHI.mrn}`, display: PHI.name };
      communication.payload = [{ contentString: PHI.text }];
      break;
    }
    case "medplum":
      body.subject = { reference: `Patient/${PHI.mrn}`, display: PHI.name };
      body.payload = [{ contentString: PHI.text }];
      break;
    case "elation":
      (body.data as Record<string, Json>).body = `${PHI.name}: ${PHI.text}`;
      break;
    case "healthie":
      body.changed_fields = [PHI.name, PHI.text];
      break;
  }
  return body;
}
const templates = Object.fromEntries(formatNames.map((format) => [format, templateOf(format)])) as Record<
  FormatName,
  Json
>;

/** The headers a format needs besides its signature (Medplum's interaction headers). */
const formatHeaders = (format: FormatName): Record<string, string> =>
  format === "medplum"
    ? { "x-medplum-subscription": `Subscription/${PHI.mrn}`, "x-medplum-interaction": "create" }
    : {};

const contentTypeOf = (format: FormatName) =>
  format === "fhir" ? "application/fhir+json" : "application/json";

/** Signs `body` as the format's vendor would, with the local development secret. */
function signed(
  format: FormatName,
  body: Buffer,
  headers: Record<string, string> = {},
  at = NOW,
): Record<string, string> {
  return signWithDevSecret(
    format,
    {
      method: "POST",
      path: `/webhooks/${format}`,
      rawQuery: "",
      body,
      headers: { "content-type": contentTypeOf(format), ...formatHeaders(format), ...headers },
    },
    at,
  );
}

// --- paths in each format's envelope that must hold a given JSON type ---------------------------------------------

type JsonType = "string" | "number" | "boolean" | "null" | "array" | "object";
type Path = (string | number)[];

interface EnvelopeRules {
  /** Paths and the JSON types their schema accepts there: any other type fails the envelope. */
  typed: Array<[Path, JsonType[]]>;
  /** Paths whose removal fails the envelope (several paths are removed together). */
  required: Path[][];
  /** String paths with a length or pattern limit a long string breaks. */
  bounded: Path[];
}

const rules: Record<FormatName, EnvelopeRules> = {
  bridge: {
    typed: [
      [["schemaVersion"], ["string"]],
      [["patientId"], ["string"]],
      [["facts"], ["array"]],
      [["facts", 0], ["object"]],
      [["facts", 0, "kind"], ["string"]],
      [["facts", 0, "id"], ["string"]],
      [["facts", 0, "at"], ["string"]],
      [["facts", 1, "minutes"], ["number"]],
    ],
    required: [
      [["schemaVersion"]],
      [["patientId"]],
      [["facts"]],
      [["facts", 0, "kind"]],
      [["facts", 1, "at"]],
    ],
    bounded: [["patientId"], ["facts", 0, "id"], ["facts", 2, "at"]],
  },
  fhir: {
    typed: [
      [["resourceType"], ["string"]],
      [["type"], ["string"]],
      [["entry"], ["array"]],
      [["entry", 0], ["object"]],
      [["entry", 0, "resource"], ["object"]],
      [["entry", 0, "resource", "resourceType"], ["string"]],
      [["entry", 0, "resource", "parameter"], ["array"]],
      [["entry", 0, "resource", "parameter", 3, "name"], ["string"]],
      [["entry", 0, "resource", "parameter", 3, "valueCode"], ["string"]],
      [["entry", 1, "resource", "resourceType"], ["string"]],
    ],
    required: [[["resourceType"]], [["type"]], [["entry"]], [["entry", 0, "resource"]]],
    bounded: [["entry", 0, "resource", "parameter", 4, "valueString"]],
  },
  medplum: {
    typed: [
      [["resourceType"], ["string"]],
      [["id"], ["string"]],
      [["meta"], ["object"]],
      [["meta", "versionId"], ["string"]],
    ],
    required: [[["resourceType"]], [["id"]], [["meta"]], [["meta", "versionId"]]],
    bounded: [["id"], ["meta", "versionId"], ["resourceType"]],
  },
  elation: {
    typed: [
      [["data"], ["object"]],
      [["action"], ["string"]],
      [["resource"], ["string"]],
      [["event_uuid"], ["string"]],
      [["event_id"], ["number"]],
    ],
    required: [[["data"]], [["action"]], [["resource"]], [["event_uuid"], ["event_id"]]],
    bounded: [["resource"], ["event_uuid"]],
  },
  healthie: {
    typed: [
      [["resource_id"], ["string", "number"]],
      [["resource_id_type"], ["string"]],
      [["event_type"], ["string"]],
      [["changed_fields"], ["array", "null"]],
    ],
    required: [[["resource_id"]], [["resource_id_type"]], [["event_type"]]],
    bounded: [["resource_id"], ["resource_id_type"], ["event_type"]],
  },
};

const withValue = (json: Json, path: Path, value: Json | undefined): Json => {
  const copy = structuredClone(json);
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path.at(-1) ?? "";
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
};

// --- arbitraries ----------------------------------------------------------------------------------------------

/** Text with PHI in it, in any script (emoji, RTL, combining marks, lone surrogates, controls). */
const phiText = fc
  .tuple(
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.constantFrom(...PHI_VALUES),
    fc.string({ maxLength: 8 }),
  )
  .map(([before, phi, after]) => `${before}${phi}${after}`);

/**
 * Nested arrays (and objects) around PHI, deeper than any envelope may be. Built as text: a value this deep
 * overflows the stack of `JSON.stringify` and `structuredClone`, so the arbitrary yields a placeholder string that
 * `encode` expands.
 */
const deeplyNested = fc
  .tuple(fc.integer({ min: MAX_JSON_DEPTH + 1, max: 12_000 }), fc.boolean())
  .map(([depth, objects]): Json => `@@deep-${depth}-${objects ? "o" : "a"}@@`);

function nestedText(depth: number, objects: boolean): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let level = 0; level < depth; level++) {
    const object = objects && level % 2 === 1;
    open.push(object ? '{"a":' : "[");
    close.push(object ? "}" : "]");
  }
  return `${open.join("")}${JSON.stringify(PHI.name)}${close.reverse().join("")}`;
}

const encode = (json: Json) =>
  Buffer.from(
    JSON.stringify(json).replace(/"@@deep-(\d+)-([ao])@@"/g, (_match, depth: string, kind: string) =>
      nestedText(Number(depth), kind === "o"),
    ),
  );

const valueOfType: Record<JsonType, fc.Arbitrary<Json>> = {
  string: fc.oneof(phiText, fc.constantFrom("", "null", "0", "{}", "[]", "1.0")),
  number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(1e308)),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.oneof(
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) as fc.Arbitrary<Json>,
    deeplyNested,
  ),
  object: fc.oneof(
    fc.dictionary(phiText, fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { maxKeys: 4 }),
    fc.constant({}),
  ),
};

/** A value of some JSON type other than `accepted`. */
const valueNotOf = (accepted: JsonType[]) =>
  fc.oneof(
    ...(Object.keys(valueOfType) as JsonType[])
      .filter((type) => !accepted.includes(type))
      .map((type) => valueOfType[type]),
  );

/** A string far past any limit, mixing scripts with PHI; bounded so a body stays under the size limit. */
const hugeString = fc
  .tuple(fc.integer({ min: 300, max: 6_000 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }))
  .map(([length, unit]) =>
    // zod counts code points, so the length is in code points.
    Array.from(`${PHI.name} ${unit.repeat(length)}`)
      .slice(0, length)
      .join(""),
  );

/** Non-object JSON at the top: every envelope is an object. */
const notAnObject = fc
  .oneof(valueOfType.array, valueOfType.string, valueOfType.number, valueOfType.boolean, valueOfType.null)
  .map(encode);

/** Bodies that must fail the format's envelope, whatever signs them. */
const malformedBody = (format: FormatName): fc.Arbitrary<{ defect: string; body: Buffer }> => {
  const template = templates[format];
  const text = JSON.stringify(template);
  const { typed, required, bounded } = rules[format];
  return fc.oneof(
    fc.integer({ min: 0, max: text.length - 1 }).map((cut) => ({
      defect: "truncated JSON",
      body: Buffer.from(text.slice(0, cut)),
    })),
    fc
      .tuple(fc.uint8Array({ min: 0x80, max: 0xff, minLength: 1, maxLength: 6 }), fc.boolean())
      .map(([bytes, atStart]) => ({
        defect: "invalid UTF-8",
        body: Buffer.concat(
          atStart ? [Buffer.from(bytes), Buffer.from(text)] : [Buffer.from(text), Buffer.from(bytes)],
        ),
      })),
    notAnObject.map((body) => ({ defect: "not an object", body })),
    fc.oneof(
      ...typed.map(([path, accepted]) =>
        valueNotOf(accepted).map((value) => ({
          defect: `wrong type at ${path.join(".")}`,
          body: encode(withValue(template, path, value)),
        })),
      ),
    ),
    fc.constantFrom(...required).map((paths) => ({
      defect: `missing ${paths.map((path) => path.join(".")).join(" and ")}`,
      body: encode(paths.reduce<Json>((json, path) => withValue(json, path, undefined), template)),
    })),
    fc.tuple(fc.constantFrom(...bounded), hugeString).map(([path, value]) => ({
      defect: `huge string at ${path.join(".")}`,
      body: encode(withValue(template, path, value)),
    })),
    fc.tuple(fc.constantFrom("extension", "data", "x"), deeplyNested).map(([key, nested]) => ({
      defect: "deep nesting",
      body: encode(
        format === "elation"
          ? withValue(template, ["data", key], nested)
          : withValue(template, format === "fhir" ? ["entry", 1, "resource", key] : [key], nested),
      ),
    })),
    fc
      .tuple(
        fc.constantFrom("\uffff", "\ufffe"),
        fc.boolean(),
        fc.constantFrom(...typed.filter(([, t]) => t.includes("string"))),
      )
      .map(([noncharacter, escaped, [path]]) => {
        const value = `${PHI.name}${noncharacter}`;
        const json = JSON.stringify(withValue(template, path, value));
        return {
          defect: `noncharacter at ${path.join(".")}`,
          body: Buffer.from(
            escaped ? json.replace(noncharacter, `\\u${noncharacter.charCodeAt(0).toString(16)}`) : json,
          ),
        };
      }),
  );
};

/** The headers that carry each format's credentials. */
const credentialHeaders: Record<FormatName, string[]> = {
  fhir: ["authorization", "x-hub-signature"],
  medplum: ["x-signature"],
  elation: ["el8-ed25519-signature"],
  healthie: ["signature", "content-digest"],
  bridge: ["webhook-id", "webhook-timestamp", "webhook-signature"],
};

/**
 * Credentials shaped like the real ones but made with a random key portaltime does not hold (`key` is 64 random
 * bytes: an HMAC key, or an Ed25519 signature's bytes).
 */
function forgedCredential(
  format: FormatName,
  body: Buffer,
  key: Buffer,
  variant: number,
): Record<string, string> {
  const hmacHex = createHmac("sha256", key).update(body).digest("hex");
  switch (format) {
    case "fhir":
      return [
        { authorization: `Bearer ${key.toString("base64url")}` },
        { "x-hub-signature": `sha256=${hmacHex}` },
        { authorization: `Bearer ${devFormatSecrets.fhir[0]}`, "x-hub-signature": `sha256=${hmacHex}` },
      ][variant % 3] as Record<string, string>;
    case "medplum":
      return { "x-signature": hmacHex };
    case "elation":
      return { "el8-ed25519-signature": key.toString("base64") };
    case "healthie":
      return {
        signature: `sig1=${hmacHex}`,
        "content-digest": `sha-256=${createHash("sha256").update(body).digest("base64")}`,
      };
    case "bridge": {
      const timestamp = String(Math.floor(NOW.getTime() / 1000));
      const signature = createHmac("sha256", key).update(`msg_forged.${timestamp}.${body}`).digest("base64");
      return {
        "webhook-id": "msg_forged",
        "webhook-timestamp": timestamp,
        "webhook-signature": `v1,${signature}`,
      };
    }
  }
}

/** Any string a careless or hostile sender might put in a credential header. */
const garbage = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.constantFrom("", " ", "Bearer", "Bearer ", "v1,", "sig1=", "sha256=", "null", "undefined", PHI.mrn),
  fc.base64String({ maxLength: 120 }),
  fc.stringMatching(/^[0-9a-f]{64}$/),
);

interface Hostile {
  defect: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A request with at least one defect that must get a 4xx: its credentials, its media type, its size or its body. */
const hostileRequest = (format: FormatName): fc.Arbitrary<Hostile> => {
  const template = encode(templates[format]);
  const anyBody = fc.oneof(fc.constant({ defect: "", body: template }), malformedBody(format));
  const unsigned = (body: Buffer) => ({
    "content-type": contentTypeOf(format),
    ...formatHeaders(format),
    body,
  });
  const accepted = allFormats[format].contentTypes;

  const variants: Array<fc.WeightedArbitrary<Hostile>> = [
    // Valid credentials over a malformed body: reaches the schema.
    {
      weight: 6,
      arbitrary: malformedBody(format).map(({ defect, body }) => ({
        defect,
        body,
        headers: signed(format, body),
      })),
    },
    // Credentials missing (some or all of them).
    {
      weight: 2,
      arbitrary: fc
        .tuple(anyBody, fc.subarray(credentialHeaders[format], { minLength: format === "fhir" ? 2 : 1 }))
        .map(([{ defect, body }, missing]) => {
          const headers = signed(format, body);
          for (const name of missing) delete headers[name];
          return { defect: `${defect} missing ${missing.join(", ")}`.trim(), body, headers };
        }),
    },
    // A credential header holding garbage.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          anyBody,
          fc.constantFrom(...credentialHeaders[format].filter((name) => name !== "webhook-id")),
          garbage,
        )
        .filter(([{ body }, name, value]) => signed(format, body)[name]?.trim() !== value.trim())
        .map(([{ defect, body }, name, value]) => ({
          defect: `${defect} garbage ${name}`.trim(),
          body,
          headers: { ...signed(format, body), [name]: value },
        })),
    },
    // Well-formed credentials made with a key portaltime does not hold.
    {
      weight: 2,
      arbitrary: fc
        .tuple(anyBody, fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(2))
        .map(([{ defect, body }, key, variant]) => {
          const headers = signed(format, body);
          for (const name of credentialHeaders[format]) delete headers[name];
          const forged = forgedCredential(format, body, Buffer.from(key), variant);
          return { defect: `${defect} forged signature`.trim(), body, headers: { ...headers, ...forged } };
        }),
    },
    // Signed, then the body changed in transit (FHIR: through its body signature; its bearer token covers no body).
    {
      weight: 1,
      arbitrary: fc
        .tuple(anyBody, fc.string({ minLength: 1, maxLength: 4 }))
        .map(([{ defect, body }, extra]) => {
          let headers = signed(format, body);
          if (format === "fhir") {
            const { authorization: _bearer, ...rest } = headers;
            headers = {
              ...rest,
              "x-hub-signature": `sha256=${createHmac("sha256", devFormatSecrets.fhir[0] ?? "")
                .update(body)
                .digest("hex")}`,
            };
          }
          return {
            defect: `${defect} tampered body`.trim(),
            body: Buffer.concat([body, Buffer.from(` ${extra}`)]),
            headers,
          };
        }),
    },
    // A media type the format does not take, or none.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          anyBody,
          fc.oneof(
            fc.constantFrom(
              undefined,
              "",
              "text/plain",
              "application/xml",
              "application/fhir+xml",
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=x",
              "application/jsonp",
              "application/json-patch+json",
              "json",
              "application/json\u0000",
            ),
            fc.string({ unit: "binary", maxLength: 40 }),
          ),
        )
        .filter(([, type]) => !accepted.includes((type ?? "").split(";")[0]?.trim().toLowerCase() ?? ""))
        .map(([{ defect, body }, type]) => {
          const { "content-type": _type, ...headers } = signed(format, body);
          return {
            defect: `${defect} content type ${JSON.stringify(type)}`.trim(),
            body,
            headers: type === undefined ? headers : { ...headers, "content-type": type },
          };
        }),
    },
    // Over the size limit, signed or not.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 1, max: 8_192 }), fc.boolean()).map(([over, sign]) => {
        const padding = `${PHI.text} `.repeat(Math.ceil((MAX_BODY_BYTES + over) / PHI.text.length));
        const body = Buffer.from(JSON.stringify({ ...(templates[format] as object), padding })).subarray(
          0,
          MAX_BODY_BYTES + over,
        );
        const { body: _body, ...headers } = unsigned(body);
        return { defect: "oversized body", body, headers: sign ? signed(format, body) : headers };
      }),
    },
  ];
  if (format === "bridge") {
    // A signed webhook id the inbox message could not carry (it becomes the dedupe key).
    variants.push({
      weight: 1,
      arbitrary: fc.tuple(phiText, fc.constantFrom("\uffff", "\ufffe")).map(([id, noncharacter]) => ({
        defect: "noncharacter in webhook-id",
        body: template,
        headers: signed(format, template, { "webhook-id": `msg_${id}${noncharacter}` }),
      })),
    });
    // Timestamps outside the 5-minute window.
    variants.push({
      weight: 2,
      arbitrary: fc
        .tuple(
          anyBody,
          fc.oneof(
            fc.integer({ min: 301, max: 10 * 365 * 86_400 }),
            fc.integer({ min: -10 * 365 * 86_400, max: -301 }),
          ),
        )
        .map(([{ defect, body }, skew]) => ({
          defect: `${defect} timestamp skewed ${skew} s`.trim(),
          body,
          headers: signed(format, body, {}, new Date(NOW.getTime() + skew * 1000)),
        })),
    });
  }
  if (format === "medplum") {
    // Medplum's meaning-bearing headers, malformed over a valid, signed body.
    variants.push({
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.tuple(
            fc.constant("x-medplum-subscription"),
            fc.oneof(
              fc.constant(undefined),
              fc.constant(""),
              hugeString,
              fc
                .constantFrom("\uffff", "\ufffe")
                .map((noncharacter) => `Subscription/${PHI.mrn}${noncharacter}`),
            ),
          ),
          fc.tuple(
            fc.constant("x-medplum-interaction"),
            fc.oneof(fc.constantFrom(undefined, "", "CREATE", "patch", "read"), phiText, hugeString),
          ),
          fc.tuple(fc.constant("x-medplum-deleted-resource"), fc.oneof(fc.constant(""), phiText, hugeString)),
        )
        .map(([name, value]) => {
          const headers = signed(format, template);
          if (value === undefined) delete headers[name];
          else headers[name] = value;
          return { defect: `medplum header ${name}`, body: template, headers };
        }),
    });
  }
  return fc.oneof(...variants);
};

/** What API Gateway may also do to a request: header names in any case, headers we ignore, text or base64 bodies. */
const transport = fc.record({
  upperCase: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  extraHeaders: fc.dictionary(
    fc.stringMatching(/^x-hostile-[a-z]{1,8}$/),
    fc.oneof(phiText, fc.string({ unit: "grapheme", maxLength: 30 })),
    { maxKeys: 3 },
  ),
  asText: fc.boolean(),
});
type Transport = typeof transport extends fc.Arbitrary<infer T> ? T : never;

function apiGatewayEvent(format: FormatName, request: Hostile, how: Transport): APIGatewayProxyEvent {
  const headers: Record<string, string> = { ...how.extraHeaders };
  for (const [index, [name, value]] of Object.entries(request.headers).entries()) {
    headers[how.upperCase[index % how.upperCase.length] ? name.toUpperCase() : name] = value;
  }
  // API Gateway passes a text body as a string; only valid UTF-8 survives that.
  const text = how.asText && Buffer.from(request.body.toString("utf8")).equals(request.body);
  return {
    resource: "/webhooks/{format}",
    path: `/webhooks/${format}`,
    httpMethod: "POST",
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { format },
    stageVariables: null,
    requestContext: { path: `/webhooks/${format}` },
    body: text ? request.body.toString("utf8") : request.body.toString("base64"),
    isBase64Encoded: !text,
  } as unknown as APIGatewayProxyEvent;
}

// --- the property ---------------------------------------------------------------------------------------------

const logged: string[] = [];

beforeAll(() => {
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
    });
  }
});
afterAll(() => vi.restoreAllMocks());

interface Answer {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** Asserts one answer; returns the rejection reason from the problem type. */
function assessRejection(answer: Answer, request: Hostile): string {
  const context = `${request.defect} -> ${answer.statusCode} ${answer.body.slice(0, 200)}`;
  expect(answer.statusCode, context).toBeGreaterThanOrEqual(400);
  expect(answer.statusCode, context).toBeLessThan(500);
  expect(answer.headers?.["content-type"], context).toBe("application/problem+json");
  const problem = JSON.parse(answer.body) as { type: string; title: string; status: number };
  expect(problem.status, context).toBe(answer.statusCode);
  expect(problem.type, context).toMatch(/^https:\/\/portaltime\.dev\/problems\/[a-z-]+$/);
  expect(typeof problem.title, context).toBe("string");
  for (const value of PHI_VALUES) expect(answer.body, context).not.toContain(value);
  expect(sendAttempts, context).toEqual([]);
  const logs = logged.join("\n");
  expect(logs.length, context).toBeGreaterThan(0);
  for (const value of PHI_VALUES) expect(logs, context).not.toContain(value);
  return problem.type.split("/").pop() ?? "";
}

describe("hostile input at the ingest handler", () => {
  it("the harness is sound: each valid template, signed, is accepted and queued", async () => {
    for (const format of formatNames) {
      sendAttempts.length = 0;
      const body = encode(templates[format]);
      const request = { defect: "", body, headers: signed(format, body) };
      const [how] = fc.sample(transport, { seed: SEED, numRuns: 1 });
      const event = apiGatewayEvent(format, request, how as Transport);
      const answer = (await handler(event, lambdaContext("ingest"))) as Answer;
      expect(answer.statusCode, `${format}: ${answer.body}`).toBeLessThan(300);
      expect(sendAttempts).toHaveLength(1);
    }
    sendAttempts.length = 0;
  });

  // What the property found before the vendor layer checked it: authenticated bodies that pass their schema but can
  // never be queued, so every send failed and the vendor got 503 (retry later) for a delivery no retry can fix.
  const unqueueable: Array<[string, FormatName, () => { body: Buffer; headers?: Record<string, string> }]> = [
    [
      "FHIR nested 20,000 levels deep in a resource (JSON.stringify overflows the stack)",
      "fhir",
      () => ({
        body: encode(withValue(templates.fhir, ["entry", 1, "resource", "extension"], "@@deep-20000-a@@")),
      }),
    ],
    [
      "Elation nested 12,000 levels deep in data",
      "elation",
      () => ({ body: encode(withValue(templates.elation, ["data", "x"], "@@deep-12000-o@@")) }),
    ],
    [
      "Healthie with U+FFFF in resource_id (SQS refuses the message)",
      "healthie",
      () => ({ body: encode(withValue(templates.healthie, ["resource_id"], "88120456\uffff")) }),
    ],
    [
      "bridge with an escaped \\uFFFE in patientId",
      "bridge",
      () => ({ body: Buffer.from(JSON.stringify(templates.bridge).replace(PHI.mrn, "MRN\\ufffe")) }),
    ],
    [
      "bridge with U+FFFF in its signed webhook-id (the dedupe key)",
      "bridge",
      () => ({ body: encode(templates.bridge), headers: { "webhook-id": "msg_1\uffff" } }),
    ],
    [
      "Medplum with U+FFFF in X-Medplum-Subscription",
      "medplum",
      () => ({
        body: encode(templates.medplum),
        headers: { "x-medplum-subscription": "Subscription/s\uffff" },
      }),
    ],
  ];
  for (const [what, format, make] of unqueueable) {
    it(`rejects ${what}: 400, nothing queued`, async () => {
      sendAttempts.length = 0;
      const { body, headers } = make();
      const request = { defect: what, body, headers: signed(format, body, headers) };
      const [how] = fc.sample(transport, { seed: SEED, numRuns: 1 });

      const answer = (await handler(
        apiGatewayEvent(format, request, how as Transport),
        lambdaContext("ingest"),
      )) as Answer;

      expect(answer.statusCode, answer.body).toBe(400);
      expect(JSON.parse(answer.body).type).toBe("https://portaltime.dev/problems/invalid-envelope");
      expect(sendAttempts).toEqual([]);
    });
  }

  for (const [index, format] of formatNames.entries()) {
    it(`${format}: ${RUNS_PER_FORMAT} malformed requests all get a 4xx problem+json, queue nothing and log no PHI`, {
      timeout: 60_000,
    }, async () => {
      const reasons = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(
          fc
            .tuple(hostileRequest(format), transport)
            .map(([request, how]) => ({ request, event: apiGatewayEvent(format, request, how) })),
          async ({ request, event }) => {
            sendAttempts.length = 0;
            logged.length = 0;
            const answer = (await handler(event, lambdaContext("ingest"))) as Answer;
            const reason = assessRejection(answer, request);
            reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          },
        ),
        { numRuns: RUNS_PER_FORMAT, seed: SEED + index },
      );

      // Every kind of defect was met: the property went through authentication, media type, size and schema.
      const expected = [
        "invalid-envelope",
        "missing-signature",
        "bad-signature",
        "unsupported-content-type",
        "payload-too-large",
      ];
      if (format === "bridge") expected.push("stale-timestamp", "future-timestamp");
      expect([...reasons.keys()].sort()).toEqual(expect.arrayContaining(expected));
      expect([...reasons.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(
        RUNS_PER_FORMAT,
      );
    });
  }
});
