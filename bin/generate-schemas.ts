import { writeFileSync } from "node:fs";
import { jsonSchemaText, publishedSchemas } from "../functions/published-schemas.js";

// Writes the published contracts' JSON Schemas; a test fails when the committed files are stale.
for (const [file, schema] of Object.entries(publishedSchemas)) {
  writeFileSync(new URL(`../schemas/${file}`, import.meta.url), jsonSchemaText(schema));
  console.log(`wrote schemas/${file}`);
}
