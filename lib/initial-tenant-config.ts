import { CustomResource, Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { TenantConfig } from "../functions/domain/config.js";
import { encodeInitialConfig, initialConfigProperties } from "../functions/initial-config/initial-config.js";
import type { EpisodeStore } from "./episode-store.js";
import { PortaltimeFunction } from "./portaltime-function.js";

export interface InitialTenantConfigProps {
  prefix: string;
  /** The deployment's `tenant`, validated with the deployment configuration. */
  tenant: TenantConfig;
  store: EpisodeStore;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/**
 * Stores the deployment's initial tenant configuration in the table as version 1, once: a custom resource whose
 * function makes one PutItem conditional on that item not existing. No later deploy changes the configuration
 * in force, whatever its `tenant` says: changes are pushed (`npm run config -- push`).
 *
 * Why a function of ours rather than an `AwsCustomResource` calling PutItem: the item must be the one
 * `DynamoTenantConfigStore.push` writes, with the configuration gzipped in a Binary attribute, and the
 * AwsCustomResource handler (SDK v3 input coercion) turns a string given for a blob member into that string's
 * UTF-8 bytes, so base64 could not carry the gzip bytes through; it also logs every request whole, roster
 * included. The function validates as a push does, stamps `pushedAt` when the deploy runs (a template cannot),
 * and writes through the store's table design and digest (a test compares its item with a push's). It is a
 * PortaltimeFunction like the others (own role, encrypted log group, tracing) and answers CloudFormation itself
 * (cloudformation-response.ts): the Provider framework would add a second function and role of CDK's making for
 * one request per deploy.
 *
 * Size: the configuration travels gzipped and base64-encoded as a property of the resource, ~32 KB for 2,000
 * clinicians. CloudFormation takes a template of up to 1 MB from S3 (`cdk deploy` uploads any over 50 KB) and
 * invokes the function asynchronously, with a 1 MB payload limit; an Update carries the old properties as well.
 */
export class InitialTenantConfig extends Construct {
  readonly initialConfig: PortaltimeFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: InitialTenantConfigProps) {
    super(scope, id);
    this.initialConfig = new PortaltimeFunction(this, "InitialConfig", {
      name: "initial-config",
      prefix: props.prefix,
      timeout: Duration.seconds(30),
      memorySize: 256,
      settings: {},
      logsKey: props.logsKey,
      logRetention: props.logRetention,
    });
    const fn = this.initialConfig.function;
    props.store.grantInitialConfigWrite(fn);

    this.resource = new CustomResource(this, "Version1", {
      serviceToken: fn.functionArn,
      resourceType: "Custom::PortaltimeInitialTenantConfig",
      // A function that cannot answer fails the deploy after five minutes, not after CloudFormation's hour.
      serviceTimeout: Duration.minutes(5),
      // The table is a property too: a deploy that replaces the table stores the initial version in the new one.
      properties: {
        [initialConfigProperties.tableName]: props.store.table.tableName,
        [initialConfigProperties.config]: encodeInitialConfig(props.tenant),
      },
    });

    this.initialConfig.acknowledge(
      {
        id: "HIPAA.Security-LambdaConcurrency",
        reason:
          "Invoked only by CloudFormation, once per deploy that creates or changes the initial tenant configuration resource: its concurrency is the number of such deploys in flight, one. Reserving concurrency would take capacity from the customer's account and could fail the deploy in accounts with a low concurrency quota.",
      },
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "CloudFormation waits for this function's answer: a request it cannot complete fails (and rolls back) the deploy that sent it, with the reason in the stack events. A dead-letter queue would hold a request nobody is waiting for any more; the request carries only the configuration that is also in the template.",
      },
    );
  }
}
