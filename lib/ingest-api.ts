import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionSettings } from "../functions/runtime-config.js";
import type { DeploymentConfig } from "./deployment-config.js";
import type { FifoQueueWithDlq } from "./fifo-queue.js";
import { PortaltimeFunction } from "./portaltime-function.js";
import { WebhookFirewall } from "./webhook-firewall.js";
import type { WebhookSecrets } from "./webhook-secrets.js";

export interface IngestApiProps {
  config: DeploymentConfig;
  /** The settings this function needs besides its own queue (functions/runtime-config.ts). */
  settings: FunctionSettings;
  inbox: FifoQueueWithDlq;
  secrets: WebhookSecrets;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** The stage vendors call: `https://<api>/v1/webhooks/<format>`. */
export const STAGE_NAME = "v1";

/**
 * `POST /webhooks/{format}` on a regional REST API: stage throttling, JSON access logs (API Gateway never
 * logs bodies there), execution logging at ERROR without data tracing, X-Ray, the size-limiting firewall, and
 * the ingest function behind it, which authenticates, checks and enqueues (ARCHITECTURE.md: answer fast).
 */
export class IngestApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly ingest: PortaltimeFunction;
  readonly firewall: WebhookFirewall;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const { config } = props;

    this.ingest = new PortaltimeFunction(this, "Ingest", {
      name: "ingest",
      prefix: config.prefix,
      // Vendors wait 2-4 s; the function gives up on SQS after about 1.6 s and answers 503.
      timeout: Duration.seconds(10),
      memorySize: 512,
      settings: {
        ...props.settings,
        inboxQueueUrl: props.inbox.queue.queueUrl,
        maxBodyBytes: config.maxBodyBytes,
      },
      logsKey: props.logsKey,
      logRetention: props.logRetention,
    });
    props.inbox.grantSend(this.ingest.function);
    for (const secret of props.secrets.vendorSecrets) secret.grantRead(this.ingest.function);
    this.ingest.acknowledge(
      {
        id: "HIPAA.Security-LambdaConcurrency",
        reason:
          "Ingest concurrency is bounded by the API stage throttling (configured rate and burst), its only trigger. Reserving concurrency would take capacity from the customer's account and could fail the deploy in accounts with a low concurrency quota.",
      },
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "Invoked synchronously by API Gateway only, where a Lambda DLQ never receives anything: a failure answers 5xx and the vendor retries the delivery (and the 5xx alarm fires).",
      },
    );

    const accessLogs = new logs.LogGroup(this, "AccessLogs", {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
    });
    this.api = new apigateway.RestApi(this, "Api", {
      restApiName: `${config.prefix}-webhooks`,
      description: "portaltime: EHR webhooks",
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Every body reaches the function base64-encoded: signatures are verified over the exact bytes sent.
      binaryMediaTypes: ["*/*"],
      // Execution logging needs the account's API Gateway logging role; it is kept if the stack is deleted
      // because other APIs in the account may rely on it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: config.apiThrottle.rateLimit,
        throttlingBurstLimit: config.apiThrottle.burstLimit,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogFormat(),
      },
    });

    // TLS 1.2 or newer (API Gateway's default for a regional API still accepts TLS 1.0). An enhanced policy needs
    // an endpoint access mode: STRICT also refuses requests whose SNI names another host (domain fronting).
    const cfnApi = this.api.node.defaultChild as apigateway.CfnRestApi;
    cfnApi.securityPolicy = config.edge.securityPolicy;
    cfnApi.endpointAccessMode = "STRICT";

    // API Gateway would create this group itself, unencrypted and kept forever; declaring it first avoids that.
    const executionLogs = new logs.LogGroup(this, "ExecutionLogs", {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${STAGE_NAME}`,
      encryptionKey: props.logsKey,
      retention: props.logRetention,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);

    const validator = this.api.addRequestValidator("PathValidator", { validateRequestParameters: true });
    Validations.of(this.api.node.defaultChild ?? this.api).acknowledge({
      id: "AwsSolutions-APIG2",
      reason:
        "API Gateway validates the request parameters (the format path parameter). Bodies are validated by the ingest function after the signature is verified, with each format's zod envelope schema (functions/vendors/), the single source of those shapes; malformed bodies get 400 problem+json and are counted. API Gateway body models would parse unauthenticated input first and duplicate those schemas, and bodies pass as exact bytes (binary) for signature verification.",
    });
    const method = this.api.root
      .addResource("webhooks")
      .addResource("{format}")
      .addMethod("POST", new apigateway.LambdaIntegration(this.ingest.function, { allowTestInvoke: false }), {
        operationName: "ReceiveWebhook",
        requestParameters: { "method.request.path.format": true },
        requestValidator: validator,
      });
    const signedDeliveries =
      "Webhook senders (EHR vendors) cannot use IAM, Cognito or a custom authorizer: each format authenticates its deliveries with the vendor's own scheme (HMAC-SHA256 or Ed25519 signatures over the exact body, Standard Webhooks, or the FHIR subscription's shared-secret header), checked in constant time against the active secrets by the ingest function before anything is enqueued. Unauthenticated requests get 401 and leave nothing behind (ARCHITECTURE.md invariant 7).";
    Validations.of(method.node.defaultChild ?? method).acknowledge(
      { id: "AwsSolutions-APIG4", reason: signedDeliveries },
      { id: "AwsSolutions-COG4", reason: signedDeliveries },
    );
    Validations.of(this.api.deploymentStage.node.defaultChild ?? this.api.deploymentStage).acknowledge(
      {
        id: "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        reason:
          "The API has one POST method receiving webhooks; a response must never be served from a cache (each delivery is processed), so no cache cluster exists and no PHI is cached to encrypt.",
      },
      {
        id: "HIPAA.Security-APIGWSSLEnabled",
        reason:
          "The rule asks for a client certificate API Gateway presents to an HTTP backend. The only integration is a Lambda proxy integration invoked through the AWS API with IAM, which uses no backend certificate; callers reach the API over TLS only.",
      },
    );
    const accountRole = this.api.node.findChild("CloudWatchRole");
    Validations.of(accountRole).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason:
        "The account-level role API Gateway assumes to write execution and access logs. AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for exactly this role; it holds only CloudWatch Logs write actions and is assumable by apigateway.amazonaws.com alone.",
    });

    this.firewall = new WebhookFirewall(this, "Firewall", {
      prefix: config.prefix,
      stageArn: this.api.deploymentStage.stageArn,
      maxBodyBytes: config.maxBodyBytes,
      requestsPerIpPerFiveMinutes: config.edge.requestsPerIpPerFiveMinutes,
      vendorIpAllowList: config.edge.vendorIpAllowList,
      logsKey: props.logsKey,
      logRetention: props.logRetention,
    });
    this.firewall.node.addDependency(this.api.deploymentStage);
  }

  /** The URL a vendor is given for a format, e.g. `${webhookBaseUrl}healthie`. */
  get webhookBaseUrl(): string {
    return this.api.urlForPath("/webhooks/");
  }
}

/**
 * One JSON line per request: who, what, outcome and timings. Bodies and headers are never in it. `caller` is the
 * IAM principal of a signed review call (a biller's SSO role session), null for webhooks: CloudTrail does not
 * record execute-api invocations, so this log and the review function's are where each call is attributed.
 */
function accessLogFormat(): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      extendedRequestId: field.contextExtendedRequestId(),
      ip: field.contextIdentitySourceIp(),
      caller: field.contextIdentityUserArn(),
      requestTime: field.contextRequestTime(),
      httpMethod: field.contextHttpMethod(),
      resourcePath: field.contextResourcePath(),
      path: field.contextPath(),
      status: field.contextStatus(),
      responseLength: field.contextResponseLength(),
      responseLatency: field.contextResponseLatency(),
      integrationLatency: field.contextIntegrationLatency(),
      integrationStatus: field.contextIntegrationStatus(),
      wafStatus: field.contextWafResponseCode(),
      errorMessage: field.contextErrorMessage(),
      xrayTraceId: field.contextXrayTraceId(),
    }),
  );
}
