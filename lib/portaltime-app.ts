import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag";
import { deploymentConfigFromContext } from "./deployment-config.js";
import { PortaltimeStack } from "./portaltime-stack.js";

/**
 * The CDK app: the validated configuration, the stack, and the cdk-nag AWS Solutions and HIPAA Security packs
 * as validation plugins, so any unacknowledged finding fails synth (and `cdk deploy`). Acknowledgements sit
 * next to the resources they concern and are copied into the template metadata for auditors.
 */
export function createPortaltimeApp(props: AppProps = {}): { app: App; stack: PortaltimeStack } {
  const app = new App(props);
  const config = deploymentConfigFromContext(app.node);
  const stack = new PortaltimeStack(app, "Portaltime", {
    config,
    stackName: config.prefix,
    // `cdk destroy` (or a console click) must not take the webhooks, queues and keys of a live practice away;
    // turning protection off is a deliberate, separate step (README "Removing a deployment").
    terminationProtection: true,
    description: "portaltime: EHR webhooks to digital E/M claim lines",
  });
  const nag = { verbose: true, writeSuppressionsToCloudFormation: true };
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, nag), new HIPAASecurityChecks(app, nag));
  return { app, stack };
}
