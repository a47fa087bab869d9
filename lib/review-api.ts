import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionSettings } from "../functions/runtime-config.js";
import type { DeploymentConfig } from "./deployment-config.js";
import type { EpisodeStore } from "./episode-store.js";
import { STAGE_NAME } from "./ingest-api.js";
import { PortaltimeFunction } from "./portaltime-function.js";

/**
 * The review API's routes (functions/review/review-api.ts answers them), one source for the methods API Gateway
 * serves and the execute-api ARNs the billers' and auditors' policies allow. A path parameter is `*` in an ARN.
 */
export const reviewRoutes = [
  { method: "GET", path: "/review", operationName: "ReviewPage" },
  { method: "GET", path: "/review/items", operationName: "ListReviewItems" },
  { method: "POST", path: "/review/items/{id}/resolutions", operationName: "ResolveReviewItem" },
  { method: "GET", path: "/review/claim-lines/{claimLineId}", operationName: "GetAuditPacket" },
  { method: "GET", path: "/review/openapi.json", operationName: "GetReviewOpenApi" },
  { method: "GET", path: "/review/figures", operationName: "GetReviewFigures" },
] as const;
export type ReviewRoute = (typeof reviewRoutes)[number];

export interface ReviewApiProps {
  config: DeploymentConfig;
  /** The settings this function needs (functions/runtime-config.ts `reviewConfigSchema`). */
  settings: Pick<FunctionSettings, "tableName" | "retentionDays">;
  /** The REST API whose stage the routes join (the ingest API's, behind its firewall and throttling). */
  api: apigateway.RestApi;
  store: EpisodeStore;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/**
 * The biller's review API (issue 15) on the existing REST API under `/review`: every method authorized by IAM
 * (SigV4), so the customer's SSO roles decide who may call and each call is signed by a person's role. Two
 * managed policies the customer attaches to permission sets: billers may call every route, auditors only read.
 */
export class ReviewApi extends Construct {
  readonly review: PortaltimeFunction;
  readonly methods: apigateway.Method[];
  /** `<prefix>-review-billers`: every review route. */
  readonly billersPolicy: iam.ManagedPolicy;
  /** `<prefix>-review-auditors`: the GET routes only (worklist, audit packets, page, figures). */
  readonly auditorsPolicy: iam.ManagedPolicy;
  private readonly api: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: ReviewApiProps) {
    super(scope, id);
    const { config, api } = props;
    this.api = api;

    this.review = new PortaltimeFunction(this, "Review", {
      name: "review",
      prefix: config.prefix,
      // Within API Gateway's 29 s integration timeout; an audit packet reads one line's history.
      timeout: Duration.seconds(20),
      memorySize: 512,
      settings: { tableName: props.settings.tableName, retentionDays: props.settings.retentionDays },
      logsKey: props.logsKey,
      logRetention: props.logRetention,
    });
    props.store.grantReviewAccess(this.review.function);
    this.review.acknowledge(
      {
        id: "HIPAA.Security-LambdaConcurrency",
        reason:
          "Review concurrency is bounded by the API stage throttling (configured rate and burst) and the firewall's per-IP rate limit, its only trigger, and its callers are a practice's billers. Reserving concurrency would take capacity from the customer's account and could fail the deploy in accounts with a low concurrency quota.",
      },
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "Invoked synchronously by API Gateway only, where a Lambda DLQ never receives anything: a failure answers 5xx to the biller, whose request changed nothing or applied its attestation once (a retry is harmless), and the errors alarm fires.",
      },
    );

    const integration = new apigateway.LambdaIntegration(this.review.function, { allowTestInvoke: false });
    const iamAuthorized =
      "Every review method is authorized by IAM (SigV4): the customer's SSO permission sets decide who may call (the <prefix>-review-billers and <prefix>-review-auditors policies), callers sign with their own short-lived role credentials, and each call is attributed to that role session. A Cognito user pool would be a second identity store beside the customer's SSO, holding billers' passwords in this account.";
    this.methods = reviewRoutes.map((route) => {
      const resource = api.root.resourceForPath(route.path);
      const method = resource.addMethod(route.method, integration, {
        operationName: route.operationName,
        authorizationType: apigateway.AuthorizationType.IAM,
      });
      Validations.of(method.node.defaultChild ?? method).acknowledge({
        id: "AwsSolutions-COG4",
        reason: iamAuthorized,
      });
      return method;
    });

    const routesOf = (methods: readonly string[]) =>
      reviewRoutes.filter((route) => methods.includes(route.method));
    this.billersPolicy = this.invokePolicy(
      "BillersPolicy",
      `${config.prefix}-review-billers`,
      "portaltime review API: the billers' worklist, resolutions and audit packets (attach to the billing team's SSO permission set)",
      routesOf(["GET", "POST"]),
    );
    this.auditorsPolicy = this.invokePolicy(
      "AuditorsPolicy",
      `${config.prefix}-review-auditors`,
      "portaltime review API, read only: the worklist, audit packets and figures, no resolutions",
      routesOf(["GET"]),
    );
  }

  /**
   * The review API's base: GET it for the page, the routes are under it. Without a trailing slash, so the
   * execute-api ARN IAM checks is the route's own (`GET/review`), as the policies name it.
   */
  get baseUrl(): string {
    return this.api.urlForPath("/review");
  }

  /** The execute-api ARN of a route on the stage: path parameters become `*` (IAM matches them as any text). */
  executeApiArn(route: ReviewRoute): string {
    const path = route.path.replace(/\{[^}]+\}/g, "*");
    return this.api.arnForExecuteApi(route.method, path, STAGE_NAME);
  }

  private invokePolicy(
    id: string,
    name: string,
    description: string,
    routes: readonly ReviewRoute[],
  ): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, id, {
      managedPolicyName: name,
      description,
      statements: [
        new iam.PolicyStatement({
          actions: ["execute-api:Invoke"],
          resources: routes.map((route) => this.executeApiArn(route)),
        }),
      ],
    });
    const parameterized = routes.filter((route) => route.path.includes("{"));
    if (parameterized.length > 0) {
      Validations.of(policy).acknowledge(
        ...parameterized.map((route) => ({
          id: `AwsSolutions-IAM5[Resource::${this.nagArn(route)}]`,
          reason: `The route ${route.method} ${route.path} has a path parameter (an item or claim line id the API gives out), which an execute-api ARN can only name as *. The ARN is otherwise exact: this API, stage ${STAGE_NAME}, method ${route.method}, and the route's fixed path segments; API Gateway serves no other route there.`,
        })),
      );
    }
    return policy;
  }

  /** How cdk-nag writes the route's ARN in a finding id (tokens as `<LogicalId.Attribute>`). */
  private nagArn(route: ReviewRoute): string {
    const apiId = Stack.of(this).getLogicalId(this.api.node.defaultChild as apigateway.CfnRestApi);
    const path = route.path.replace(/\{[^}]+\}/g, "*");
    return `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${STAGE_NAME}/${route.method}${path}`;
  }
}
