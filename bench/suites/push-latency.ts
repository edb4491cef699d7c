/**
 * Append → consumer delivery through the push path (issue 14), against the raw write
 * round trip measured in the same run. A producer appends one small record at a time
 * over HTTP; a consumer in another process (bench/suites/push-consumer.ts), caught up and
 * waiting on its push channel, is notified, reads, and reports when the client handed it
 * the record. Each sample starts on an idle partition (the settle pause outlasts the
 * quiet interval and the consumer's trailing read), so it measures one notification.
 *
 * Two settings, each on its own local stack with the reserving sequencer (as deployed):
 * - `local`: the emulators as they are. Beside push, the same consumer long-polling (one
 *   engine, so the in-process wake-up ends its poll: long-polling's best case).
 * - `aws`: the AWS latency model. DynamoDB calls pay bench/harness/latency-model.ts (6 ms, 12 for
 *   a transaction); every HTTP request pays API_HTTP_MS and every `@connections` POST
 *   POST_TO_CONNECTION_MS (half on the way there, half back), the per-hop figures below.
 *
 * Raw write round trip: one TransactWriteItems of the head and a tail item with the same
 * record (bench/harness/raw-commit.ts, the primitive an append maps to), through the same
 * DynamoDB client and so the same model.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import type { ConnectionPoster } from '../../lib/push/fanout.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { DEFAULT_LATENCY_MODEL, describeLatencyModel, installLatencyModel } from '../harness/latency-model.js';
import { RawCommitter } from '../harness/raw-commit.js';
import { formatMs, type LatencySummary, summarize } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

/**
 * The AWS model's HTTP hop, ms per request: client → API Gateway HTTP API → a warm
 * Lambda → back, over the function's own time. Not published by AWS; 20 ms is the
 * estimate used here (API Gateway's integration overhead is commonly measured at 5–15
 * ms for HTTP APIs, a warm synchronous invoke adds a few ms). A consumer outside the
 * region adds its own round trip to both paths alike.
 */
export const API_HTTP_MS = 20;
/**
 * The AWS model's `@connections` POST from the append function, ms for the round trip;
 * the frame reaches the client after the first half. Not published either; 20 ms is an
 * estimate of the same order as the HTTP hop (an API Gateway management call in region).
 */
export const POST_TO_CONNECTION_MS = 20;
/** The quiet interval of the stacks here (DEFAULT_PUSH_QUIET_MS). */
const QUIET_MS = 50;
/** Pause between samples: past the quiet interval and the trailing read it schedules. */
const SETTLE_MS = 150;
const WARMUP = 10;
const VALUE_BYTES = 100;
/** A record too large to ride in its notification (PUSH_INLINE_MAX_BYTES): the consumer reads it. */
const LARGE_VALUE_BYTES = 20 * 1024;

export interface PushLatencyOptions {
  samples: number;
}

export interface PushLatencyRun {
  setting: 'local' | 'aws';
  consumer: 'push' | 'long-poll';
  /** Bytes of each record's value: above 16 KiB the notification carries no records and the consumer reads. */
  valueBytes: number;
  /** Start of the append request → the consumer process has the record. */
  delivery: LatencySummary;
  /** Start of the append request → its acknowledgement. */
  ack: LatencySummary;
  /** Every record reached the consumer, in order, once. */
  verified: boolean;
}

export interface PushLatencyResult {
  config: PushLatencyOptions & { quietMs: number; settleMs: number; apiHttpMs: number; postToConnectionMs: number; dynamoModel: string };
  runs: PushLatencyRun[];
  raw: Record<'local' | 'aws', LatencySummary>;
}

const now = () => performance.timeOrigin + performance.now();

