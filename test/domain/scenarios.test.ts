import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { claimLineSchema } from "../../functions/domain/claim-line.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes } from "../../functions/domain/engine.js";
import { scenarioFacts } from "../fixtures/scenarios/facts.js";

const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url);

describe("example scenarios through the engine", () => {
  for (const name of Object.keys(scenarioFacts)) {
    it(`${name}: facts give exactly the expected claim lines`, () => {
      // Prepare
      const scenario = JSON.parse(readFileSync(fixture(`${name}.json`), "utf8"));
      const expected = readFileSync(fixture(`${name}.expected.jsonl`), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line));
      const config = parseTenantConfig(scenario.config);

      // Act
      const { owed } = decideEpisodes(scenarioFacts[name] ?? [], config, scenario.finalizeAt);

      // Assess
      for (const line of owed) claimLineSchema.parse(line);
      expect(owed.map((line) => pickKeys(line, Object.keys(expected[0] ?? {})))).toEqual(expected);
      expect(owed).toHaveLength(expected.length);
    });
  }
});

const pickKeys = (line: object, keys: string[]) =>
  Object.fromEntries(Object.entries(line).filter(([key]) => keys.includes(key)));
