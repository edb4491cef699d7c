/**
 * `npm start`: the local stack with data under STRATA_DATA_DIR (default `.data/`),
 * serving HTTP API v1 on PORT (default 4510). Ctrl-C stops the emulators cleanly; after
 * a SIGKILL the next start kills the orphaned DynamoDB Local and reopens the same data.
 * STRATA_DYNAMODB_ENDPOINT points it at a DynamoDB (Local) already running instead, which
 * it neither starts nor stops (the chaos suite's, which outlives the server's SIGKILLs as
 * DynamoDB outlives a crashed Lambda).
 */
import { resolve } from 'node:path';
import { type Sequencing, sequencing } from '../functions/shared/env.js';
import { type ChaosSpec, chaosSpecFromEnv, installChaos } from './chaos.js';
import { checkJava } from './emulators.js';
import { startLocalStack } from './stack.js';

const DEFAULT_PORT = 4510;
/** How often the local schedule runs the compact function (the CDK default is 5 minutes). */
const DEFAULT_COMPACT_INTERVAL_MS = 60_000;

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// The SDK's notice that its 2027 releases need Node 22 is not actionable for `npm start`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const dataDir = resolve(process.env.STRATA_DATA_DIR || '.data');
  const port = parsePort(process.env.PORT);
  let chaos: ChaosSpec | undefined;
  try {
    chaos = chaosSpecFromEnv(process.env.STRATA_CHAOS);
    await checkJava();
  } catch (err) {
    console.error(`\n✖ ${(err as Error).message}\n`);
    process.exit(1);
  }
  console.log(`Starting Strata (data in ${dataDir}) …`);
  const compactIntervalMs = Number(process.env.STRATA_COMPACT_INTERVAL_MS || DEFAULT_COMPACT_INTERVAL_MS);
  const stack = await startLocalStack({
    dataDir,
    port,
    compactIntervalMs,
    // A DynamoDB (Local) already running, which outlives this process: nothing is started for it.
    ...(process.env.STRATA_DYNAMODB_ENDPOINT
      ? { dynamoEndpoint: parseEndpoint(process.env.STRATA_DYNAMODB_ENDPOINT, 'STRATA_DYNAMODB_ENDPOINT') }
      : process.env.STRATA_DYNAMODB_PORT
        ? { dynamoPort: parsePort(process.env.STRATA_DYNAMODB_PORT) }
        : {}),
    ...(process.env.STRATA_S3_PORT ? { s3Port: parsePort(process.env.STRATA_S3_PORT) } : {}),
    // Requests served by several independent engines, as by separate Lambda environments.
    ...(process.env.STRATA_LOCAL_ENGINES ? { engines: parseEngines(process.env.STRATA_LOCAL_ENGINES) } : {}),
    ...(process.env.STRATA_SEQUENCING ? { engine: { sequencing: parseSequencing(process.env.STRATA_SEQUENCING) } } : {}),
    // The S3 Express staging tier's stand-in (a second s3rver bucket): off by default, as
    // the construct's stagingAvailabilityZoneId is (docs/design.md, "The staging tier").
    ...(process.env.STRATA_STAGING ? { staging: parseStaging(process.env.STRATA_STAGING) } : {}),
    // Tail items expire by DynamoDB TTL a day after their append, as deployed; the chaos
    // suite sets a short TTL so that items expire during its run.
    ...(process.env.STRATA_TAIL_TTL_MS ? { tailTtlMs: parseTailTtl(process.env.STRATA_TAIL_TTL_MS) } : {}),
    // The push endpoint (ws://…/v1/push) is on unless STRATA_PUSH=off; STRATA_PUSH_PING_MS
    // sets how often consumers ping (the fallback for a lost notification; 2 minutes as deployed).
    ...(process.env.STRATA_PUSH || process.env.STRATA_PUSH_PING_MS
      ? { push: parsePush(process.env.STRATA_PUSH, process.env.STRATA_PUSH_PING_MS) }
      : {}),
    // The chaos suite's record of sealed gaps (local/stack.ts, voidLog).
    ...(process.env.STRATA_VOID_LOG ? { voidLog: process.env.STRATA_VOID_LOG } : {}),
    // The chaos suite (test/chaos/) makes the real DynamoDB and S3 calls fail on purpose.
    ...(chaos ? { instrumentClients: (clients) => void installChaos(clients, chaos) } : {}),
  });
  if (chaos) console.log(`Chaos: injecting faults into ${chaos.services.join(' and ')} calls (STRATA_CHAOS)`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulators …`);
    await stack.stop();
    console.log('Stopped. Your data is kept in', dataDir);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const u = stack.url;
  console.log(`
Strata is running at ${u}

  DynamoDB Local  ${stack.dynamoEndpoint}  (table ${stack.tableName})
  S3 (s3rver)     ${stack.s3Endpoint}  (bucket ${stack.bucketName}${stack.stagingBucketName ? `; staging tier in ${stack.stagingBucketName}` : ''})
  data            ${dataDir}
  compaction      every ${compactIntervalMs / 1000} s (STRATA_COMPACT_INTERVAL_MS), and when a tail passes flushBytes
  push            ${stack.push ? `${u.replace(/^http/, 'ws')}/v1/push  (consumers wait here instead of long-polling; STRATA_PUSH=off)` : 'off (STRATA_PUSH=off): consumers long-poll'}
  function URLs   append ${stack.functionUrls.appendUrl}, read ${stack.functionUrls.readUrl}
                  (as deployed with endpoints function-urls: reads there stream up to 64 MiB)

Try it:
  curl -s -X POST ${u}/v1/topics -H 'content-type: application/json' -d '{"name":"orders","partitions":3}'
  curl -s -X POST ${u}/v1/topics/orders/records -H 'content-type: application/json' \\
       -d '{"records":[{"key":"customer-1","value":"hello"}]}'
  curl -s '${u}/v1/topics/orders/partitions/0/records?offset=0&waitMs=5000'

Press Ctrl-C to stop.`);
}

function parseSequencing(value: string): Sequencing {
  try {
    return sequencing({ STRATA_SEQUENCING: value }, 'STRATA_SEQUENCING');
  } catch (err) {
    console.error(`✖ ${(err as Error).message}`);
    process.exit(1);
  }
}

/** STRATA_STAGING: `express` turns the staging tier on, `off` (or unset) leaves it off. */
function parseStaging(value: string): boolean {
  if (value === 'express' || value === 'off') return value === 'express';
  console.error(`✖ STRATA_STAGING must be 'express' (the S3 Express staging tier, in a second s3rver bucket) or 'off'; got '${value}'`);
  process.exit(1);
}

/** STRATA_TAIL_TTL_MS: ms (at least 1000; a deployment takes an hour or more), or `off` for deletes after each flush. */
function parseTailTtl(value: string): number | null {
  if (value === 'off') return null;
  const ms = Number(value);
  if (Number.isInteger(ms) && ms >= 1000) return ms;
  console.error(`✖ STRATA_TAIL_TTL_MS must be a whole number of ms (at least 1000) or 'off'; got '${value}'`);
  process.exit(1);
}

/** STRATA_PUSH: `on` (the default) or `off`; STRATA_PUSH_PING_MS: the consumers' ping interval, ms (at least 100). */
function parsePush(value: string | undefined, pingMs: string | undefined): false | { pingIntervalMs?: number } {
  if (value !== undefined && value !== 'on' && value !== 'off') {
    console.error(`✖ STRATA_PUSH must be 'on' (the push endpoint at ws://…/v1/push) or 'off'; got '${value}'`);
    process.exit(1);
  }
  if (value === 'off') return false;
  if (pingMs === undefined) return {};
  const ms = Number(pingMs);
  if (Number.isInteger(ms) && ms >= 100) return { pingIntervalMs: ms };
  console.error(`✖ STRATA_PUSH_PING_MS must be a whole number of ms (at least 100); got '${pingMs}'`);
  process.exit(1);
}

function parseEngines(value: string): number {
  const engines = Number(value);
  if (!Number.isInteger(engines) || engines < 1 || engines > 64) {
    console.error(`✖ STRATA_LOCAL_ENGINES must be a whole number from 1 to 64; got '${value}'`);
    process.exit(1);
  }
  return engines;
}

/** An http(s) URL of a service already running (e.g. http://127.0.0.1:8000); exits with a message otherwise. */
function parseEndpoint(value: string, name: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) return value.replace(/\/+$/, '');
  console.error(`✖ ${name} must be an http(s) URL of a running DynamoDB, e.g. http://127.0.0.1:8000; got '${value}'`);
  process.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`✖ PORT must be a number from 0 to 65535; got '${value}'`);
    process.exit(1);
  }
  return port;
}

main().catch((err: unknown) => {
  console.error('✖ Strata could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