export async function runPushLatencyBench(options: PushLatencyOptions, log: (line: string) => void): Promise<PushLatencyResult> {
  const runs: PushLatencyRun[] = [];
  const raw = {} as PushLatencyResult['raw'];
  for (const setting of ['local', 'aws'] as const) {
    const aws = setting === 'aws';
    let dynamo: DynamoDBClient | undefined;
    const stack = await startLocalStack({
      // As deployed: the reserving sequencer (the construct's default).
      engine: { sequencing: 'reserve' },
      push: { quietMs: QUIET_MS, ...(aws ? { wrapPoster: modelledPoster } : {}) },
      instrumentClients: (clients) => {
        dynamo = clients.dynamo;
        if (aws) installLatencyModel(clients.dynamo, DEFAULT_LATENCY_MODEL);
      },
    });
    try {
      raw[setting] = await rawRoundTrips(dynamo!, stack.tableName, options.samples);
      log(`  ${setting}: raw TransactWriteItems p50 ${formatMs(raw[setting].p50)}, p99 ${formatMs(raw[setting].p99)}`);
      const cases: { consumer: PushLatencyRun['consumer']; valueBytes: number }[] = [
        { consumer: 'push', valueBytes: VALUE_BYTES },
        { consumer: 'push', valueBytes: LARGE_VALUE_BYTES },
        ...(aws ? [] : [{ consumer: 'long-poll' as const, valueBytes: VALUE_BYTES }]),
      ];
      for (const { consumer, valueBytes } of cases) {
        const run = await deliveryRun(stack, setting, consumer, aws ? API_HTTP_MS : 0, options.samples, valueBytes);
        runs.push(run);
        log(
          `  ${setting} ${consumer} ${valueBytes} B: delivery p50 ${formatMs(run.delivery.p50)}, p99 ${formatMs(run.delivery.p99)}; ack p50 ${formatMs(run.ack.p50)}`,
        );
      }
    } finally {
      await stack.stop();
    }
  }
  return {
    config: {
      ...options,
      quietMs: QUIET_MS,
      settleMs: SETTLE_MS,
      apiHttpMs: API_HTTP_MS,
      postToConnectionMs: POST_TO_CONNECTION_MS,
      dynamoModel: describeLatencyModel(DEFAULT_LATENCY_MODEL),
    },
    runs,
    raw,
  };
}

/** The AWS model's `@connections` hop around the local socket's send. */
function modelledPoster(poster: ConnectionPoster): ConnectionPoster {
  return {
    async post(id, message) {
      await sleep(POST_TO_CONNECTION_MS / 2);
      const outcome = await poster.post(id, message);
      await sleep(POST_TO_CONNECTION_MS / 2);
      return outcome;
    },
  };
}

async function rawRoundTrips(dynamo: DynamoDBClient, tableName: string, samples: number): Promise<LatencySummary> {
  const record = { key: null, value: randomBytes(VALUE_BYTES), headers: [], timestamp: Date.now() };
  const committer = new RawCommitter(DynamoDBDocumentClient.from(dynamo), {
    tableName,
    pkPrefix: `BENCH#push-raw#${Date.now()}`,
    batch: encodeBatch([record], { baseOffset: 0 }),
    recordsPerBatch: 1,
    batchesPerCommit: 1,
    contended: false,
  });
  const times: number[] = [];
  for (let i = 0; i < WARMUP + samples; i++) {
    const started = performance.now();
    await committer.commit(0);
    if (i >= WARMUP) times.push(performance.now() - started);
    await sleep(20);
  }
  return summarize(times);
}

