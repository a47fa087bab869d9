import { join } from "node:path";
import { type Acknowledgment, type Duration, Token, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../functions/observability.js";
import { environmentOf, type FunctionSettings } from "../functions/runtime-config.js";
import { platformVariables } from "../functions/settings.js";
import { DeploymentConfigError } from "./deployment-config.js";
import {
  type DeployFunctionName,
  deployFunctionEntries,
  type FunctionName,
  functionEntries,
  nodejsFunctionBundling,
  PROJECT_ROOT,
} from "./lambda-bundling.js";

/** Lambda's limit on all environment variables of a function together, names included (Lambda quotas). */
const ENVIRONMENT_LIMIT_BYTES = 4096;
/** What an unresolved value (a queue URL, a table name) is counted as when checking that limit. */
const UNRESOLVED_VALUE_BYTES = 128;

const entries = { ...functionEntries, ...deployFunctionEntries };

export interface PortaltimeFunctionProps {
  name: FunctionName | DeployFunctionName;
  prefix: string;
  timeout: Duration;
  memorySize: number;
  /** The runtime configuration this function reads (functions/runtime-config.ts), and nothing more. */
  settings: FunctionSettings;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
  /** Retries of a failed asynchronous invocation (only the scheduled finalizer is invoked asynchronously). */
  retryAttempts?: number;
}

/**
 * One portaltime function: Node.js 24 on arm64, bundled by the local esbuild, traced with X-Ray, logging to
 * its own KMS-encrypted log group through a role that may write to that log group and nothing else until the
 * owning construct grants what the function uses.
 */
export class PortaltimeFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PortaltimeFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      encryptionKey: props.logsKey,
      retention: props.logRetention,
    });
    // No AWSLambdaBasicExecutionRole: it allows creating and writing any log group in the account.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `portaltime ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    const environment = {
      ...environmentOf(props.settings),
      [platformVariables.metricsNamespace]: METRICS_NAMESPACE,
      [platformVariables.logLevel]: "INFO",
      // Responses can carry delivery details; traces keep timings and errors only.
      [platformVariables.tracerCaptureResponse]: "false",
      [platformVariables.nodeOptions]: "--enable-source-maps",
    };
    checkEnvironmentSize(props.name, environment);

    this.function = new NodejsFunction(this, "Function", {
      functionName: `${props.prefix}-${props.name}`,
      description: `portaltime ${props.name}`,
      entry: join(PROJECT_ROOT, entries[props.name]),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, "package-lock.json"),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      bundling: nodejsFunctionBundling,
      retryAttempts: props.retryAttempts,
    });

    Validations.of(this.role).acknowledge(
      {
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions (AWS service authorization reference), so CDK's Tracing.ACTIVE grant names Resource *. These actions only write trace data; they read nothing. Every other statement names this stack's resources.",
      },
      {
        id: "HIPAA.Security-IAMNoInlinePolicy",
        reason:
          "The function role's policy is generated from CDK grants in this repository: one role per function, least-privilege statements on this stack's named resources, reviewed in code and tested (test/infra). It is created and deleted with the role, so it cannot drift or be attached elsewhere, which is what the rule guards against.",
      },
    );
    this.acknowledge({
      id: "HIPAA.Security-LambdaInsideVPC",
      reason:
        "The functions use only AWS public service endpoints (SQS, DynamoDB, Secrets Manager, KMS, X-Ray, CloudWatch) over TLS with IAM-signed requests, and the apply function calls the customer's FHIR server on the internet. There are no VPC-resident resources to reach; a VPC would add NAT gateways and interface endpoints without narrowing any data path. Data access is bounded by IAM and the KMS keys instead.",
    });
  }

  /** Acknowledges cdk-nag findings on the function resource itself (not its role or log group). */
  acknowledge(...rules: Acknowledgment[]): void {
    Validations.of(this.function.node.defaultChild ?? this.function).acknowledge(...rules);
  }
}

/** Lambda refuses a function whose environment exceeds 4 KB; fail at synth instead, naming the function. */
function checkEnvironmentSize(name: string, environment: Record<string, string>): void {
  const bytes = Object.entries(environment).reduce(
    (sum, [key, value]) =>
      sum +
      Buffer.byteLength(key) +
      (Token.isUnresolved(value) ? UNRESOLVED_VALUE_BYTES : Buffer.byteLength(value)),
    0,
  );
  if (bytes > ENVIRONMENT_LIMIT_BYTES) {
    throw new DeploymentConfigError(
      `invalid portaltime configuration: the ${name} function's environment would be about ${bytes} bytes, over Lambda's ${ENVIRONMENT_LIMIT_BYTES}`,
    );
  }
}
