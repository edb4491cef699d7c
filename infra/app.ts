/**
 * The CDK app of `npx cdk synth` / `npx cdk deploy` (cdk.json): one stack holding one
 * StrataLog, with its endpoints as outputs, and the cdk-nag AwsSolutions and Serverless checks, which
 * fail the synthesis on any finding that is not acknowledged with a reason.
 *
 * Context (`-c key=value`): `stackName` (default Strata), `removalPolicy` (`retain`,
 * the default, or `destroy` for a throwaway stack), `alarmEmail` (subscribes an address
 * to the alarms' SNS topic), `stagingAvailabilityZoneId` (the S3 Express staging tier, in
 * that zone id, e.g. `use1-az4`).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { StrataStack, stackPropsFromContext } from './strata-stack.js';

const app = new App();
new StrataStack(app, app.node.tryGetContext('stackName') ?? 'Strata', stackPropsFromContext(app));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
app.synth();