async function deliveryRun(
  stack: LocalStack,
  setting: 'local' | 'aws',
  consumer: 'push' | 'long-poll',
  httpMs: number,
  samples: number,
  valueBytes: number,
): Promise<PushLatencyRun> {
  const topic = `bench-push-${setting}-${consumer}-${valueBytes}`;
  const http = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    if (httpMs > 0) await sleep(httpMs / 2);
    const response = await fetch(`${stack.url}${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    const json = (await response.json()) as unknown;
    if (httpMs > 0) await sleep(httpMs / 2);
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return { status: response.status, json };
  };
  await http('POST', '/v1/topics', { name: topic, partitions: 1 });
  const child = spawnConsumer(stack.url, topic, consumer, httpMs);
  const lines = createInterface({ input: child.process.stdout! });
  const arrivals = new Map<number, number>();
  const waiters = new Map<number, (at: number) => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const seen: number[] = [];
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { ready?: boolean; offset?: number; at?: number };
    if (message.ready) return ready();
    seen.push(message.offset!);
    arrivals.set(message.offset!, message.at!);
    waiters.get(message.offset!)?.(message.at!);
  });
  const delivery: number[] = [];
  const ack: number[] = [];
  try {
    await Promise.race([isReady, child.exited.then(() => Promise.reject(new Error(`the consumer exited early: ${child.stderr()}`)))]);
    for (let i = 0; i < WARMUP + samples; i++) {
      const value = randomBytes(valueBytes).toString('base64');
      const started = now();
      const answer = (await http('POST', `/v1/topics/${topic}/partitions/0/records`, { records: [{ value }], encoding: 'base64' }))
        .json as {
        offsets: { offset: number }[];
      };
      const acked = now();
      const offset = answer.offsets[0]!.offset;
      const arrived =
        arrivals.get(offset) ??
        (await Promise.race([
          new Promise<number>((resolve) => waiters.set(offset, resolve)),
          sleep(30_000).then(() => Promise.reject(new Error(`offset ${offset} did not reach the ${consumer} consumer in 30 s`))),
        ]));
      if (i >= WARMUP) {
        delivery.push(arrived - started);
        ack.push(acked - started);
      }
      await sleep(SETTLE_MS);
    }
  } finally {
    child.process.kill();
    await child.exited;
  }
  const verified = seen.length === WARMUP + samples && seen.every((o, i) => o === i);
  return { setting, consumer, valueBytes, delivery: summarize(delivery), ack: summarize(ack), verified };
}

function spawnConsumer(url: string, topic: string, mode: string, httpMs: number) {
  const script = fileURLToPath(new URL('./push-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, url, topic, mode, '--http-ms', String(httpMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { process: child as ChildProcess, exited, stderr: () => stderr };
}

export function pushLatencyTables(result: PushLatencyResult): ReportTable[] {
  const rows = result.runs.map((run) => {
    const rawRun = result.raw[run.setting];
    return [
      run.setting === 'aws' ? 'AWS model' : 'local',
      run.consumer === 'push' && run.valueBytes > VALUE_BYTES ? `push, ${run.valueBytes / 1024} KiB records (read)` : run.consumer,
      formatMs(run.delivery.p50),
      formatMs(run.delivery.p99),
      formatMs(run.delivery.max),
      formatMs(run.ack.p50),
      `${formatMs(rawRun.p50)} / ${formatMs(rawRun.p99)}`,
      formatMs(run.delivery.p99 - rawRun.p99),
      run.verified ? 'yes' : '**no**',
    ];
  });
  return [
    {
      title: 'Append → consumer delivery',
      columns: [
        'setting',
        'consumer',
        'delivery p50',
        'p99',
        'max',
        'append ack p50',
        'raw write p50 / p99',
        'delivery p99 − raw p99',
        'all delivered in order',
      ],
      rows,
      notes: [
        `${result.config.samples} samples per row, one record of ${VALUE_BYTES} B at a time (${LARGE_VALUE_BYTES / 1024} KiB where the row says), ${result.config.settleMs} ms apart; quiet interval ${result.config.quietMs} ms.`,
        `AWS model: DynamoDB ${result.config.dynamoModel}; +${result.config.apiHttpMs} ms per HTTP request; +${result.config.postToConnectionMs} ms per @connections POST.`,
      ],
    },
  ];
}

/** The aims, with the measured figures, for the section's text. */
export function pushAims(result: PushLatencyResult): string[] {
  const local = result.runs.find((r) => r.setting === 'local' && r.consumer === 'push' && r.valueBytes === VALUE_BYTES);
  const aws = result.runs.find((r) => r.setting === 'aws' && r.consumer === 'push' && r.valueBytes === VALUE_BYTES);
  const awsLarge = result.runs.find((r) => r.setting === 'aws' && r.consumer === 'push' && r.valueBytes > VALUE_BYTES);
  const lines = ['| aim | measured | met |', '| --- | --- | --- |'];
  if (local) {
    const over = local.delivery.p99 - result.raw.local.p99;
    lines.push(
      `| local: delivery p99 ≤ 20 ms above the raw write round trip's p99 | ${formatMs(local.delivery.p99)} against ${formatMs(result.raw.local.p99)}: ${formatMs(over)} above (p50 ${formatMs(local.delivery.p50 - result.raw.local.p50)} above) | ${over <= 20 ? 'yes' : '**no**'} |`,
    );
  }
  if (aws)
    lines.push(
      `| AWS model: delivery p99 under 100 ms | ${formatMs(aws.delivery.p99)} (p50 ${formatMs(aws.delivery.p50)}) | ${aws.delivery.p99 < 100 ? 'yes' : '**no**'} |`,
    );
  if (awsLarge) {
    lines.push(
      `| AWS model, ${awsLarge.valueBytes / 1024} KiB records (not in the notification: the consumer reads) | ${formatMs(awsLarge.delivery.p99)} (p50 ${formatMs(awsLarge.delivery.p50)}) | ${awsLarge.delivery.p99 < 100 ? 'yes' : '**no**'} |`,
    );
  }
  return lines;
}

export const pushSuite = defineSuite({
  name: 'push',
  title: 'Push',
  measures: 'append → consumer delivery through the push path, beside the raw write round trip',
  /** Samples per setting and consumer. */
  full: { samples: 300 },
  quick: { samples: 60 },
  start: 'push: append → consumer delivery',
  measure: (options, ctx) => runPushLatencyBench(options, ctx.log),
  render: (result) => ({ intro: ['', ...pushAims(result)], tables: pushLatencyTables(result) }),
});
