import { createHmac } from "node:crypto";
import type { DevSigner } from "../dev-signer.js";

/** HMAC-SHA256 of the body, hex, in `X-Signature`. */
export const devSigner: DevSigner = {
  activeSecret: "portaltime-local-medplum-secret",
  signatureHeaders: ["x-signature"],
  sign: (delivery) => ({
    ...delivery.headers,
    "x-signature": createHmac("sha256", devSigner.activeSecret).update(delivery.body).digest("hex"),
  }),
};
