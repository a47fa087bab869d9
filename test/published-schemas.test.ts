import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jsonSchemaText, publishedSchemas } from "../functions/published-schemas.js";

describe("published JSON Schemas", () => {
  for (const [file, schema] of Object.entries(publishedSchemas)) {
    it(`schemas/${file} is current (regenerate with npm run schemas)`, () => {
      const committed = readFileSync(new URL(`../schemas/${file}`, import.meta.url), "utf8");
      expect(committed).toBe(jsonSchemaText(schema));
    });
  }
});
