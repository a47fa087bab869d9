import { randomUUID } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startLocalAws } from "../../bin/local/aws-servers.js";
import { createResources, type LocalEndpoints, type LocalResources } from "../../bin/local/resources.js";

declare module "vitest" {
  export interface ProvidedContext {
    localAws: LocalEndpoints;
    /** Prefix of this run's resources; files that make their own extend it (test/support/integration.ts). */
    localAwsPrefix: string;
    /**
     * Resources created once for the run and shared by all integration files, which run in parallel: a file
     * that sends, receives or writes keys another file may touch uses isolatedResources() instead.
     */
    localResources: LocalResources;
  }
}

/** Integration project setup: real local servers for the whole run, stopped in the returned teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const localAws = await startLocalAws();
  try {
    const endpoints = { dynamodbEndpoint: localAws.dynamodbEndpoint, sqsEndpoint: localAws.sqsEndpoint };
    const prefix = `run-${randomUUID().slice(0, 8)}`;
    project.provide("localAws", endpoints);
    project.provide("localAwsPrefix", prefix);
    project.provide("localResources", await createResources({ ...endpoints, prefix }));
  } catch (error) {
    await localAws.stop();
    throw error;
  }
  return () => localAws.stop();
}
