import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";
import type { DevSigner } from "../dev-signer.js";

/** Elation signs with Ed25519; locally the key pair comes from a fixed, published seed. */
const elationSeed = createHash("sha256").update("portaltime-local-elation-seed").digest();
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");
const devElationPrivateKey: KeyObject = createPrivateKey({
  key: Buffer.concat([pkcs8Ed25519Prefix, elationSeed]),
  format: "der",
  type: "pkcs8",
});

/** The active secret is the base64 raw public key, as Elation shows it for a subscription (`signing_pub_key`). */
export const devSigner: DevSigner<KeyObject> = {
  activeSecret: createPublicKey(devElationPrivateKey)
    .export({ format: "der", type: "spki" })
    .subarray(12)
    .toString("base64"),
  signingSecret: devElationPrivateKey,
  signatureHeaders: ["el8-ed25519-signature"],
  signWith: (privateKey, delivery) => ({
    ...delivery.headers,
    "el8-ed25519-signature": sign(null, delivery.body, privateKey).toString("base64"),
  }),
};
