/**
 * `strata/cdk`: the AWS CDK construct library of the package, built to dist/cdk.js with
 * its functions prebuilt under dist/functions/ (cli/build.ts). aws-cdk-lib and constructs
 * are the consumer's (peer dependencies): one copy of each in a CDK app, or constructs
 * from two copies cannot share a tree.
 *
 * @example
 * import { App, Stack } from 'aws-cdk-lib';
 * import { StrataLog } from 'strata/cdk';
 *
 * const app = new App();
 * const stack = new Stack(app, 'Events');
 * const log = new StrataLog(stack, 'Log', { endpoints: 'function-urls' });
 * log.grantInvokeUrl(myService.role);
 */

export type { TopicConfigPatch } from '../lib/topics/topic-config.js';
export { FUNCTION_IDS, type FunctionId } from './function-bundling.js';
export { type MonitoringAlarmOptions, StrataMonitoring } from './monitoring.js';
export { StagingTier } from './staging-tier.js';
export {
  FUNCTION_URL_READ_TIMEOUT,
  type StrataAuth,
  type StrataEndpoints,
  type StrataFunctionOptions,
  StrataLog,
  type StrataLogProps,
} from './strata-log.js';
export { StrataStack, type StrataStackProps } from './strata-stack.js';
