import { RemovalPolicy, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { tableDesign } from "../functions/store/table-design.js";
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

  constructor(scope: Construct, id: string, props: { key: kms.IKey }) {
    super(scope, id);
    this.key = props.key;
    this.table = new dynamodb.Table(this, "Table", {
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
    // The finalizer's sparse index: it reads only the keys of due items, then the patient's items by key.
    this.table.addGlobalSecondaryIndex({
      indexName: tableDesign.dueIndex.name,
      partitionKey: { name: tableDesign.dueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: tableDesign.dueIndex.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    Validations.of(this.table.node.defaultChild ?? this.table).acknowledge({
      id: "HIPAA.Security-DynamoDBInBackupPlan",
      reason:
        "Point-in-time recovery (35 days, to the second) and deletion protection are on and the table is retained on stack deletion. Long-term copies belong to the customer's organisation-wide AWS Backup policy, which selects resources by tag; a plan defined here would duplicate or conflict with it.",
    });
  }

  /** The apply function: conditional puts of facts and updates of subscription and patient records. */
  grantApplyWrites(grantee: iam.IGrantable): void {
    this.grantItems(grantee, ["dynamodb:PutItem", "dynamodb:UpdateItem"], [this.table.tableArn]);
  }

  /** The finalizer: queries of the due index and of one patient's items, and conditional writes of state. */
  grantFinalizerAccess(grantee: iam.IGrantable): void {
    this.grantItems(
      grantee,
      ["dynamodb:Query"],
      [this.table.tableArn, `${this.table.tableArn}/index/${tableDesign.dueIndex.name}`],
    );
    this.grantItems(grantee, ["dynamodb:PutItem", "dynamodb:UpdateItem"], [this.table.tableArn]);
  }

  /** Named actions on named ARNs: `Table.grant` would add every index (`index/*`) to every action. */
  private grantItems(grantee: iam.IGrantable, actions: string[], resourceArns: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns });
    grantKeyViaService(this.key, grantee, "dynamodb", TABLE_KEY_ACTIONS);
  }
}
