import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { reviewRoutes } from "../../lib/review-api.js";
import { allowListRule } from "../../lib/webhook-firewall.js";
import { demoConfig, synthTemplate } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The review API (issue 15) as deployed: its routes on the webhook API's stage, each authorized by IAM, the
 * policies the customer attaches to its billers' and auditors' permission sets, and a firewall that leaves the
 * review paths to IAM and the shared limits.
 */
let template: Template;
beforeAll(() => {
  // One format allow-listed, so the firewall's path-scoped rules are in the template.
  template = synthTemplate({
    ...demoConfig(),
    edge: { ...demoConfig().edge, vendorIpAllowList: { healthie: ["192.0.2.0/24", "2001:db8::/32"] } },
  });
}, 60_000);

/** A CloudFormation string as text: `Fn::Join` flattened, a `Ref` as `<Id>`, an `Fn::GetAtt` as `<Id.Attr>`. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  const node = value as Record<string, unknown>;
  if ("Ref" in node) return `<${node.Ref}>`;
  if ("Fn::GetAtt" in node) return `<${(node["Fn::GetAtt"] as string[]).join(".")}>`;
  if ("Fn::Join" in node) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  throw new Error(`not a string: ${JSON.stringify(value)}`);
}

const stageId = () => Object.keys(template.findResources("AWS::ApiGateway::Stage"))[0] as string;
const apiId = () => Object.keys(template.findResources("AWS::ApiGateway::RestApi"))[0] as string;
const executeApiArn = (method: string, path: string) =>
  `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId()}>/v1/${method}${path}`;
const routeArn = (route: { method: string; path: string }) =>
  executeApiArn(route.method, route.path.replace(/\{[^}]+\}/g, "*"));

/** Every method of the API as `{ method, path, authorization, integration }`, its path rebuilt from its resources. */
function methods() {
  const resources = template.findResources("AWS::ApiGateway::Resource");
  const pathOf = (id: unknown): string => {
    const ref = (id as { Ref?: string }).Ref;
    if (ref === undefined) return ""; // the root resource (Fn::GetAtt RootResourceId)
    const resource = resources[ref]?.Properties;
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return Object.values(template.findResources("AWS::ApiGateway::Method")).map(({ Properties }) => ({
    method: Properties.HttpMethod as string,
    path: pathOf(Properties.ResourceId) || "/",
    authorization: Properties.AuthorizationType as string,
    integration: Properties.Integration,
  }));
}

const reviewFunctionId = () =>
  Object.keys(
    template.findResources("AWS::Lambda::Function", { Properties: { FunctionName: "portaltime-review" } }),
  )[0] as string;

describe("review routes", () => {
  it("serves exactly the review routes under /review, each by Lambda proxy to the review function", () => {
    const review = methods().filter((method) => method.path.startsWith("/review"));

    expect(review.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      reviewRoutes.map(({ method, path }) => `${method} ${path}`).sort(),
    );
    for (const method of review) {
      expect(method.integration.Type, method.path).toBe("AWS_PROXY");
      expect(text(method.integration.Uri), method.path).toContain(`<${reviewFunctionId()}.Arn>`);
    }
  });

  it("authorizes every review method by IAM (SigV4); none is open", () => {
    const review = methods().filter((method) => method.path.startsWith("/review"));

    expect(review.length).toBe(reviewRoutes.length);
    for (const method of review)
      expect(method.authorization, `${method.method} ${method.path}`).toBe("AWS_IAM");
    // The only method without IAM is the webhook, which authenticates each delivery by its vendor's signature.
    expect(methods().filter((method) => method.authorization !== "AWS_IAM")).toEqual([
      expect.objectContaining({ method: "POST", path: "/webhooks/{format}", authorization: "NONE" }),
    ]);
  });

  it("lets API Gateway invoke the review function only for the review routes on the stage", () => {
    const permissions = Object.values(
      template.findResources("AWS::Lambda::Permission", {
        Properties: { FunctionName: { "Fn::GetAtt": [reviewFunctionId(), "Arn"] } },
      }),
    );

    // The stage by reference, each route's path parameters as `*` (no test-invoke permission on any stage).
    const onStage = (route: (typeof reviewRoutes)[number]) =>
      routeArn(route).replace(`<${apiId()}>/v1/`, `<${apiId()}>/<${stageId()}>/`);
    expect(permissions.map(({ Properties }) => text(Properties.SourceArn)).sort()).toEqual(
      reviewRoutes.map(onStage).sort(),
    );
  });

  it("attributes each call in the access log to the caller's IAM principal (CloudTrail does not log invocations)", () => {
    const [stage] = Object.values(template.findResources("AWS::ApiGateway::Stage"));

    expect(JSON.parse(stage?.Properties.AccessLogSetting.Format)).toMatchObject({
      caller: "$context.identity.userArn",
      resourcePath: "$context.resourcePath",
    });
  });

  it("gives the review page's URL as a stack output", () => {
    const outputs = template.findOutputs("ReviewApiUrl");

    expect(text(outputs.ReviewApiUrl?.Value)).toBe(
      `https://<${apiId()}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/<${stageId()}>/review`,
    );
  });
});

describe("billers' and auditors' policies", () => {
  const policyNamed = (name: string) => {
    const found = Object.values(
      template.findResources("AWS::IAM::ManagedPolicy", { Properties: { ManagedPolicyName: name } }),
    );
    expect(found).toHaveLength(1);
    return found[0]?.Properties;
  };

  it("lets billers invoke every review route, and nothing else", () => {
    const policy = policyNamed("portaltime-review-billers");

    expect(policy.PolicyDocument.Statement).toHaveLength(1);
    const [statement] = policy.PolicyDocument.Statement;
    expect(statement).toMatchObject({ Effect: "Allow", Action: "execute-api:Invoke" });
    expect(statement.Condition).toBeUndefined();
    expect([statement.Resource].flat().map(text).sort()).toEqual(reviewRoutes.map(routeArn).sort());
    // Exactly: the page, the worklist, resolutions, audit packets, the OpenAPI document and figures, on stage v1.
    expect([statement.Resource].flat().map(text)).toContain(
      executeApiArn("POST", "/review/items/*/resolutions"),
    );
    for (const resource of [statement.Resource].flat().map(text)) {
      expect(resource).toMatch(/\/v1\/(GET|POST)\/review(\/|$)/);
    }
  });

  it("lets auditors read (GET) the review routes, never resolve", () => {
    const policy = policyNamed("portaltime-review-auditors");

    const [statement] = policy.PolicyDocument.Statement;
    expect(policy.PolicyDocument.Statement).toHaveLength(1);
    expect(statement).toMatchObject({ Effect: "Allow", Action: "execute-api:Invoke" });
    expect([statement.Resource].flat().map(text).sort()).toEqual(
      reviewRoutes
        .filter((route) => route.method === "GET")
        .map(routeArn)
        .sort(),
    );
  });

  it("is attached to nothing in the stack: the customer attaches it to a permission set", () => {
    for (const name of ["portaltime-review-billers", "portaltime-review-auditors"]) {
      const policy = policyNamed(name);
      expect(policy.Roles ?? [], name).toEqual([]);
      expect(policy.Users ?? [], name).toEqual([]);
      expect(policy.Groups ?? [], name).toEqual([]);
    }
  });

  it("gives both policies' ARNs as stack outputs", () => {
    const arnOutput = (id: string) => template.findOutputs(id)[id]?.Value;
    const policyId = (name: string) =>
      Object.keys(
        template.findResources("AWS::IAM::ManagedPolicy", { Properties: { ManagedPolicyName: name } }),
      )[0];

    expect(arnOutput("ReviewBillersPolicyArn")).toEqual({ Ref: policyId("portaltime-review-billers") });
    expect(arnOutput("ReviewAuditorsPolicyArn")).toEqual({ Ref: policyId("portaltime-review-auditors") });
  });
});

describe("the firewall in front of the review routes", () => {
  const rules = () =>
    Object.values(template.findResources("AWS::WAFv2::WebACL"))[0]?.Properties.Rules as Array<{
      Name: string;
      Statement: unknown;
    }>;

  it("protects the whole stage, review routes included, with one association", () => {
    template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 1);
  });

  it("applies each vendor address allow-list only to its format's webhook path, never to /review", () => {
    const allowList = rules().filter((rule) => rule.Name.startsWith(allowListRule("")));

    expect(allowList.map((rule) => rule.Name)).toEqual([allowListRule("healthie")]);
    for (const rule of allowList) {
      const [path] = (
        rule.Statement as {
          AndStatement: { Statements: Array<{ ByteMatchStatement?: Record<string, unknown> }> };
        }
      ).AndStatement.Statements;
      expect(path?.ByteMatchStatement).toMatchObject({
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: "ENDS_WITH",
        SearchString: "/webhooks/healthie",
      });
    }
  });

  it("has no other rule that looks at the path: size, reputation and per-IP rate apply to every caller alike", () => {
    const others = rules().filter((rule) => !rule.Name.startsWith(allowListRule("")));

    expect(others.map((rule) => rule.Name)).toEqual(["BodyOverLimit", "AmazonIpReputation", "RequestsPerIp"]);
    for (const rule of others) expect(JSON.stringify(rule.Statement)).not.toContain("UriPath");
  });
});
