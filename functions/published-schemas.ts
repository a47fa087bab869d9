import * as z from "zod";
import { claimLineSchema } from "./domain/claim-line.js";
import { bridgeEventSchema } from "./vendors/bridge/event.js";

/**
 * The contracts portaltime publishes as JSON Schema, by file name under `schemas/`. What portaltime sends is
 * described as it comes out (`output`); what it accepts, as a sender may write it (`input`: defaulted fields
 * are optional).
 */
export const publishedSchemas: Readonly<Record<string, { schema: z.ZodType; io: "input" | "output" }>> = {
  "claim-line.schema.json": { schema: claimLineSchema, io: "output" },
  "bridge-event.schema.json": { schema: bridgeEventSchema, io: "input" },
};

/** The JSON Schema text of a published contract, as committed in `schemas/`. */
export const jsonSchemaText = ({ schema, io }: { schema: z.ZodType; io: "input" | "output" }): string =>
  `${JSON.stringify(z.toJSONSchema(schema, { target: "draft-2020-12", io }), null, 2)}\n`;
