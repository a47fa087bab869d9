import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBDocumentClient, GetCommand, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { runReplay } from "../../bin/local/replay-run.js";
import { localDynamodbClient } from "../../bin/local/resources.js";
import { openScenarioFile } from "../../bin/local/scenario-file.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { patientKey, tableDesign } from "../../functions/store/table-design.js";
import { weeklyHistory } from "../../scripts/scenarios/weekly-history.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Years of one patient's history (ARCHITECTURE.md invariant 9): five years of weekly e-visits replayed through
 * the real handlers, the finalizer running every week, must bill every week and keep every item of the patient
 * small. DynamoDB Local's own capacity accounting measures the items: a strongly consistent GetItem of an item
 * up to 16 KB consumes at most 4 read capacity units.
 */

const WEEKS = 5 * 52;
const dynamodb = localDynamodbClient(inject("localAws").dynamodbEndpoint);
const documents = DynamoDBDocumentClient.from(dynamodb);
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "portaltime-history-"));
});
afterAll(async () => {
  dynamodb.destroy();
  await rm(directory, { recursive: true, force: true });
});

describe("five years of one patient's weekly e-visits", () => {
  it("R6, R11, R15: every week's line goes out, and no item of the patient reaches 16 KB", async () => {
    // Prepare: the scenario `npm run replay` takes (scripts/scenarios/weekly-history.ts), on a table of its own.
    const { scenario, expected } = weeklyHistory({ weeks: WEEKS, patientId: "weekly-1" });
    const file = join(directory, "five-years.json");
    await writeFile(file, JSON.stringify(scenario));
    const resources = await isolatedResources();
    const pipeline = new LocalPipeline({
      endpoints: inject("localAws"),
      resources,
      tenant: { ...demoPractice, ...scenario.config },
    });

    // Act
    const lines: ClaimLine[] = [];
    const summary = await runReplay(await openScenarioFile(file), pipeline, {
      claim: (line) => lines.push(line),
    });

    // Assess: the lines worked out week by week (one 99421 per Monday, alternating problems), in order.
    expect(summary.rejected).toBe(0);
    expect(lines).toHaveLength(WEEKS);
    const keys = Object.keys(expected[0] as object) as Array<keyof ClaimLine>;
    expect(lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])))).toEqual(expected);

    // Every item of the patient: the largest stays under 16 KB (4 RCU for a consistent read), the state tiny.
    const consumed: Array<{ sk: string; units: number }> = [];
    const pages = paginateQuery(
      { client: documents },
      {
        TableName: resources.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": patientKey("weekly-1") },
        ProjectionExpression: "#pk, sk",
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const read = await documents.send(
          new GetCommand({
            TableName: resources.tableName,
            Key: { pk: item.pk, sk: item.sk },
            ConsistentRead: true,
            ReturnConsumedCapacity: "TOTAL",
          }),
        );
        consumed.push({ sk: String(item.sk), units: read.ConsumedCapacity?.CapacityUnits ?? Number.NaN });
      }
    }
    expect(consumed.length).toBeGreaterThan(3 * WEEKS);
    expect(Math.max(...consumed.map((item) => item.units))).toBeLessThanOrEqual(4);
    expect(consumed.find((item) => item.sk === "STATE")?.units).toBe(1);
  }, 300_000);
});
