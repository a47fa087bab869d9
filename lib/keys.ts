import { Aws } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

/**
 * The customer-managed keys, one per kind of data, each rotated yearly. Separate keys keep each key policy
 * small and let a customer revoke one path (e.g. alarm notifications) without touching the episode data.
 * Keys are retained when the stack is deleted: the retained table and backups stay readable.
 */
export class PortaltimeKeys extends Construct {
  /** The episode table and the webhook secrets (PHI and credentials). */
  readonly data: kms.Key;
  /** The inbox and claims queues and their DLQs (PHI in transit between functions). */
  readonly queues: kms.Key;
  /** Every log group. */
  readonly logs: kms.Key;
  /** The alarm topic. */
  readonly alarms: kms.Key;

  constructor(scope: Construct, id: string, props: { prefix: string }) {
    super(scope, id);
    const key = (name: string, description: string) =>
      new kms.Key(this, name, {
        description: `portaltime (${props.prefix}): ${description}`,
        alias: `alias/${props.prefix}/${name.toLowerCase()}`,
        enableKeyRotation: true,
      });
    this.data = key("Data", "episode table and webhook secrets");
    this.queues = key("Queues", "inbox and claims queues");
    this.logs = key("Logs", "CloudWatch log groups");
    this.alarms = key("Alarms", "alarm notification topic");

    // CloudWatch Logs encrypts with the key itself; the condition limits it to this account's log groups.
    this.logs.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:DescribeKey",
        ],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted topic on the account's behalf.
    this.alarms.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );
  }
}

/**
 * Lets a principal use a key only through one AWS service (`kms:ViaService`), for the services that call KMS
 * with the caller's credentials (DynamoDB, SQS): the same permission outside that service is refused.
 */
export function grantKeyViaService(
  key: kms.IKey,
  grantee: iam.IGrantable,
  service: "dynamodb" | "sqs",
  actions: readonly string[],
): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: [key.keyArn],
    conditions: { StringEquals: { "kms:ViaService": `${service}.${Aws.REGION}.amazonaws.com` } },
  });
}
