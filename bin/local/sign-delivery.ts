import type { DevSigner, UnsignedDelivery } from "../../functions/vendors/dev-signer.js";
import type { FormatName } from "../../functions/vendors/format.js";
import { formatNames } from "../../functions/vendors/format.js";

export type { UnsignedDelivery } from "../../functions/vendors/dev-signer.js";

/**
 * Each format's development signer, by the registry's convention (functions/vendors/<name>/dev-signer.ts): loaded
 * here, never by a Lambda function.
 */
export const devSigners: Readonly<Record<FormatName, DevSigner>> = Object.fromEntries(
  await Promise.all(
    formatNames.map(async (format) => {
      const module: { devSigner: DevSigner } = await import(
        `../../functions/vendors/${format}/dev-signer.ts`
      );
      return [format, module.devSigner] as const;
    }),
  ),
) as Record<FormatName, DevSigner>;

export const isSigned = (format: FormatName, headers: Record<string, string>): boolean =>
  devSigners[format].signatureHeaders.some((name) => headers[name] !== undefined);

/** Signs a delivery the way its vendor would, with the local development secret of its format. */
export const signWithDevSecret = (
  format: FormatName,
  delivery: UnsignedDelivery,
  now: Date,
): Record<string, string> => devSigners[format].sign(delivery, now);
