import { CfnOutput, Stack, type StackProps, Tags } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { claimsQueue, inboxQueue } from "../functions/queue/queue-design.js";
import { apiVendors } from "../functions/vendors/api-registry.js";
import { Apply } from "./apply.js";
import type { DeploymentConfig } from "./deployment-config.js";
import { EpisodeStore } from "./episode-store.js";
import { FifoQueueWithDlq } from "./fifo-queue.js";
import { Finalizer } from "./finalizer.js";
import { IngestApi } from "./ingest-api.js";
import { InitialTenantConfig } from "./initial-tenant-config.js";
import { PortaltimeKeys } from "./keys.js";
import { Monitoring } from "./monitoring.js";
import { ReviewApi } from "./review-api.js";
import { WebhookSecrets } from "./webhook-secrets.js";

export interface PortaltimeStackProps extends StackProps {
  config: DeploymentConfig;
}

/** Everything one customer account runs (ARCHITECTURE.md "Data flow"), wired from the validated configuration. */
export class PortaltimeStack extends Stack {
  readonly keys: PortaltimeKeys;
  readonly store: EpisodeStore;
  readonly inbox: FifoQueueWithDlq;
  readonly claims: FifoQueueWithDlq;
  readonly ingestApi: IngestApi;
  readonly apply: Apply;
  readonly finalizer: Finalizer;
  readonly reviewApi: ReviewApi;
  /** Present when the deployment carries an initial tenant configuration. */
  readonly initialTenantConfig?: InitialTenantConfig;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: PortaltimeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { prefix } = config;
    Tags.of(this).add("application", "portaltime");
    Tags.of(this).add("portaltime:deployment", prefix);

    this.keys = new PortaltimeKeys(this, "Keys", { prefix });
    this.store = new EpisodeStore(this, "EpisodeStore", {
      key: this.keys.data,
      prefix,
      backup: config.backup,
    });
    this.inbox = new FifoQueueWithDlq(this, "Inbox", { design: inboxQueue, prefix, key: this.keys.queues });
    this.claims = new FifoQueueWithDlq(this, "Claims", {
      design: claimsQueue,
      prefix,
      key: this.keys.queues,
    });
    const secrets = new WebhookSecrets(this, "Secrets", {
      prefix,
      enabledFormats: config.enabledFormats,
      apiCredentials: apiVendors.filter((vendor) => config[vendor] !== undefined),
      key: this.keys.data,
    });

    // Each function gets only the settings it uses (functions/runtime-config.ts requires them at cold start).
    const tableName = this.store.table.tableName;
    const { enabledFormats } = config;
    const logs = { logsKey: this.keys.logs, logRetention: config.logRetentionDays as logs.RetentionDays };

    this.ingestApi = new IngestApi(this, "IngestApi", {
      config,
      settings: {
        enabledFormats,
        secretPrefix: secrets.vendorSecretPrefix,
        fhirSecretHeaders: config.fhirSecretHeaders,
      },
      inbox: this.inbox,
      secrets,
      ...logs,
    });
    this.apply = new Apply(this, "Apply", {
      config,
      settings: { enabledFormats, tableName },
      inbox: this.inbox,
      store: this.store,
      secrets,
      ...logs,
    });
    this.finalizer = new Finalizer(this, "Finalizer", {
      config,
      settings: { tableName },
      store: this.store,
      claims: this.claims,
      ...logs,
    });
    // The billers' review API (issue 15) on the same stage, behind the same firewall, authorized by IAM.
    this.reviewApi = new ReviewApi(this, "ReviewApi", {
      config,
      settings: { tableName, retentionDays: config.retentionDays },
      api: this.ingestApi.api,
      store: this.store,
      ...logs,
    });
    // The tenant configuration is data in the table (functions/store/config-store.ts); the deployment's `tenant`
    // is only its first version, stored if the table has none.
    if (config.tenant !== undefined) {
      this.initialTenantConfig = new InitialTenantConfig(this, "InitialTenantConfig", {
        prefix,
        tenant: config.tenant,
        store: this.store,
        ...logs,
      });
      // The first scheduled run finds a configuration to decide with, instead of failing.
      this.finalizer.schedule.node.addDependency(this.initialTenantConfig.resource);
    }
    this.monitoring = new Monitoring(this, "Monitoring", {
      config,
      stage: this.ingestApi.api.deploymentStage,
      firewall: this.ingestApi.firewall,
      functions: {
        ingest: this.ingestApi.ingest.function,
        apply: this.apply.apply.function,
        finalize: this.finalizer.finalize.function,
        review: this.reviewApi.review.function,
      },
      finalizeLogGroup: this.finalizer.finalize.logGroup,
      inbox: this.inbox,
      claims: this.claims,
      table: this.store.table,
      alarmsKey: this.keys.alarms,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output(
      "WebhookBaseUrl",
      this.ingestApi.webhookBaseUrl,
      "Give vendors this URL followed by the format name",
    );
    output(
      "ClaimsQueueUrl",
      this.claims.queue.queueUrl,
      "The clearinghouse connector reads claim lines here",
    );
    output(
      "ClaimsQueueArn",
      this.claims.queue.queueArn,
      "Grant the connector sqs:ReceiveMessage/DeleteMessage",
    );
    output("QueueKeyArn", this.keys.queues.keyArn, "Grant the connector kms:Decrypt on this key");
    output("InboxDeadLetterQueueUrl", this.inbox.deadLetterQueue.queueUrl, "Deliveries that could not apply");
    output(
      "ClaimsDeadLetterQueueUrl",
      this.claims.deadLetterQueue.queueUrl,
      "Claim lines the connector failed",
    );
    output("VendorSecretPrefix", secrets.vendorSecretPrefix, 'Put {"active":["<key>"]} at <prefix>/<format>');
    output(
      "ReviewApiUrl",
      this.reviewApi.baseUrl,
      "The review API (GET it for the page); every call is signed with IAM (SigV4)",
    );
    output(
      "ReviewBillersPolicyArn",
      this.reviewApi.billersPolicy.managedPolicyArn,
      "Attach to the billing team's SSO permission set (by name as a customer managed policy)",
    );
    output(
      "ReviewAuditorsPolicyArn",
      this.reviewApi.auditorsPolicy.managedPolicyArn,
      "Read-only review access (no resolutions)",
    );
    output("DashboardName", this.monitoring.dashboard.dashboardName, "CloudWatch dashboard");
  }
}
