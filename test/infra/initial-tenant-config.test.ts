import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import {
  encodeInitialConfig,
  INITIAL_CONFIG_RESOURCE_ID,
  initialConfigProperties,
  storeInitialConfig,
} from "../../functions/initial-config/initial-config.js";
import { createInitialConfigHandler } from "../../functions/initial-config/initial-config-handler.js";
import { configDigest, DynamoTenantConfigStore } from "../../functions/store/config-store.js";
import { parseDeploymentConfig } from "../../lib/deployment-config.js";
import { demoConfig } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

const TABLE = "portaltime-episodes";
const AT = new Date("2026-12-01T09:00:00Z");
/** The demo deployment's tenant, as the stack has it once the deployment configuration is validated. */
const tenant = () => {
  const { tenant } = parseDeploymentConfig(demoConfig(), "demo");
  if (tenant === undefined) throw new Error("the demo deployment carries a tenant");
  return tenant;
};

const dynamodb = mockClient(DynamoDBDocumentClient);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
afterEach(() => {
  dynamodb.reset();
});

const putsOf = () => dynamodb.commandCalls(PutCommand).map((call) => call.args[0].input);

/** A CloudFormation request for the resource, and the responses the handler PUT to its presigned URL. */
function request(requestType: "Create" | "Update" | "Delete", config = encodeInitialConfig(tenant())) {
  const event = {
    RequestType: requestType,
    ServiceToken: "arn:aws:lambda:us-east-1:000000000000:function:portaltime-initial-config",
    ResponseURL: "https://cloudformation-custom-resource-response.example/presigned",
    StackId: "arn:aws:cloudformation:us-east-1:000000000000:stack/portaltime/1",
    RequestId: "request-1",
    LogicalResourceId: "InitialTenantConfigVersion1",
    ResourceType: "Custom::PortaltimeInitialTenantConfig",
    ResourceProperties: {
      ServiceToken: "token",
      [initialConfigProperties.tableName]: TABLE,
      [initialConfigProperties.config]: config,
    },
    ...(requestType === "Create" ? {} : { PhysicalResourceId: INITIAL_CONFIG_RESOURCE_ID }),
    ...(requestType === "Update" ? { OldResourceProperties: { ServiceToken: "token" } } : {}),
  } as CloudFormationCustomResourceEvent;
  const responses: Array<{ url: string; body: Record<string, unknown> }> = [];
  const handler = createInitialConfigHandler({
    store: (tableName, encoded) => storeInitialConfig(documents, tableName, encoded, AT),
    send: async (url, body) => {
      responses.push({ url, body: JSON.parse(body) });
    },
  });
  return { run: () => handler(event, lambdaContext("initial-config")), responses };
}

describe("initial tenant configuration (deploy-time custom resource)", () => {
  it("writes version 1 exactly as a push of the same configuration would", async () => {
    // Prepare: the item `DynamoTenantConfigStore.push` writes into an empty table.
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    dynamodb.on(PutCommand).resolves({});
    await new DynamoTenantConfigStore(documents, TABLE).push(tenant(), { at: AT, by: "deployment" });
    const [pushed] = putsOf();
    dynamodb.resetHistory();

    // Act
    const result = await storeInitialConfig(documents, TABLE, encodeInitialConfig(tenant()), AT);

    // Assess: the same item, under the same condition (the item does not exist yet).
    expect(result).toBe("stored");
    expect(putsOf()).toEqual([pushed]);
    expect(pushed).toMatchObject({
      TableName: TABLE,
      Item: { version: 1, by: "deployment", digest: configDigest(tenant()) },
      ConditionExpression: "attribute_not_exists(#pk)",
    });
  });

  it("writes an item the store reads back as version 1, by the deployment, at the deploy's time", async () => {
    dynamodb.on(PutCommand).resolves({});
    await storeInitialConfig(documents, TABLE, encodeInitialConfig(tenant()), AT);
    dynamodb.on(QueryCommand).resolves({ Items: [putsOf()[0]?.Item ?? {}] });

    const latest = await new DynamoTenantConfigStore(documents, TABLE).latest();

    expect(latest).toEqual({
      version: 1,
      pushedAt: AT.toISOString(),
      by: "deployment",
      digest: configDigest(tenant()),
      config: tenant(),
    });
  });

  it.each(["Create", "Update"] as const)(
    "%s: stores version 1 and answers CloudFormation with success",
    async (requestType) => {
      dynamodb.on(PutCommand).resolves({});
      const { run, responses } = request(requestType);

      await run();

      expect(putsOf().map((put) => put.TableName)).toEqual([TABLE]);
      expect(responses).toEqual([
        {
          url: "https://cloudformation-custom-resource-response.example/presigned",
          body: {
            Status: "SUCCESS",
            PhysicalResourceId: INITIAL_CONFIG_RESOURCE_ID,
            StackId: "arn:aws:cloudformation:us-east-1:000000000000:stack/portaltime/1",
            RequestId: "request-1",
            LogicalResourceId: "InitialTenantConfigVersion1",
            Data: { Result: "stored" },
          },
        },
      ]);
    },
  );

  it("keeps a version 1 that exists, pushed or deployed before: a changed deployment config changes nothing", async () => {
    dynamodb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }));
    const changed = encodeInitialConfig({ ...tenant(), settleHours: 12 });
    const { run, responses } = request("Update", changed);

    await run();

    expect(putsOf()).toHaveLength(1);
    expect(responses.map(({ body }) => [body.Status, body.Data])).toEqual([["SUCCESS", { Result: "kept" }]]);
  });

  it("Delete keeps every version (the table is retained) and answers success", async () => {
    const { run, responses } = request("Delete");

    await run();

    expect(dynamodb.calls()).toEqual([]);
    expect(responses.map(({ body }) => [body.Status, body.PhysicalResourceId])).toEqual([
      ["SUCCESS", INITIAL_CONFIG_RESOURCE_ID],
    ]);
  });

  it("refuses a configuration a push would refuse, naming the field, and writes nothing", async () => {
    const invalid = encodeInitialConfig({ ...tenant(), timezone: "Mars/Olympus" });
    const { run, responses } = request("Create", invalid);

    await run();

    expect(putsOf()).toEqual([]);
    expect(responses).toEqual([
      expect.objectContaining({
        body: expect.objectContaining({
          Status: "FAILED",
          Reason: expect.stringContaining("timezone: expected an IANA time zone"),
        }),
      }),
    ]);
  });

  it("answers a DynamoDB failure with the reason instead of leaving the deploy waiting", async () => {
    dynamodb
      .on(PutCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
    const { run, responses } = request("Create");

    await run();

    expect(responses.map(({ body }) => [body.Status, body.Reason])).toEqual([
      ["FAILED", "AccessDeniedException: not authorized"],
    ]);
  });
});
