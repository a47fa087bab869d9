import { configFromEnv, ingestConfigSchema } from "../runtime-config.js";
import { createIngestHandler } from "./ingest-handler.js";

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createIngestHandler(configFromEnv(ingestConfigSchema));
