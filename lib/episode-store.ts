import { Duration, RemovalPolicy, Tags, Validations } from "aws-cdk-lib";
import * as backup from "aws-cdk-lib/aws-backup";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import {
  episodeTableName,
  localIndexes,
  TENANT_CONFIG_KEY,
  tableDesign,
} from "../functions/store/table-design.js";
import type { DeploymentConfig } from "./deployment-config.js";
import { grantKeyViaService } from "./keys.js";

/** KMS use DynamoDB makes with the caller's credentials when it reads and writes items under a customer key. */
const TABLE_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"];

/**
 * The episode table of the shared design (functions/store/table-design.ts): facts, patient state and audit
 * records, on demand, under the data key, recoverable to any second of the last 35 days, protected from
 * deletion and kept when the stack is deleted. TTL removes records after the retention period (invariant 5).
 */
export class EpisodeStore extends Construct {
  readonly table: dynamodb.Table;
  private readonly key: kms.IKey;

  /** The AWS Backup plan, when the deployment chose one (`backup.mode: plan`). */
  readonly backupPlan?: backup.BackupPlan;

  constructor(
    scope: Construct,
    id: string,
    props: { key: kms.IKey; prefix: string; backup: DeploymentConfig["backup"] },
  ) {
    super(scope, id);
    this.key = props.key;
    this.table = new dynamodb.Table(this, "Table", {
      // A fixed name, as the queues have: operators and `npm run ops -- --prefix` find it without a lookup. A
      // change that replaces the table (new local indexes) must rename it, e.g. with a `-v2` suffix.
      tableName: episodeTableName(props.prefix),
      partitionKey: { name: tableDesign.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: tableDesign.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 },
      deletionProtection: true,
      timeToLiveAttribute: tableDesign.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const { dueIndex } = tableDesign;
    // The finalizer's sparse, sharded index: due keys and where each change starts, then the patient by reach.
    this.table.addGlobalSecondaryIndex({
      indexName: dueIndex.name,
      partitionKey: { name: dueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: dueIndex.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...dueIndex.projected],
    });
    // Clinicians' time by practitioner and instant, keys only: the patients a configuration version's dates
    // cover (R18). Global indexes can be added to a live table (DynamoDB backfills them).
    const { clinicianIndex } = tableDesign;
    this.table.addGlobalSecondaryIndex({
      indexName: clinicianIndex.name,
      partitionKey: { name: clinicianIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: clinicianIndex.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // The records that sent a claim line, by the line's id, keys only: the audit packet's way in (issue 15).
    const { claimLineIndex } = tableDesign;
    this.table.addGlobalSecondaryIndex({
      indexName: claimLineIndex.name,
      partitionKey: { name: claimLineIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: claimLineIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // One patient's items by how long a decision may need them, its message facts by message id, its visits and
    // consents by time (docs/STORE.md). Local indexes exist only from the table's creation on (adding one
    // replaces the table), and they cap the items sharing a partition key at 10 GB: one patient's, never a
    // practice's.
    for (const index of localIndexes) {
      this.table.addLocalSecondaryIndex({
        indexName: index.name,
        sortKey: {
          name: index.sortKey,
          type: index.sortKeyType === "N" ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
        },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projected],
      });
    }
    if (props.backup.mode === "plan") {
      this.backupPlan = this.backupPlanOf(props.prefix, props.key, props.backup);
    } else {
      // The customer's organization backup policy selects resources by this tag (README "Backups").
      Tags.of(this.table).add(props.backup.tag.key, props.backup.tag.value);
      Validations.of(this.table.node.defaultChild ?? this.table).acknowledge({
        id: "HIPAA.Security-DynamoDBInBackupPlan",
        reason: `Long-term backups are made by the customer's AWS Organizations backup policy, which selects resources tagged ${props.backup.tag.key}=${props.backup.tag.value} (the deployment configuration chose this, backup.mode organization-policy); point-in-time recovery (35 days), deletion protection and retain are on.`,
      });
    }
  }

  /**
   * Daily recovery points kept `dailyRetentionDays`, monthly ones kept `monthlyRetentionDays` and, when asked,
   * copied to a vault of another account or Region; in the named vault, or a new one under the data key that
   * outlives the stack.
   */
  private backupPlanOf(
    prefix: string,
    key: kms.IKey,
    settings: Extract<DeploymentConfig["backup"], { mode: "plan" }>,
  ): backup.BackupPlan {
    const vault =
      settings.vaultName === undefined
        ? new backup.BackupVault(this, "BackupVault", {
            backupVaultName: `${prefix}-episodes`,
            encryptionKey: key,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : backup.BackupVault.fromBackupVaultName(this, "BackupVault", settings.vaultName);
    const copyTo =
      settings.copyToVaultArn === undefined
        ? []
        : [
            {
              destinationBackupVault: backup.BackupVault.fromBackupVaultArn(
                this,
                "CopyVault",
                settings.copyToVaultArn,
              ),
              deleteAfter: Duration.days(settings.monthlyRetentionDays),
            },
          ];
    const plan = new backup.BackupPlan(this, "BackupPlan", {
      backupPlanName: `${prefix}-episodes`,
      backupVault: vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: "Daily",
          scheduleExpression: events.Schedule.cron({ hour: "5", minute: "0" }),
          deleteAfter: Duration.days(settings.dailyRetentionDays),
        }),
        new backup.BackupPlanRule({
          ruleName: "Monthly",
          scheduleExpression: events.Schedule.cron({ day: "1", hour: "6", minute: "0" }),
          deleteAfter: Duration.days(settings.monthlyRetentionDays),
          copyActions: copyTo,
        }),
      ],
    });
    const selection = plan.addSelection("EpisodeTable", {
      resources: [backup.BackupResource.fromDynamoDbTable(this.table)],
    });
    Validations.of(selection.node.findChild("Role")).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
      reason:
        "The role AWS Backup assumes to back up the one table this selection names. AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy for exactly that role (AWS Backup checks the selection's resources itself); it is assumable by backup.amazonaws.com alone.",
    });
    return plan;
  }

  /** The apply function: conditional puts of facts and updates of subscription records. */
  grantApplyWrites(grantee: iam.IGrantable): void {
    // Facts (transactions of puts), fact locations and subscription notices (updates), and one Query of the
    // tenant configuration's latest version (config-store.ts).
    this.grantItems(
      grantee,
      ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
      [this.table.tableArn],
    );
  }

  /**
   * The deploy-time function storing the initial tenant configuration: PutItem only, and only of items in the
   * tenant configuration's partition (`dynamodb:LeadingKeys`); the put itself is conditional on the item not
   * existing (functions/initial-config/initial-config.ts).
   */
  grantInitialConfigWrite(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:PutItem"],
      resourceArns: [this.table.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [TENANT_CONFIG_KEY] } },
    });
    grantKeyViaService(this.key, grantee, "dynamodb", TABLE_KEY_ACTIONS);
  }

  /**
   * The finalizer: queries of the due index, of one patient's items by reach and by message id, of clinicians'
   * time (R18) and of the quarantine partition; reads of a configuration version and of its own progress through
   * them (GetItem); each decision as one TransactWriteItems of puts and conditional updates (IAM
   * authorizes each action inside a transaction by its own name, and there is no ConditionCheck among them);
   * quarantine entries added (UpdateItem) and released (DeleteItem); outbox entries deleted once sent
   * (BatchWriteItem, authorized by its own name whatever requests it carries).
   */
  grantFinalizerAccess(grantee: iam.IGrantable): void {
    this.grantItems(
      grantee,
      ["dynamodb:Query"],
      [
        this.table.tableArn,
        ...[tableDesign.dueIndex, tableDesign.clinicianIndex, ...localIndexes].map(({ name }) =>
          this.indexArn(name),
        ),
      ],
    );
    this.grantItems(
      grantee,
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
      ],
      [this.table.tableArn],
    );
  }

  /**
   * The review function (issue 15): queries of the worklist, quarantine, tenant configuration and patient
   * partitions, and of the claim line index (the audit packet's way in); reads of single items and of a
   * patient's facts in batches; an attestation written as every fact is (fact-store.ts `put`: one
   * TransactWriteItems of conditional puts) and a mapped unattributed item moved to resolved (one
   * TransactWriteItems of a delete and a put). IAM authorizes each action inside a transaction by its own name;
   * none of them is an update or a condition check.
   */
  grantReviewAccess(grantee: iam.IGrantable): void {
    this.grantItems(
      grantee,
      ["dynamodb:Query"],
      [this.table.tableArn, this.indexArn(tableDesign.claimLineIndex.name)],
    );
    this.grantItems(
      grantee,
      ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
      [this.table.tableArn],
    );
  }

  private indexArn(indexName: string): string {
    return `${this.table.tableArn}/index/${indexName}`;
  }

  /** Named actions on named ARNs: `Table.grant` would add every index (`index/*`) to every action. */
  private grantItems(grantee: iam.IGrantable, actions: string[], resourceArns: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns });
    grantKeyViaService(this.key, grantee, "dynamodb", TABLE_KEY_ACTIONS);
  }
}
