import { createHash, createHmac } from "node:crypto";
import type { DevSigner } from "../dev-signer.js";

/**
 * As Healthie's published verifier reads it (docs.gethealthie.com/guides/webhooks, "Signed payloads"): the
 * digest value after `=` and the body's own length; no Content-Length, which API Gateway may not pass.
 */
export const devSigner: DevSigner = {
  activeSecret: "portaltime-local-healthie-secret",
  signingSecret: "portaltime-local-healthie-secret",
  signatureHeaders: ["signature"],
  signWith(secret, delivery) {
    const { body } = delivery;
    const contentDigest = `sha-256=${createHash("sha256").update(body).digest("base64")}`;
    const signed = [
      delivery.method.toLowerCase(),
      delivery.path,
      delivery.rawQuery,
      // The verifier's own reading: the text between the first and second `=` (base64 padding dropped).
      contentDigest.split("=")[1],
      "application/json",
      String(body.byteLength),
    ];
    const signature = createHmac("sha256", secret).update(signed.join(" ")).digest("hex");
    return { ...delivery.headers, "content-digest": contentDigest, signature: `sig1=${signature}` };
  },
};
