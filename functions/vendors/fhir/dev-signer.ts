import type { DevSigner } from "../dev-signer.js";

/** The subscription's shared secret, sent as `Authorization: Bearer <secret>`. */
export const devSigner: DevSigner = {
  activeSecret: "portaltime-local-fhir-secret",
  signingSecret: "portaltime-local-fhir-secret",
  signatureHeaders: ["authorization", "x-hub-signature"],
  signWith: (secret, delivery) => ({ ...delivery.headers, authorization: `Bearer ${secret}` }),
};
