/**
 * Producer throughput: the client library's batching, idempotent producer against the
 * raw HTTP append of the same batches, in the same run on the same local stack.
 *
 * - `client producer`: `producer.send()` of single 1 KiB records as an application would
 *   call it; the producer batches them (batchRecords, lingerMs), stamps producer id,
 *   epoch and sequence, sends one request per batch per partition, one in flight per
 *   partition (the default).
 * - `raw HTTP, same batches`: the same records pre-cut into the same batches, bodies
 *   serialised before the clock starts, POSTed to the partition route one at a time per
 *   partition with a bare keep-alive `node:http` client: the ceiling the producer could
 *   reach (what it costs is batching, JSON encoding, fetch and promise bookkeeping).
 * - `raw HTTP + producer stamps`: the same, with the idempotent producer fields, so the
 *   server-side cost of idempotence (a producer-state item in each commit) shows apart
 *   from the client's cost.
 */
import { randomBytes } from 'node:crypto';
import { Strata } from '../../client/index.js';
import { checkJava, localDynamoClient } from '../../local/emulators.js';
import { startLocalStack } from '../../local/stack.js';
import { BenchHttpClient, expectStatus } from '../harness/http-client.js';
import { formatNumber, formatRatio } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import { resetTable } from '../harness/table.js';
import type { ReportTable } from '../report/report.js';
import { NO_TRIGGERED_FLUSH_BYTES } from './append.js';

export const PRODUCER_VALUE_BYTES = 1024;

export interface ProducerBenchOptions {
  /** Records per measurement. */
  records: number;
  /** Records per request (the producer's batchRecords; the raw suites cut the same batches). */
  batchRecords: number[];
  partitions: number[];
  rounds: number;
}

export interface ProducerMeasurement {
  suite: 'client-producer' | 'raw-http' | 'raw-http-idempotent';
  partitions: number;
  batchRecords: number;
  records: number;
  /** Best round (the machine is shared; the best round is the least disturbed). */
  recordsPerSec: number;
  mbPerSec: number;
  /** Every round's records/s. */
  rounds: number[];
}

export interface ProducerBenchResult {
  config: ProducerBenchOptions & { valueBytes: number };
  measurements: ProducerMeasurement[];
}

export interface ProducerBenchContext {
  url: string;
  resetTable: () => Promise<void>;
  log: (line: string) => void;
}

const MB = 1_000_000;

function values(n: number): string[] {
  // Text values (the utf8 encoding, as most JSON events): base64 of random bytes.
  const pool = randomBytes(PRODUCER_VALUE_BYTES * 64).toString('base64');
  return Array.from({ length: n }, (_, i) => {
    const start = (i * 97) % (pool.length - PRODUCER_VALUE_BYTES);
    return pool.slice(start, start + PRODUCER_VALUE_BYTES);
  });
}

async function createTopic(strata: Strata, name: string, partitions: number): Promise<void> {
  await strata.createTopic(name, { partitions, config: { flushBytes: NO_TRIGGERED_FLUSH_BYTES } });
}

async function runClient(url: string, topic: string, partitions: number, batchRecords: number, data: string[]): Promise<number> {
  const strata = new Strata({ url });
  const producer = strata.producer({ batchRecords, lingerMs: 5, batchBytes: 4 * 1024 * 1024 });
  const started = performance.now();
  const sends: Promise<unknown>[] = [];
  for (const [i, value] of data.entries()) sends.push(producer.send(topic, { value, partition: i % partitions }));
  await Promise.all(sends);
  await producer.close();
  return performance.now() - started;
}

async function runRaw(
  url: string,
  topic: string,
  partitions: number,
  batchRecords: number,
  data: string[],
  idempotent: boolean,
): Promise<number> {
  const client = new BenchHttpClient(url, partitions);
  const bodies: Buffer[][] = Array.from({ length: partitions }, () => []);
  for (let p = 0; p < partitions; p++) {
    const mine = data.filter((_, i) => i % partitions === p);
    for (let i = 0, sequence = 0; i < mine.length; i += batchRecords) {
      const records = mine.slice(i, i + batchRecords).map((value) => ({ value }));
      const body: Record<string, unknown> = { records };
      if (idempotent) body.producer = { producerId: `bench-${topic}`, epoch: 0, sequence };
      sequence += records.length;
      bodies[p]!.push(Buffer.from(JSON.stringify(body)));
    }
  }
  const started = performance.now();
  await Promise.all(
    bodies.map(async (list, p) => {
      for (const body of list) expectStatus(await client.post(`/v1/topics/${topic}/partitions/${p}/records`, body), 200, 'raw append');
    }),
  );
  const elapsed = performance.now() - started;
  client.close();
  return elapsed;
}

