import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import {
  answerCloudFormation,
  type CustomResourceOutcome,
  type ResponseSender,
} from "./cloudformation-response.js";
import {
  INITIAL_CONFIG_RESOURCE_ID,
  type InitialConfigResult,
  initialConfigProperties,
} from "./initial-config.js";

export interface InitialConfigDependencies {
  /** Stores the encoded configuration in the table as version 1 unless that version exists (`storeInitialConfig`). */
  store: (tableName: string, encoded: string) => Promise<InitialConfigResult>;
  /** Where responses go; CloudFormation's presigned URL unless a test says otherwise. */
  send?: ResponseSender;
}

/**
 * The custom resource CloudFormation invokes on deploys: Create and Update (a changed configuration, or a new
 * table) store the initial configuration if the table has no version 1; Delete (the configuration left the deployment, or the stack is deleted) keeps every
 * version, as the retained table does. Every request is answered, failures included, so a deploy never waits
 * out the resource's timeout.
 */
export function createInitialConfigHandler(deps: InitialConfigDependencies) {
  const { logger, tracer } = observability("initial-config");

  const outcomeOf = async (event: CloudFormationCustomResourceEvent): Promise<CustomResourceOutcome> => {
    const physicalResourceId = INITIAL_CONFIG_RESOURCE_ID;
    if (event.RequestType === "Delete") return { status: "SUCCESS", physicalResourceId };
    try {
      const properties = event.ResourceProperties;
      const result = await deps.store(
        String(properties[initialConfigProperties.tableName]),
        String(properties[initialConfigProperties.config]),
      );
      // "kept": a version 1 exists; the deployment's configuration changes nothing (npm run config -- push does).
      logger.info("initial tenant configuration", { result, requestType: event.RequestType });
      return { status: "SUCCESS", physicalResourceId, data: { Result: result } };
    } catch (error) {
      logger.error("initial tenant configuration failed", { error });
      return { status: "FAILED", physicalResourceId, reason: String(error) };
    }
  };

  return middy(async (event: CloudFormationCustomResourceEvent): Promise<void> => {
    await answerCloudFormation(event, await outcomeOf(event), deps.send);
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS));
}
