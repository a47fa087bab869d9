import { createHash, createHmac, type KeyObject, sign } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { FormatName } from "../../functions/vendors/format.js";
import { devElationPrivateKey, devSecrets } from "./dev-secrets.js";

export interface UnsignedDelivery {
  method: string;
  path: string;
  rawQuery: string;
  body: Buffer;
  headers: Record<string, string>;
}

/** Headers that carry a signature, per format: a delivery that has any of them is posted as it is. */
const signatureHeaders: Record<FormatName, readonly string[]> = {
  fhir: ["authorization", "x-hub-signature"],
  medplum: ["x-signature"],
  elation: ["el8-ed25519-signature"],
  healthie: ["signature"],
  bridge: ["webhook-signature"],
};

/** The content type a format's vendor posts with, for a delivery whose headers do not say. */
export const defaultContentType = (format: string): string =>
  format === "fhir" ? "application/fhir+json" : "application/json";

export const isSigned = (format: FormatName, headers: Record<string, string>): boolean =>
  signatureHeaders[format].some((name) => headers[name] !== undefined);

/**
 * What signs a delivery of each format as its vendor would: the shared secret of the HMAC and bearer formats, and
 * Elation's Ed25519 private key (a deployed stack holds only Elation's public key, so a backfill cannot sign for it).
 */
export interface SigningSecrets {
  fhir: string;
  medplum: string;
  healthie: string;
  bridge: string;
  elation: KeyObject;
}

export const devSigningSecrets: SigningSecrets = { ...devSecrets, elation: devElationPrivateKey };

/** Signs a delivery the way its vendor would, with the local development secret of its format. */
export const signWithDevSecret = (format: FormatName, delivery: UnsignedDelivery, now: Date) =>
  signDelivery(format, delivery, now, devSigningSecrets);

/** Signs a delivery the way its vendor would, with the given secret of its format. */
export function signDelivery(
  format: FormatName,
  delivery: UnsignedDelivery,
  now: Date,
  secrets: Partial<SigningSecrets>,
): Record<string, string> {
  const { body } = delivery;
  const headers = { ...delivery.headers };
  switch (format) {
    case "fhir":
      headers.authorization = `Bearer ${secretOf(secrets, "fhir")}`;
      break;
    case "medplum":
      headers["x-signature"] = createHmac("sha256", secretOf(secrets, "medplum")).update(body).digest("hex");
      break;
    case "elation":
      headers["el8-ed25519-signature"] = sign(null, body, secretOf(secrets, "elation")).toString("base64");
      break;
    case "healthie": {
      // As Healthie's published verifier reads it (docs.gethealthie.com/guides/webhooks, "Signed payloads"): the
      // digest value after `=` and the body's own length; no Content-Length, which API Gateway may not pass.
      const digest = createHash("sha256").update(body).digest("base64");
      headers["content-digest"] = `sha-256=${digest}`;
      const signed = [
        delivery.method.toLowerCase(),
        delivery.path,
        delivery.rawQuery,
        headers["content-digest"].split("=")[1],
        "application/json",
        String(body.byteLength),
      ];
      headers.signature = `sig1=${createHmac("sha256", secretOf(secrets, "healthie")).update(signed.join(" ")).digest("hex")}`;
      break;
    }
    case "bridge": {
      // Without an id of its own, the body's hash: the same delivery replayed twice is the same message.
      const id =
        headers["webhook-id"] ?? `msg_${createHash("sha256").update(body).digest("hex").slice(0, 32)}`;
      headers["webhook-id"] = id;
      headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
      headers["webhook-signature"] = new Webhook(secretOf(secrets, "bridge")).sign(
        id,
        now,
        body.toString("utf8"),
      );
      break;
    }
  }
  return headers;
}

/** A delivery of a format whose signing secret the caller does not hold: it cannot be sent signed. */
export class NoSigningSecretError extends Error {
  constructor(readonly format: FormatName) {
    super(`no secret to sign ${format} deliveries with`);
    this.name = "NoSigningSecretError";
  }
}

function secretOf<F extends FormatName>(secrets: Partial<SigningSecrets>, format: F): SigningSecrets[F] {
  const secret = secrets[format];
  if (secret === undefined) throw new NoSigningSecretError(format);
  return secret as SigningSecrets[F];
}
