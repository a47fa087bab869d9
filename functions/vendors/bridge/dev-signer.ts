import { createHash } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { DevSigner } from "../dev-signer.js";

/** Standard Webhooks; the secret is `whsec_` + base64 of 32 bytes. */
export const devSigner: DevSigner = {
  activeSecret: `whsec_${Buffer.from("portaltime-local-bridge-secret!!").toString("base64")}`,
  signingSecret: `whsec_${Buffer.from("portaltime-local-bridge-secret!!").toString("base64")}`,
  signatureHeaders: ["webhook-signature"],
  signWith(secret, delivery, now) {
    const headers = { ...delivery.headers };
    // Without an id of its own, the body's hash: the same delivery replayed twice is the same message.
    const id =
      headers["webhook-id"] ?? `msg_${createHash("sha256").update(delivery.body).digest("hex").slice(0, 32)}`;
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
    headers["webhook-signature"] = new Webhook(secret).sign(id, now, delivery.body.toString("utf8"));
    return headers;
  },
};
