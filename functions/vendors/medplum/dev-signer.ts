import { createHmac } from "node:crypto";
import type { DevSigner } from "../dev-signer.js";

/** HMAC-SHA256 of the body, hex, in `X-Signature`. */
export const devSigner: DevSigner = {
  activeSecret: "portaltime-local-medplum-secret",
  signingSecret: "portaltime-local-medplum-secret",
  signatureHeaders: ["x-signature"],
  signWith: (secret, delivery) => ({
    ...delivery.headers,
    "x-signature": createHmac("sha256", secret).update(delivery.body).digest("hex"),
  }),
};
