import { ArnFormat, Aws, Fn, Stack } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";

export interface WebhookFirewallProps {
  prefix: string;
  /** The API stage to protect: `arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>`. */
  stageArn: string;
  maxBodyBytes: number;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** CloudWatch metric name of the body-size rule (the dashboard shows its blocked requests). */
export const BODY_SIZE_RULE = "BodyOverLimit";

/**
 * The request size limit at the edge. API Gateway itself accepts bodies up to 10 MB; this web ACL refuses a
 * declared Content-Length over the configured limit with 413 problem+json before anything runs. (Regional
 * WAF can inspect only a body's first 8 KB, so the declared length is what it can enforce; the ingest
 * function checks the actual bytes too.) Blocked requests are logged, with credentials and query redacted.
 */
export class WebhookFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly metricName: string;

  constructor(scope: Construct, id: string, props: WebhookFirewallProps) {
    super(scope, id);
    this.metricName = `${props.prefix}-webhooks`;
    this.webAcl = new wafv2.CfnWebACL(this, "WebAcl", {
      name: this.metricName,
      description: "portaltime webhooks: request size limit",
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: this.metricName,
        // Sampled requests would show headers and paths in the console to anyone with WAF read access.
        sampledRequestsEnabled: false,
      },
      customResponseBodies: {
        payloadTooLarge: {
          contentType: "APPLICATION_JSON",
          content: JSON.stringify({
            type: "about:blank",
            title: "Payload too large",
            status: 413,
            detail: `the limit is ${props.maxBodyBytes} bytes`,
          }),
        },
      },
      rules: [
        {
          name: BODY_SIZE_RULE,
          priority: 0,
          action: {
            block: { customResponse: { responseCode: 413, customResponseBodyKey: "payloadTooLarge" } },
          },
          statement: {
            regexMatchStatement: {
              // Free-form JSON in CloudFormation's own casing (CDK does not convert `any` properties).
              fieldToMatch: { singleHeader: { Name: "content-length" } },
              regexString: integerGreaterThan(props.maxBodyBytes),
              textTransformations: [{ priority: 0, type: "NONE" }],
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: BODY_SIZE_RULE,
            sampledRequestsEnabled: false,
          },
        },
      ],
    });

    new wafv2.CfnWebACLAssociation(this, "StageAssociation", {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    // WAF requires the `aws-waf-logs-` prefix; the stack id's UUID keeps a redeploy from meeting a retained group.
    const logGroup = new logs.LogGroup(this, "LogGroup", {
      logGroupName: `aws-waf-logs-${props.prefix}-${Fn.select(2, Fn.split("/", Aws.STACK_ID))}`,
      encryptionKey: props.logsKey,
      retention: props.logRetention,
    });
    new wafv2.CfnLoggingConfiguration(this, "Logging", {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: "logs",
          resource: "log-group",
          resourceName: logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: [{ singleHeader: { Name: "authorization" } }, { queryString: {} }],
      // Only blocked requests: allowed ones are in the API access log already.
      loggingFilter: {
        DefaultBehavior: "DROP",
        Filters: [
          {
            Behavior: "KEEP",
            Requirement: "MEETS_ANY",
            Conditions: [{ ActionCondition: { Action: "BLOCK" } }],
          },
        ],
      },
    });
  }
}

/**
 * A regular expression matching exactly the decimal integers greater than `limit` (leading zeros allowed):
 * any number with more digits, or the same digits up to a position that then holds a larger digit.
 */
export function integerGreaterThan(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`not a non-negative integer: ${limit}`);
  const digits = String(limit);
  const alternatives = [`[1-9]\\d{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    if (digit === 9) continue;
    const rest = digits.length - i - 1;
    const next = digit + 1 === 9 ? "9" : `[${digit + 1}-9]`;
    alternatives.push(`${digits.slice(0, i)}${next}${rest > 0 ? `\\d{${rest}}` : ""}`);
  }
  return `^0*(?:${alternatives.join("|")})$`;
}
