/**
 * `npm run compact`: one maintenance pass now (flush, retention, compaction, garbage
 * collection) on the stack that `npm start` runs, through the same Lambda Invoke API the
 * append function and the schedule use. `-- --topic T --partition P` runs one partition.
 * The stack's URL comes from STRATA_URL (default http://127.0.0.1:4510).
 */

import { parseArgs } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { COMPACT_FUNCTION_NAME, LOCAL_CREDENTIALS } from './stack.js';

// The SDK's notice that its 2027 releases need Node 22 is not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: { topic: { type: 'string' }, partition: { type: 'string' }, url: { type: 'string' } },
});
const url = values.url ?? process.env.STRATA_URL ?? 'http://127.0.0.1:4510';
let event: object = { inline: true };
if (values.topic !== undefined || values.partition !== undefined) {
  const partition = Number(values.partition ?? 0);
  if (!values.topic || !Number.isInteger(partition) || partition < 0) {
    console.error('✖ give both --topic NAME and --partition N (a whole number ≥ 0), or neither to run every partition');
    process.exit(2);
  }
  event = { topic: values.topic, partition };
}
const client = new LambdaClient({ endpoint: url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
try {
  const out = await client.send(
    new InvokeCommand({ FunctionName: COMPACT_FUNCTION_NAME, Payload: new TextEncoder().encode(JSON.stringify(event)) }),
  );
  const text = new TextDecoder().decode(out.Payload);
  if (out.FunctionError) {
    console.error(`✖ the compact function failed: ${text}`);
    process.exit(1);
  }
  console.log(JSON.stringify(JSON.parse(text), null, 2));
} catch (err) {
  console.error(`✖ could not reach the local stack at ${url} (${(err as Error).message}); start it with npm start, or set STRATA_URL`);
  process.exit(1);
}
