import { z } from "zod";
import { claimLineSchema } from "./claim-line.js";

/** The contracts portaltime publishes as JSON Schema, by file name under `schemas/`. */
export const publishedSchemas: Readonly<Record<string, z.ZodType>> = {
  "claim-line.schema.json": claimLineSchema,
};

/** The JSON Schema text of a published contract, as committed in `schemas/`. */
export const jsonSchemaText = (schema: z.ZodType): string =>
  `${JSON.stringify(z.toJSONSchema(schema, { target: "draft-2020-12", io: "output" }), null, 2)}\n`;
