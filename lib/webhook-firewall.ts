import { ArnFormat, Aws, Fn, Stack } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";

export interface WebhookFirewallProps {
  prefix: string;
  /** Requests one source address may make in five minutes before it is blocked (429). */
  requestsPerIpPerFiveMinutes: number;
  /** Per format, the only source CIDR blocks its path accepts (the vendor's published egress ranges). */
  vendorIpAllowList: Readonly<Partial<Record<string, readonly string[]>>>;
  /** The API stage to protect: `arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>`. */
  stageArn: string;
  maxBodyBytes: number;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** CloudWatch metric name of the body-size rule (the dashboard shows its blocked requests). */
export const BODY_SIZE_RULE = "BodyOverLimit";
/** The per-IP rate-based rule's metric name. */
export const RATE_RULE = "RequestsPerIp";
/** The AWS managed rule group of addresses Amazon threat intelligence reports as bots and attackers. */
export const IP_REPUTATION_RULE = "AmazonIpReputation";
/** The metric name of the allow-list rule of one format. */
export const allowListRule = (format: string) => `OnlyVendorAddresses-${format}`;

const visibility = (metricName: string) => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: false,
});

/**
 * The webhook API's firewall, in rule order:
 * 1. the request size limit: API Gateway itself accepts bodies up to 10 MB; a declared Content-Length over the
 *    configured limit is refused with 413 problem+json before anything runs (regional WAF inspects only a
 *    body's first 8 KB, so the declared length is what it can enforce; the ingest function checks the bytes);
 * 2. AWS's managed IP reputation list (bots, scanners, addresses reported for attacks);
 * 3. per format with an allow-list, only the vendor's own addresses reach that format's path;
 * 4. a per-IP rate limit (429), so one client cannot use up the stage throttle the vendors share.
 * Blocked requests are logged, with credentials and query redacted.
 */
export class WebhookFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly metricName: string;

  constructor(scope: Construct, id: string, props: WebhookFirewallProps) {
    super(scope, id);
    this.metricName = `${props.prefix}-webhooks`;
    this.webAcl = new wafv2.CfnWebACL(this, "WebAcl", {
      name: this.metricName,
      description: "portaltime webhooks: size limit, IP reputation, vendor addresses, per-IP rate",
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
        tooManyRequests: {
          contentType: "APPLICATION_JSON",
          content: JSON.stringify({
            type: "about:blank",
            title: "Too many requests",
            status: 429,
            detail: "this address sent too many requests in five minutes; retry later",
          }),
        },
        forbidden: {
          contentType: "APPLICATION_JSON",
          content: JSON.stringify({
            type: "about:blank",
            title: "Forbidden",
            status: 403,
            detail: "this address may not deliver this format's webhooks",
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
          visibilityConfig: visibility(BODY_SIZE_RULE),
        },
        {
          name: IP_REPUTATION_RULE,
          priority: 1,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: { vendorName: "AWS", name: "AWSManagedRulesAmazonIpReputationList" },
          },
          visibilityConfig: visibility(IP_REPUTATION_RULE),
        },
        ...this.allowListRules(props, 2),
        {
          name: RATE_RULE,
          priority: 100,
          action: {
            block: { customResponse: { responseCode: 429, customResponseBodyKey: "tooManyRequests" } },
          },
          statement: {
            rateBasedStatement: {
              limit: props.requestsPerIpPerFiveMinutes,
              aggregateKeyType: "IP",
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(RATE_RULE),
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

  /**
   * One rule per format with an allow-list: a request to that format's path (`.../webhooks/<format>`, any
   * stage) from an address outside the list is blocked with 403. IPv4 and IPv6 ranges need separate IP sets.
   */
  private allowListRules(props: WebhookFirewallProps, firstPriority: number): wafv2.CfnWebACL.RuleProperty[] {
    return Object.entries(props.vendorIpAllowList).flatMap(([format, ranges], index) => {
      if (ranges === undefined || ranges.length === 0) return [];
      const sets = (["IPV4", "IPV6"] as const).flatMap((version) => {
        const addresses = ranges.filter((range) => range.includes(":") === (version === "IPV6"));
        if (addresses.length === 0) return [];
        const set = new wafv2.CfnIPSet(this, `${format}-${version}`, {
          name: `${props.prefix}-${format}-${version.toLowerCase()}`,
          description: `portaltime: the ${format} vendor's source addresses`,
          scope: "REGIONAL",
          ipAddressVersion: version,
          addresses,
        });
        return [{ ipSetReferenceStatement: { arn: set.attrArn } } as wafv2.CfnWebACL.StatementProperty];
      });
      const fromVendor: wafv2.CfnWebACL.StatementProperty =
        sets.length === 1 && sets[0] !== undefined ? sets[0] : { orStatement: { statements: sets } };
      return [
        {
          name: allowListRule(format),
          priority: firstPriority + index,
          action: { block: { customResponse: { responseCode: 403, customResponseBodyKey: "forbidden" } } },
          statement: {
            andStatement: {
              statements: [
                {
                  byteMatchStatement: {
                    fieldToMatch: { uriPath: {} },
                    positionalConstraint: "ENDS_WITH",
                    searchString: `/webhooks/${format}`,
                    textTransformations: [{ priority: 0, type: "LOWERCASE" }],
                  },
                },
                { notStatement: { statement: fromVendor } },
              ],
            },
          },
          visibilityConfig: visibility(allowListRule(format)),
        },
      ];
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
