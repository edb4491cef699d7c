/**
 * Key compaction throughput: one partition's segments compacted by the engine, next to
 * the raw S3 primitive it is built on, measured in the same run on the same bytes: a GET
 * of every input segment and a PUT of the same bytes (what a compaction that removed
 * nothing would have to move at least).
 *
 * The partition holds `fillMiB` of 1 KiB values under keys drawn at random from half as
 * many keys as records, so about 57% of the records are superseded and most batches are
 * re-encoded without them; all segments are dirty (just flushed) and older than the lag.
 *
 * Runs by itself (`npm run bench -- --only compaction`): it starts its own DynamoDB Local
 * and s3rver, with a fresh table and bucket per round.
 */
import { performance } from 'node:perf_hooks';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { LogEngine } from '../../lib/engine.js';
import type { PartitionRef } from '../../lib/ports/model.js';
import { seededRandom } from '../../local/chaos.js';
import { ensureBucket, ensureTable } from '../../local/emulators.js';
import { startOwnEmulators } from '../harness/own-emulators.js';
import { ResourceMeter, type ResourceUsage } from '../harness/resources.js';
import { formatNumber, formatPercent, formatRatio } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

const KIB = 1024;
const MB = 1_000_000;
const VALUE_BYTES = KIB;
const RECORDS_PER_APPEND = 100;
export const AIM_COMPACTION_RAW_RATIO = 0.5;

export interface CompactionBenchOptions {
  rounds: number;
  fillMiB: number;
}

export interface CompactionRound {
  segmentsIn: number;
  segmentsOut: number;
  inputBytes: number;
  outputBytes: number;
  records: number;
  recordsRemoved: number;
  compactMs: number;
  compactResources: ResourceUsage;
  rawMs: number;
  rawResources: ResourceUsage;
  /** The compacted partition holds exactly the latest record of every key. */
  verified: boolean;
}

export interface CompactionBenchResult {
  options: CompactionBenchOptions & { valueBytes: number; recordsPerAppend: number; segmentBytes: number };
  rounds: CompactionRound[];
  compactMBps: number;
  rawMBps: number;
  ratio: number;
}

export async function runCompactionBench(options: CompactionBenchOptions, log: (line: string) => void): Promise<CompactionBenchResult> {
  const emulators = await startOwnEmulators('compaction');
  const { dynamo } = emulators;
  const s3 = emulators.s3Client();
  const meter = new ResourceMeter();
  const rounds: CompactionRound[] = [];
  let segmentBytes = 0;
  try {
    for (let round = 0; round < options.rounds; round++) {
      const table = `bench-compaction-${round}`;
      const bucket = `bench-compaction-${round}`;
      await Promise.all([ensureTable(dynamo, table), ensureBucket(s3, bucket)]);
      const store = new DynamoLogStore(dynamo, table);
      const objects = new S3ObjectStore(s3, bucket);
      const engine = new LogEngine({ store, objects });
      const meta = await engine.topics.create({ name: 'table', config: { cleanupPolicy: 'compact', flushBytes: 1024 * 1024 * 1024 } });
      segmentBytes = meta.config.segmentBytes;
      const ref: PartitionRef = { topic: meta.name, topicId: meta.topicId, partition: 0 };

      const records = Math.floor((options.fillMiB * 1024 * KIB) / VALUE_BYTES);
      const distinct = Math.max(1, Math.floor(records / 2));
      const random = seededRandom(round + 1);
      const latest = new Map<string, string>();
      const value = new Uint8Array(VALUE_BYTES);
      for (let i = 0; i < records; i += RECORDS_PER_APPEND) {
        const batch = Array.from({ length: Math.min(RECORDS_PER_APPEND, records - i) }, (_, j) => {
          const key = `key-${Math.floor(random() * distinct)}`;
          const stamp = `${i + j}`;
          latest.set(key, stamp);
          const v = value.slice();
          new TextEncoder().encodeInto(stamp, v);
          return { key: new TextEncoder().encode(key), value: v };
        });
        await engine.appender.appendToPartition('table', 0, { records: batch });
      }
      for (;;) {
        const flushed = await engine.flusher!.flushPartition(meta, 0, { force: true, maxSegments: 64 });
        if (flushed.segments === 0) break;
      }
      const manifests = await store.listSegments(ref, 0, Infinity);
      const inputBytes = manifests.reduce((n, m) => n + m.bytes, 0);
      log(`  round ${round + 1}: ${formatNumber(records)} records in ${manifests.length} segments (${(inputBytes / MB).toFixed(1)} MB)`);

      // The raw primitive: GET every input segment whole and PUT the same bytes back.
      let stop = meter.start();
      let started = performance.now();
      for (const [i, m] of manifests.entries()) {
        const data = await objects.get(m.key);
        await objects.put(`bench-raw/${i}`, data);
      }
      const rawMs = performance.now() - started;
      const rawResources = stop();

      stop = meter.start();
      started = performance.now();
      const result = await engine.maintenance!.compactor.compact(meta, ref, manifests, { maxPassBytes: Number.POSITIVE_INFINITY });
      const compactMs = performance.now() - started;
      const compactResources = stop();

      const read = [];
      let offset = 0;
      for (;;) {
        const page = await engine.reader.read('table', 0, { offset, maxRecords: 10_000, maxBytes: 5 * 1024 * 1024 });
        read.push(...page.records);
        if (page.nextOffset >= page.highWatermark) break;
        offset = page.nextOffset;
      }
      const decoder = new TextDecoder();
      const verified =
        read.length === latest.size &&
        read.every((r) => latest.get(decoder.decode(r.key!)) === decoder.decode(r.value!).replace(/\0+$/, ''));
      rounds.push({
        segmentsIn: result.segmentsIn,
        segmentsOut: result.segmentsOut,
        inputBytes,
        outputBytes: result.bytesOut,
        records,
        recordsRemoved: result.recordsRemoved,
        compactMs,
        compactResources,
        rawMs,
        rawResources,
        verified,
      });
      log(
        `    compaction ${(inputBytes / MB / (compactMs / 1000)).toFixed(1)} MB/s, raw GET+PUT ${(inputBytes / MB / (rawMs / 1000)).toFixed(1)} MB/s, verified: ${verified}`,
      );
    }
  } finally {
    await emulators.stop();
  }
  const bytes = rounds.reduce((n, r) => n + r.inputBytes, 0);
  const compactMBps = bytes / MB / (rounds.reduce((n, r) => n + r.compactMs, 0) / 1000);
  const rawMBps = bytes / MB / (rounds.reduce((n, r) => n + r.rawMs, 0) / 1000);
  return {
    options: { ...options, valueBytes: VALUE_BYTES, recordsPerAppend: RECORDS_PER_APPEND, segmentBytes },
    rounds,
    compactMBps,
    rawMBps,
    ratio: compactMBps / rawMBps,
  };
}

