import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";

/**
 * The cold-start baseline of `npm run bench`: a Lambda handler that only imports the SQS client (built at init,
 * as portaltime's handlers build theirs) and sends one message. Bundled with the functions' own settings.
 */
const sqs = new SQSClient({});

export const handler = async (event: { queueUrl: string; body: string }): Promise<void> => {
  await sqs.send(new SendMessageCommand({ QueueUrl: event.queueUrl, MessageBody: event.body }));
};
