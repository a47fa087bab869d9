import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from "aws-lambda";

/** CloudFormation reads at most 4,096 bytes of a response (CloudFormation quotas): reasons are cut short. */
const MAX_REASON_CHARS = 1000;

export type CustomResourceOutcome =
  | { status: "SUCCESS"; physicalResourceId: string; data?: Record<string, string> }
  | { status: "FAILED"; physicalResourceId: string; reason: string };

/** Delivers a response body to the presigned URL CloudFormation waits on. */
export type ResponseSender = (url: string, body: string) => Promise<void>;

/**
 * The custom resource protocol: the outcome of a request is PUT to the request's presigned `ResponseURL`, and
 * the stack operation waits for it (up to the resource's ServiceTimeout). A failure to deliver it throws, so
 * Lambda retries the asynchronous invocation and the request is handled, idempotently, again.
 */
export async function answerCloudFormation(
  event: CloudFormationCustomResourceEvent,
  outcome: CustomResourceOutcome,
  send: ResponseSender = putToPresignedUrl,
): Promise<void> {
  const common = {
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const response: CloudFormationCustomResourceResponse =
    outcome.status === "SUCCESS"
      ? { ...common, Status: "SUCCESS", ...(outcome.data ? { Data: outcome.data } : {}) }
      : { ...common, Status: "FAILED", Reason: outcome.reason.slice(0, MAX_REASON_CHARS) };
  await send(event.ResponseURL, JSON.stringify(response));
}

async function putToPresignedUrl(url: string, body: string): Promise<void> {
  // The URL is presigned for a request without a content type.
  const response = await fetch(url, { method: "PUT", body, headers: { "content-type": "" } });
  if (!response.ok) throw new Error(`CloudFormation's response URL answered HTTP ${response.status}`);
}