export function compactionTables(result: CompactionBenchResult): ReportTable[] {
  const mbps = (bytes: number, ms: number) => (bytes / MB / (ms / 1000)).toFixed(1);
  const rows = result.rounds.flatMap((r, i) => [
    [
      `${i + 1}: Strata compaction`,
      mbps(r.inputBytes, r.compactMs),
      (r.compactMs / 1000).toFixed(2),
      `${r.segmentsIn} → ${r.segmentsOut}`,
      `${(r.inputBytes / MB).toFixed(1)} → ${(r.outputBytes / MB).toFixed(1)}`,
      `${formatNumber(r.recordsRemoved)} of ${formatNumber(r.records)}`,
      formatPercent(r.compactResources.nodeCores),
      r.verified ? 'yes' : 'NO',
    ],
    [
      `${i + 1}: raw S3 GET + PUT of the same objects`,
      mbps(r.inputBytes, r.rawMs),
      (r.rawMs / 1000).toFixed(2),
      `${r.segmentsIn} GETs, ${r.segmentsIn} PUTs`,
      '',
      '',
      formatPercent(r.rawResources.nodeCores),
      '',
    ],
  ]);
  return [
    {
      title: `Key compaction of one partition: ${result.options.fillMiB} MiB of ${result.options.valueBytes} B values, keys drawn from half as many keys as records`,
      columns: ['round: measure', 'MB/s of input', 's', 'segments', 'MB in → out', 'records removed', 'Node CPU', 'verified'],
      rows,
    },
    {
      title: 'Ratio (same bytes, time of the raw primitive over Strata’s)',
      columns: ['ratio', 'value', 'aim', 'met'],
      rows: [
        [
          'compaction / raw S3 GET + PUT',
          formatRatio(result.ratio),
          `≥ ${formatRatio(AIM_COMPACTION_RAW_RATIO)}`,
          result.ratio >= AIM_COMPACTION_RAW_RATIO ? 'yes' : 'NO',
        ],
      ],
    },
  ];
}

export const compactionSuite = defineSuite({
  name: 'compaction',
  title: 'Key compaction',
  measures: "key compaction of one partition's segments, beside raw S3 reads and writes",
  /** Rounds on a partition of `fillMiB` of values. */
  full: { rounds: 2, fillMiB: 64 },
  quick: { rounds: 1, fillMiB: 12 },
  start: 'key compaction',
  measure: (options, ctx) => runCompactionBench(options, ctx.log),
  render: (result) => ({ tables: compactionTables(result) }),
});