export async function runProducerBench(ctx: ProducerBenchContext, options: ProducerBenchOptions): Promise<ProducerBenchResult> {
  const strata = new Strata({ url: ctx.url });
  const data = values(options.records);
  const measurements: ProducerMeasurement[] = [];
  let topicNo = 0;
  for (const partitions of options.partitions) {
    for (const batchRecords of options.batchRecords) {
      const rounds: Record<ProducerMeasurement['suite'], number[]> = { 'client-producer': [], 'raw-http': [], 'raw-http-idempotent': [] };
      for (let round = 0; round < options.rounds; round++) {
        // Suites alternate within a round, each on an emptied table and a fresh topic.
        for (const suite of Object.keys(rounds) as ProducerMeasurement['suite'][]) {
          await ctx.resetTable();
          const topic = `bench-producer-${topicNo++}`;
          await createTopic(strata, topic, partitions);
          const ms =
            suite === 'client-producer'
              ? await runClient(ctx.url, topic, partitions, batchRecords, data)
              : await runRaw(ctx.url, topic, partitions, batchRecords, data, suite === 'raw-http-idempotent');
          rounds[suite].push((options.records / ms) * 1000);
        }
      }
      for (const [suite, list] of Object.entries(rounds) as [ProducerMeasurement['suite'], number[]][]) {
        const best = Math.max(...list);
        const m: ProducerMeasurement = {
          suite,
          partitions,
          batchRecords,
          records: options.records,
          recordsPerSec: best,
          mbPerSec: (best * PRODUCER_VALUE_BYTES) / MB,
          rounds: list,
        };
        measurements.push(m);
        ctx.log(
          `  ${suite.padEnd(20)} P=${partitions} batch=${batchRecords}: ${formatNumber(best)} records/s, ${m.mbPerSec.toFixed(2)} MB/s (rounds ${list.map((r) => formatNumber(r)).join(', ')})`,
        );
      }
    }
  }
  return { config: { ...options, valueBytes: PRODUCER_VALUE_BYTES }, measurements };
}

const LABELS: Record<ProducerMeasurement['suite'], string> = {
  'client-producer': 'client producer (idempotent)',
  'raw-http': 'raw HTTP, same batches',
  'raw-http-idempotent': 'raw HTTP + producer stamps',
};

export function producerTables(result: ProducerBenchResult): ReportTable[] {
  const rows = result.measurements.map((m) => {
    const raw = result.measurements.find(
      (r) => r.suite === 'raw-http' && r.partitions === m.partitions && r.batchRecords === m.batchRecords,
    )!;
    return [
      LABELS[m.suite],
      String(m.partitions),
      String(m.batchRecords),
      formatNumber(m.recordsPerSec),
      m.mbPerSec.toFixed(2),
      formatRatio(m.recordsPerSec / raw.recordsPerSec),
      m.rounds.map((r) => formatNumber(r)).join(' / '),
    ];
  });
  return [
    {
      title: `Producer throughput: ${formatNumber(result.config.records)} records of ${result.config.valueBytes} B per row`,
      columns: ['suite', 'partitions', 'records/request', 'records/s', 'MB/s', 'vs raw', 'rounds records/s'],
      rows,
      notes: [`Each row: the best of ${result.config.rounds} rounds.`],
    },
  ];
}

export const producerSuite = defineSuite({
  name: 'producer',
  title: 'Client producer',
  measures: "the client library's producer against raw HTTP appends (own local stack)",
  /** Records per row, batch sizes, partitions. */
  full: { records: 40_000, batchRecords: [100, 300], partitions: [1, 4], rounds: 3 },
  quick: { records: 6_000, batchRecords: [100], partitions: [1, 4], rounds: 1 },
  start: 'client producer vs raw HTTP append',
  async measure(options, ctx) {
    await checkJava();
    const stack = await startLocalStack({ port: 0 });
    const dynamo = localDynamoClient(stack.dynamoEndpoint);
    try {
      return await runProducerBench({ url: stack.url, resetTable: () => resetTable(dynamo, stack.tableName), log: ctx.log }, options);
    } finally {
      dynamo.destroy();
      await stack.stop();
    }
  },
  render: (result) => ({ tables: producerTables(result) }),
});
