/**
 * The S3 side of a partition, each next to the raw primitive it is built on, measured
 * in the same run:
 *
 * - flush: one partition's tail (N MiB of 100 × 1 KiB appends) moved into 8 MiB
 *   segments by `flushPartition(force)`, against a raw DynamoDB Query of the same tail
 *   items plus raw S3 PUTs of as many 8 MiB objects holding the same bytes;
 * - catch-up: one consumer reading that partition from offset 0 to the high watermark
 *   at the API's largest page (maxBytes 5 MiB, maxRecords 10,000), through HTTP as JSON
 *   and as binary batches (decoded, CRCs checked, by the client) and through the engine
 *   API, against raw ranged GETs replaying exactly the GETs each HTTP read made;
 * - tail reads: a consumer reading a partition's DynamoDB tail at the client's page
 *   (maxRecords 500), as JSON and as binary batches;
 * - staged appends: 1 MiB batches (staged in S3 above the topic's stageBytes) against
 *   64 KiB batches written inline to the DynamoDB tail, through HTTP at C = 1 and 4.
 *
 * Every round starts from an emptied table and bucket: DynamoDB Local slows down as its
 * table grows (bench/harness/table.ts), and an emptied bucket keeps a full run's disk use to
 * one round's data.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { partitionPk, TAIL_PREFIX } from '../../lib/aws/table-keys.js';
import { MAX_STREAMED_READ_MAX_BYTES, MAX_STREAMED_READ_MAX_RECORDS, MAX_TAIL_ITEM_BYTES } from '../../lib/core/constants.js';
import type { LogEngine } from '../../lib/engine.js';
import { BATCHES_MEDIA_TYPE, decodeFrame } from '../../lib/format/batch-frame.js';
import type { PartitionRef, TopicMeta } from '../../lib/ports/model.js';
import type { ObjectStore } from '../../lib/ports/object-store.js';
import { LOCAL_FUNCTION_URL_PATHS } from '../../local/server.js';
import { BenchHttpClient, expectStatus } from '../harness/http-client.js';
import { type LoadResult, mergeLoadResults, runClosedLoop } from '../harness/load.js';
import type { CallBreakdown, CallMeter, ObjectGet } from '../harness/metered-stores.js';
import type { ResourceMeter, ResourceUsage } from '../harness/resources.js';
import { ResourceMeter as Meter, meanUsage, RESOURCE_COLUMNS, resourceCells } from '../harness/resources.js';
import type { StackBenchContext } from '../harness/shared-stack.js';
import { formatMs, formatNumber, formatPercent, formatRatio } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';
import { NO_TRIGGERED_FLUSH_BYTES, RECORDS_PER_REQUEST, VALUE_BYTES } from './append.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Throughputs here are in MB/s (10^6 bytes), as S3 and DynamoDB quote theirs. */
const MB = 1_000_000;
const SECOND = 1000;

/** The API's largest read page (MAX_READ_MAX_BYTES, MAX_READ_MAX_RECORDS). */
const READ_MAX_BYTES = 5 * MIB;
const READ_MAX_RECORDS = 10_000;
/** The streamed read function URL's largest page (MAX_STREAMED_READ_MAX_BYTES, MAX_STREAMED_READ_MAX_RECORDS). */
const STREAMED_READ_MAX_BYTES = MAX_STREAMED_READ_MAX_BYTES;
const STREAMED_READ_MAX_RECORDS = MAX_STREAMED_READ_MAX_RECORDS;
/** Appends in flight while the tail fills: enough for group commit to keep DynamoDB Local busy. */
const FILL_CONCURRENCY = 4;
/** Distinct sets of record values the fill rotates through. */
const FILL_VARIANTS = 8;
/**
 * The fixed Limit the engine used per tail Query page before it sized pages from the items
 * seen (TAIL_QUERY_MAX_PAGE_ITEMS in lib/aws/dynamo-log-store.ts is still its cap): kept as
 * a row to show what a too-large Limit costs on DynamoDB Local.
 */
const ENGINE_TAIL_PAGE_ITEMS = 100;
/**
 * The raw Query's Limit per page. DynamoDB stops a page at 1 MB whatever the Limit, and
 * these tail items hold 100 KB or more, so 10 items already fill a page: on DynamoDB a
 * Limit of 10 or 100 makes the same pages. On DynamoDB Local a page costs more the
 * higher the Limit, as if it read Limit items before cutting the page at 1 MB: on a
 * 68 MB tail of ~200 KB items a page took 185 ms with no Limit, 85 ms with 100, 37 ms
 * with 25 and 31 ms with 10, for the same 55 pages.
 */
const RAW_TAIL_PAGE_ITEMS = 10;
/** The raw PUTs' objects: apart from every key the engine writes. */
const RAW_OBJECT_PREFIX = 'bench-raw/';
/**
 * An unmeasured round on this many MiB first, so that the first measured round does not
 * pay for cold code: the first catch-up over HTTP ran at 38 MB/s cold and ~65 MB/s warm.
 */
const WARMUP_FILL_MIB = 8;
/** ListObjectsV2 answers at most 1000 keys per page; s3rver cannot page past the first. */
const LIST_PAGE_KEYS = 1000;

/** Staging: batches above the topic's stageBytes go to S3; 358,400 B is the largest stageBytes (the default until issue 15). */
const STAGE_BYTES = 350 * KIB;
/** A 1 MiB batch per request: 16 records of 64 KiB. */
const STAGED_RECORDS = 16;
const STAGED_VALUE_BYTES = 64 * KIB;
/** A 64 KiB batch per request, well under stageBytes: 64 records of 1 KiB. */
const TAIL_RECORDS = 64;
const TAIL_VALUE_BYTES = KIB;
/** Distinct request bodies per staged-suite shape (1.4 MB each for the 1 MiB shape). */
const STAGED_BODY_VARIANTS = 4;
export const AIM_CATCH_UP_RAW_RATIO = 0.8;
/** Tail reads: MiB of values in the tail, the page a consumer asks for, and rounds of both formats. */
const TAIL_READ = { fillMiB: 16, maxRecords: 500, rounds: 3 };
export const AIM_STAGED_MB_PER_SEC = 10;

export const STAGED_SUITES = ['staged-1mib', 'tail-64kib'] as const;
export type StagedSuiteName = (typeof STAGED_SUITES)[number];

const STAGED_LABELS: Record<StagedSuiteName, string> = {
  'staged-1mib': `staged: ${STAGED_RECORDS} × ${STAGED_VALUE_BYTES / KIB} KiB per request (1 MiB batch)`,
  'tail-64kib': `tail: ${TAIL_RECORDS} × ${TAIL_VALUE_BYTES / KIB} KiB per request (64 KiB batch)`,
};

export interface SegmentBenchOptions {
  /** Rounds of fill → raw Query and PUT → flush → catch-up reads. */
  rounds: number;
  /** MiB of record values each round appends to the partition's tail. */
  fillMiB: number;
  staged: { levels: number[]; rounds: number; warmupMs: number; durationMs: number };
}

export interface SegmentBenchContext extends StackBenchContext {
  /** The engine behind the HTTP API, whose stores report to `calls`. */
  engine: LogEngine;
  /** A client of its own for the raw primitive, apart from the engine's. */
  s3: S3Client;
  bucketName: string;
  calls: CallMeter;
}

/** One timed operation: how long, how much, and what the machine did meanwhile. */
export interface Timed {
  ms: number;
  bytes: number;
  resources: ResourceUsage;
}

export type RawQuery = Timed & { items: number; pages: number; limit: number };

export interface FlushRound {
  fill: Timed & { appends: number; valueBytes: number };
  /** The tail in pages of at most RAW_TAIL_PAGE_ITEMS items: the primitive at its best here. */
  rawQuery: RawQuery;
  /** The same, in pages of at most ENGINE_TAIL_PAGE_ITEMS items, as the flusher asks for. */
  rawQueryEngineLimit: RawQuery;
  rawPut: Timed & { objects: number };
  flush: Timed & { segments: number; records: number; calls: CallBreakdown };
}

export interface CatchUpRead extends Timed {
  records: number;
  /** Value bytes returned (`bytes` is what the reader fetched from S3). */
  valueBytes: number;
  requests: number;
  gets: number;
  calls: CallBreakdown;
  /** HTTP only: time the client spent in JSON.parse, or decoding the frames (CRCs, records). */
  parseMs?: number;
}

/** How an HTTP read travels: JSON with base64 values, or the stored batches. */
export type ReadFormat = 'json' | 'batches';

export interface CatchUpRound {
  http: CatchUpRead;
  /** The same catch-up with Accept: application/vnd.strata.batches. */
  binary: CatchUpRead;
  engine: CatchUpRead;
  rawGet: Timed & { gets: number };
  /** The raw replay of the binary read's GETs. */
  rawGetBinary: Timed & { gets: number };
  /** The binary catch-up through the read function's streamed URL (the local stand-in), at its largest page. */
  streamed: CatchUpRead;
  /** The raw replay of the streamed read's GETs. */
  rawGetStreamed: Timed & { gets: number };
  /** The HTTP and engine reads made the same GETs (same count, same bytes). */
  sameGets: boolean;
}

export interface StagedMeasurement {
  suite: StagedSuiteName;
  concurrency: number;
  requests: number;
  requestsPerSec: number;
  mbPerSec: number;
  roundRange: [number, number];
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  /** S3 PUTs the engine made per request in the window: 1 when staged, 0 inline. */
  putsPerRequest: number;
  resources: ResourceUsage;
  verified: boolean;
}

export interface StagedResult {
  /** False when a 1 MiB append wrote nothing to S3: staging has not landed. */
  available: boolean;
  reason?: string;
  measurements: StagedMeasurement[];
}

/** Tail reads, one format: every read of the tail at the consumer's page. */
export interface TailRead extends Timed {
  format: ReadFormat;
  records: number;
  valueBytes: number;
  requests: number;
  /** Per read, ms. */
  p50Ms: number;
  p99Ms: number;
}

export interface TailReadResult {
  fillMiB: number;
  maxRecords: number;
  json: TailRead[];
  batches: TailRead[];
}

export interface SegmentBenchResult {
  config: SegmentBenchOptions & {
    fillConcurrency: number;
    recordsPerAppend: number;
    valueBytes: number;
    segmentBytes: number;
    readMaxBytes: number;
    readMaxRecords: number;
    streamedReadMaxBytes: number;
    streamedReadMaxRecords: number;
  };
  flush: FlushRound[];
  catchUp: CatchUpRound[];
  tailReads: TailReadResult;
  staged: StagedResult;
  ratios: {
    flushOverRaw: number;
    flushOverRawPut: number;
    flushOverRawQuery: number;
    /** Against the raw Query paged with the engine's Limit, plus the raw PUTs. */
    flushOverRawEngineLimit: number;
    httpOverRawGet: number;
    binaryOverRawGet: number;
    /** The streamed (function URL, 64 MiB pages) binary catch-up against the raw replay of its GETs. */
    streamedOverRawGet: number;
    /** JSON time over binary time for the same catch-up. */
    binaryOverJson: number;
    engineOverRawGet: number;
    httpOverEngine: number;
    stagedOverTail: { concurrency: number; ratio: number }[];
  };
  aims: {
    /** The binary catch-up against the raw replay of its GETs. */
    catchUpRawRatio: { aim: number; actual: number; met: boolean };
    /** Tail reads: binary MB/s over JSON MB/s, aim ≥ 1 (no slower). */
    tailBinaryOverJson: { aim: number; actual: number; met: boolean };
    stagedMbPerSec: { aim: number; actual: number; met: boolean } | undefined;
  };
}

interface ReadPage {
  records: { offset: number; value: string | null }[];
  nextOffset: number;
  highWatermark: number;
}

/** The suites' view of the bucket, apart from the engine's client. */
interface RawBucket {
  objects: ObjectStore;
  /** Deletes every object, a page at a time (s3rver cannot list past one page). */
  empty(): Promise<void>;
}

function rawBucket(s3: S3Client, bucket: string): RawBucket {
  return {
    objects: new S3ObjectStore(s3, bucket),
    async empty() {
      for (;;) {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: LIST_PAGE_KEYS }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) return;
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      }
    },
  };
}

export async function runSegmentBench(ctx: SegmentBenchContext, options: SegmentBenchOptions): Promise<SegmentBenchResult> {
  const raw = rawBucket(ctx.s3, ctx.bucketName);
  const fillValues = Array.from({ length: FILL_VARIANTS }, () =>
    Array.from({ length: RECORDS_PER_REQUEST }, () => ({ key: null, value: new Uint8Array(randomBytes(VALUE_BYTES)) })),
  );
  const freshTopic = async (name: string) => {
    await ctx.resetTable();
    await raw.empty();
    // Batches in tail items (the default stageBytes, 64 KiB, would stage the 100 KiB ones).
    return ctx.engine.topics.create({
      name,
      partitions: 1,
      config: { flushBytes: NO_TRIGGERED_FLUSH_BYTES, stageBytes: MAX_TAIL_ITEM_BYTES },
    });
  };
  ctx.log(`warming up (fill, flush and catch-up of ${WARMUP_FILL_MIB} MiB, not measured)`);
  const warmup = await freshTopic('bench-segments-warmup');
  await flushRound(ctx, raw, warmup, WARMUP_FILL_MIB, fillValues);
  await catchUpRound(ctx, raw, warmup, 0);

  const flush: FlushRound[] = [];
  const catchUp: CatchUpRound[] = [];
  let segmentBytes = Number.NaN;
  for (let round = 0; round < options.rounds; round++) {
    const meta = await freshTopic(`bench-segments-r${round}`);
    segmentBytes = meta.config.segmentBytes;
    const flushed = await flushRound(ctx, raw, meta, options.fillMiB, fillValues);
    flush.push(flushed);
    ctx.log(describeFlush(round, flushed));
    const read = await catchUpRound(ctx, raw, meta, round);
    catchUp.push(read);
    ctx.log(describeCatchUp(round, read));
  }
  const tailReads = await runTailReads(ctx, freshTopic, fillValues);

  const staged = await runStagedSuites(ctx, raw, options.staged);

  const total = (parts: Timed[]) => parts.reduce((sum, p) => sum + p.ms, 0);
  const rawFlushMs = total(flush.map((f) => f.rawQuery)) + total(flush.map((f) => f.rawPut));
  const flushMs = total(flush.map((f) => f.flush));
  const rawGetMs = total(catchUp.map((c) => c.rawGet));
  const httpMs = total(catchUp.map((c) => c.http));
  const binaryMs = total(catchUp.map((c) => c.binary));
  const rawGetBinaryMs = total(catchUp.map((c) => c.rawGetBinary));
  const streamedMs = total(catchUp.map((c) => c.streamed));
  const rawGetStreamedMs = total(catchUp.map((c) => c.rawGetStreamed));
  const engineMs = total(catchUp.map((c) => c.engine));
  const tailRate = (reads: TailRead[]) => reads.reduce((sum, r) => sum + r.valueBytes, 0) / total(reads);
  const tailRatio = tailRate(tailReads.batches) / tailRate(tailReads.json);
  const stagedRate = (suite: StagedSuiteName, c: number) =>
    staged.measurements.find((m) => m.suite === suite && m.concurrency === c)?.mbPerSec ?? Number.NaN;
  const lowest = Math.min(...options.staged.levels);
  const stagedAtLowest = stagedRate('staged-1mib', lowest);
  return {
    config: {
      ...options,
      fillConcurrency: FILL_CONCURRENCY,
      recordsPerAppend: RECORDS_PER_REQUEST,
      valueBytes: VALUE_BYTES,
      segmentBytes,
      readMaxBytes: READ_MAX_BYTES,
      readMaxRecords: READ_MAX_RECORDS,
      streamedReadMaxBytes: STREAMED_READ_MAX_BYTES,
      streamedReadMaxRecords: STREAMED_READ_MAX_RECORDS,
    },
    flush,
    catchUp,
    tailReads,
    staged,
    ratios: {
      flushOverRaw: rawFlushMs / flushMs,
      flushOverRawPut: total(flush.map((f) => f.rawPut)) / flushMs,
      flushOverRawQuery: total(flush.map((f) => f.rawQuery)) / flushMs,
      flushOverRawEngineLimit: (total(flush.map((f) => f.rawQueryEngineLimit)) + total(flush.map((f) => f.rawPut))) / flushMs,
      httpOverRawGet: rawGetMs / httpMs,
      binaryOverRawGet: rawGetBinaryMs / binaryMs,
      streamedOverRawGet: rawGetStreamedMs / streamedMs,
      binaryOverJson: httpMs / binaryMs,
      engineOverRawGet: rawGetMs / engineMs,
      httpOverEngine: engineMs / httpMs,
      stagedOverTail: options.staged.levels.map((c) => ({
        concurrency: c,
        ratio: stagedRate('staged-1mib', c) / stagedRate('tail-64kib', c),
      })),
    },
    aims: {
      catchUpRawRatio: {
        aim: AIM_CATCH_UP_RAW_RATIO,
        actual: rawGetBinaryMs / binaryMs,
        met: rawGetBinaryMs / binaryMs >= AIM_CATCH_UP_RAW_RATIO,
      },
      tailBinaryOverJson: { aim: 1, actual: tailRatio, met: tailRatio >= 1 },
      stagedMbPerSec: staged.available
        ? { aim: AIM_STAGED_MB_PER_SEC, actual: stagedAtLowest, met: stagedAtLowest >= AIM_STAGED_MB_PER_SEC }
        : undefined,
    },
  };
}

/** Times `work` with the machine's resource use over the same span. */
async function timed<T>(meter: ResourceMeter, work: () => Promise<T>): Promise<{ value: T; ms: number; resources: ResourceUsage }> {
  const stop = meter.start();
  const begin = performance.now();
  const value = await work();
  const ms = performance.now() - begin;
  return { value, ms, resources: stop() };
}

/** Fills the tail, measures the raw Query and PUTs of the same bytes, then the engine's flush. */
async function flushRound(
  ctx: SegmentBenchContext,
  raw: RawBucket,
  meta: TopicMeta,
  fillMiB: number,
  fillValues: { key: null; value: Uint8Array }[][],
): Promise<FlushRound> {
  const appends = Math.ceil((fillMiB * MIB) / (RECORDS_PER_REQUEST * VALUE_BYTES));
  let issued = 0;
  const fill = await timed(ctx.meter, async () => {
    const worker = async () => {
      while (issued < appends) {
        const records = fillValues[issued++ % fillValues.length]!;
        await ctx.engine.appender.appendToPartition(meta.name, 0, { records });
      }
    };
    await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
  });
  const ref: PartitionRef = { topic: meta.name, topicId: meta.topicId, partition: 0 };
  const store = new DynamoLogStore(ctx.dynamo, ctx.tableName);
  const filled = await store.getHead(ref);
  const expectedRecords = appends * RECORDS_PER_REQUEST;
  if (filled.nextOffset !== expectedRecords || filled.flushedOffset !== 0) {
    throw new Error(
      `the filled tail has HWM ${filled.nextOffset} and flushed offset ${filled.flushedOffset}, expected ${expectedRecords} and 0`,
    );
  }

  const doc = DynamoDBDocumentClient.from(ctx.dynamo);
  const rawQuery = async (limit: number): Promise<RawQuery> => {
    const run = await timed(ctx.meter, () => queryWholeTail(doc, ctx.tableName, ref, limit));
    if (run.value.bytes !== filled.tailBytes) {
      throw new Error(`the raw Query read ${run.value.bytes} B of tail, the head counts ${filled.tailBytes}`);
    }
    return { ms: run.ms, resources: run.resources, ...run.value, limit };
  };
  const rawQueryEngineLimit = await rawQuery(ENGINE_TAIL_PAGE_ITEMS);
  const rawQueryBest = await rawQuery(RAW_TAIL_PAGE_ITEMS);

  const objectSizes = splitInto(filled.tailBytes, meta.config.segmentBytes);
  const body = new Uint8Array(randomBytes(meta.config.segmentBytes));
  const rawKeys = objectSizes.map((_, i) => `${RAW_OBJECT_PREFIX}${meta.topicId}/${i}`);
  const rawPut = await timed(ctx.meter, async () => {
    for (const [i, size] of objectSizes.entries()) await raw.objects.put(rawKeys[i]!, body.subarray(0, size));
  });
  await raw.objects.delete(rawKeys);

  ctx.calls.start();
  const flushed = await timed(ctx.meter, () => ctx.engine.flusher!.flushPartition(meta, 0, { force: true, maxSegments: Infinity }));
  const flushCalls = ctx.calls.stop().calls;
  const after = await store.getHead(ref);
  if (flushed.value.bytes !== filled.tailBytes || after.flushedOffset !== filled.nextOffset || after.tailBytes !== 0) {
    throw new Error(
      `the flush moved ${flushed.value.bytes} of ${filled.tailBytes} tail bytes; flushed offset ${after.flushedOffset} of ${filled.nextOffset}, ${after.tailBytes} B left in the tail`,
    );
  }
  return {
    fill: { ms: fill.ms, bytes: filled.tailBytes, resources: fill.resources, appends, valueBytes: expectedRecords * VALUE_BYTES },
    rawQuery: rawQueryBest,
    rawQueryEngineLimit,
    rawPut: { ms: rawPut.ms, bytes: filled.tailBytes, resources: rawPut.resources, objects: objectSizes.length },
    flush: {
      ms: flushed.ms,
      bytes: flushed.value.bytes,
      resources: flushed.resources,
      segments: flushed.value.segments,
      records: flushed.value.records,
      calls: flushCalls,
    },
  };
}

/** The partition's tail items, as the flusher reads them: consistent, unmarshalled, `limit` items per page at most. */
async function queryWholeTail(
  doc: DynamoDBDocumentClient,
  tableName: string,
  ref: PartitionRef,
  limit: number,
): Promise<{ items: number; bytes: number; pages: number }> {
  let items = 0;
  let bytes = 0;
  let pages = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tail)',
        ExpressionAttributeValues: { ':pk': partitionPk(ref), ':tail': TAIL_PREFIX },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    pages++;
    for (const item of out.Items ?? []) {
      items++;
      bytes += (item.data as Uint8Array).byteLength;
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return { items, bytes, pages };
}

/** `total` bytes as objects of `size` bytes, the last one holding the rest. */
function splitInto(total: number, size: number): number[] {
  const sizes: number[] = [];
  for (let left = total; left > 0; left -= size) sizes.push(Math.min(size, left));
  return sizes;
}

/**
 * Reads the flushed partition four ways. The raw replays need the GETs a read made, so
 * they come last; JSON, binary and the engine API take turns going first.
 */
async function catchUpRound(ctx: SegmentBenchContext, raw: RawBucket, meta: TopicMeta, round: number): Promise<CatchUpRound> {
  const client = new BenchHttpClient(ctx.url, 1);
  try {
    await dynamoSettled(ctx.meter);
    const readers = [
      () => readOverHttp(ctx, client, meta.name, 'json'),
      () => readOverHttp(ctx, client, meta.name, 'batches'),
      () => readThroughEngine(ctx, meta.name),
      () => readOverHttp(ctx, client, meta.name, 'batches', STREAMED_PAGE),
    ];
    const order = readers.map((_, i) => (i + round) % readers.length);
    const results: { read: CatchUpRead; gets: ObjectGet[] }[] = [];
    for (const i of order) results[i] = await readers[i]!();
    const [http, binary, engine, streamed] = results as [
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
    ];
    const sameGets =
      http.gets.length === engine.gets.length &&
      http.gets.every((g, i) => g.bytes === engine.gets[i]!.bytes && g.range?.start === engine.gets[i]!.range?.start);
    const replay = async (gets: ObjectGet[]) => {
      const run = await timed(ctx.meter, async () => {
        let bytes = 0;
        for (const get of gets) bytes += (await raw.objects.get(get.key, get.range)).byteLength;
        return bytes;
      });
      return { ms: run.ms, bytes: run.value, resources: run.resources, gets: gets.length };
    };
    const rawGet = await replay(http.gets);
    const rawGetBinary = await replay(binary.gets);
    const rawGetStreamed = await replay(streamed.gets);
    return {
      http: http.read,
      binary: binary.read,
      engine: engine.read,
      streamed: streamed.read,
      rawGet,
      rawGetBinary,
      rawGetStreamed,
      sameGets,
    };
  } finally {
    client.close();
  }
}

/**
 * Waits until DynamoDB Local is idle (its JVM under 10% of a core for half a second, at
 * most 15 s). After the flush of a round it keeps working for seconds (its garbage
 * collector, after hundreds of MB of tail items): a reader measured meanwhile had its
 * few DynamoDB calls (the topic metadata, a head) stall for 1.5–3 s, and whichever
 * reader went first paid for it, the raw replays (measured last) never.
 */
async function dynamoSettled(meter: ResourceMeter): Promise<void> {
  const deadline = performance.now() + 15 * SECOND;
  while (performance.now() < deadline) {
    const stop = meter.start();
    await new Promise((resolve) => setTimeout(resolve, SECOND / 2));
    if (stop().dynamoCores < 0.1) return;
  }
}

/** Checks that a catch-up returned every record once, in order, up to the high watermark. */
function checkCatchUp(how: string, records: number, nextOffset: number, highWatermark: number, valueBytes: number): void {
  if (records !== highWatermark || nextOffset !== highWatermark || valueBytes !== records * VALUE_BYTES) {
    throw new Error(
      `the ${how} catch-up returned ${records} records (${valueBytes} B of values) and stopped at ${nextOffset}; the high watermark is ${highWatermark}`,
    );
  }
}

/** Where an HTTP catch-up reads and its page: the API at its largest page, or the read function's streamed URL at its. */
interface ReadPageShape {
  /** Before `/v1/…`: empty for the API, the local function URL stand-in's path for a streamed read. */
  prefix: string;
  maxBytes: number;
  maxRecords: number;
}

const API_PAGE: ReadPageShape = { prefix: '', maxBytes: READ_MAX_BYTES, maxRecords: READ_MAX_RECORDS };
const STREAMED_PAGE: ReadPageShape = {
  prefix: LOCAL_FUNCTION_URL_PATHS.read,
  maxBytes: STREAMED_READ_MAX_BYTES,
  maxRecords: STREAMED_READ_MAX_RECORDS,
};

async function readOverHttp(
  ctx: SegmentBenchContext,
  client: BenchHttpClient,
  topic: string,
  format: ReadFormat,
  shape: ReadPageShape = API_PAGE,
): Promise<{ read: CatchUpRead; gets: ObjectGet[] }> {
  const path = `${shape.prefix}/v1/topics/${topic}/partitions/0/records`;
  const label = format === 'json' ? 'HTTP' : shape.prefix ? 'streamed binary HTTP' : 'binary HTTP';
  return readToEnd(ctx, label, true, (offset) =>
    readPage(client, `${path}?offset=${offset}&maxBytes=${shape.maxBytes}&maxRecords=${shape.maxRecords}&encoding=base64`, format),
  );
}

/** One page of a catch-up read, as `readToEnd` counts it. */
interface CatchUpPage {
  firstOffset: number | undefined;
  records: number;
  valueBytes: number;
  nextOffset: number;
  highWatermark: number;
  parseMs?: number;
}

/**
 * Reads partition 0 from offset 0 to the high watermark, page after page, timed by the
 * resource meter with the engine's storage calls metered; checks the read got every record.
 */
async function readToEnd(
  ctx: SegmentBenchContext,
  label: string,
  parsed: boolean,
  readFrom: (offset: number) => Promise<CatchUpPage>,
): Promise<{ read: CatchUpRead; gets: ObjectGet[] }> {
  let offset = 0;
  let highWatermark = Number.POSITIVE_INFINITY;
  let records = 0;
  let valueBytes = 0;
  let requests = 0;
  let parseMs = 0;
  ctx.calls.start();
  const run = await timed(ctx.meter, async () => {
    while (offset < highWatermark) {
      const page = await readFrom(offset);
      parseMs += page.parseMs ?? 0;
      requests++;
      if (page.firstOffset !== offset) throw new Error(`a read from ${offset} started at ${page.firstOffset}`);
      valueBytes += page.valueBytes;
      records += page.records;
      offset = page.nextOffset;
      highWatermark = page.highWatermark;
    }
  });
  const { calls, gets } = ctx.calls.stop();
  checkCatchUp(label, records, offset, highWatermark, valueBytes);
  return { read: catchUpRead(run, records, valueBytes, requests, calls, gets, parsed ? parseMs : undefined), gets };
}

/**
 * One read over HTTP in either format, decoded as a client would: JSON.parse (values left
 * base64, only their length taken), or the frame's CRCs checked and its records decoded.
 */
async function readPage(
  client: BenchHttpClient,
  path: string,
  format: ReadFormat,
): Promise<{
  records: number;
  valueBytes: number;
  firstOffset: number | undefined;
  nextOffset: number;
  highWatermark: number;
  parseMs: number;
}> {
  const response = await client.getBytes(path, format === 'json' ? 'application/json' : BATCHES_MEDIA_TYPE);
  const parseStart = performance.now();
  let page: { records: readonly { offset: number }[]; nextOffset: number; highWatermark: number };
  let parseMs: number;
  let valueBytes = 0;
  if (format === 'json') {
    const json = JSON.parse(response.body.toString('utf8')) as ReadPage;
    parseMs = performance.now() - parseStart;
    expectStatus({ status: response.status, body: json }, 200, 'read');
    for (const record of json.records) valueBytes += record.value === null ? 0 : Buffer.byteLength(record.value, 'base64');
    page = json;
  } else {
    if (response.status !== 200 || response.contentType !== BATCHES_MEDIA_TYPE) {
      throw new Error(`a binary read answered ${response.status} ${response.contentType}: ${response.body.toString('utf8', 0, 500)}`);
    }
    const frame = decodeFrame(response.body);
    parseMs = performance.now() - parseStart;
    for (const record of frame.records) valueBytes += record.value?.byteLength ?? 0;
    page = frame;
  }
  return {
    records: page.records.length,
    valueBytes,
    firstOffset: page.records[0]?.offset,
    nextOffset: page.nextOffset,
    highWatermark: page.highWatermark,
    parseMs,
  };
}

/**
 * Tail reads: a fresh partition with `fillMiB` of values left in the DynamoDB tail, read
 * from 0 to the high watermark at the consumer's page, as JSON and as batches, taking
 * turns going first.
 */
async function runTailReads(
  ctx: SegmentBenchContext,
  freshTopic: (name: string) => Promise<TopicMeta>,
  fillValues: { key: null; value: Uint8Array }[][],
): Promise<TailReadResult> {
  const meta = await freshTopic('bench-tail-reads');
  const appends = Math.ceil((TAIL_READ.fillMiB * MIB) / (RECORDS_PER_REQUEST * VALUE_BYTES));
  for (let i = 0; i < appends; i++)
    await ctx.engine.appender.appendToPartition(meta.name, 0, { records: fillValues[i % fillValues.length]! });
  const client = new BenchHttpClient(ctx.url, 1);
  const result: TailReadResult = { fillMiB: TAIL_READ.fillMiB, maxRecords: TAIL_READ.maxRecords, json: [], batches: [] };
  try {
    await tailRead(ctx, client, meta.name, 'json'); // warm-up
    await tailRead(ctx, client, meta.name, 'batches');
    for (let round = 0; round < TAIL_READ.rounds; round++) {
      const formats: ReadFormat[] = round % 2 === 0 ? ['json', 'batches'] : ['batches', 'json'];
      for (const format of formats) result[format].push(await tailRead(ctx, client, meta.name, format));
    }
  } finally {
    client.close();
  }
  const rate = (reads: TailRead[]) =>
    formatNumber(
      mbPerSec(
        reads.reduce((s, r) => s + r.valueBytes, 0),
        reads.reduce((s, r) => s + r.ms, 0),
      ),
      1,
    );
  ctx.log(
    `  tail reads (${TAIL_READ.fillMiB} MiB, maxRecords ${TAIL_READ.maxRecords}): JSON ${rate(result.json)} MB/s, binary ${rate(result.batches)} MB/s`,
  );
  return result;
}

async function tailRead(ctx: SegmentBenchContext, client: BenchHttpClient, topic: string, format: ReadFormat): Promise<TailRead> {
  const path = `/v1/topics/${topic}/partitions/0/records`;
  let offset = 0;
  let highWatermark = Number.POSITIVE_INFINITY;
  let records = 0;
  let valueBytes = 0;
  const latencies: number[] = [];
  const run = await timed(ctx.meter, async () => {
    while (offset < highWatermark) {
      const started = performance.now();
      const page = await readPage(client, `${path}?offset=${offset}&maxRecords=${TAIL_READ.maxRecords}&encoding=base64`, format);
      latencies.push(performance.now() - started);
      if (page.firstOffset !== offset) throw new Error(`a tail read from ${offset} started at ${page.firstOffset}`);
      records += page.records;
      valueBytes += page.valueBytes;
      offset = page.nextOffset;
      highWatermark = page.highWatermark;
    }
  });
  checkCatchUp(`${format} tail`, records, offset, highWatermark, valueBytes);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.ceil(q * latencies.length) - 1] ?? Number.NaN;
  return {
    format,
    ms: run.ms,
    bytes: valueBytes,
    resources: run.resources,
    records,
    valueBytes,
    requests: latencies.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

async function readThroughEngine(ctx: SegmentBenchContext, topic: string): Promise<{ read: CatchUpRead; gets: ObjectGet[] }> {
  return readToEnd(ctx, 'engine API', false, async (offset) => {
    const page = await ctx.engine.reader.read(topic, 0, { offset, maxBytes: READ_MAX_BYTES, maxRecords: READ_MAX_RECORDS });
    let valueBytes = 0;
    for (const record of page.records) valueBytes += record.value?.byteLength ?? 0;
    return {
      firstOffset: page.records[0]?.offset,
      records: page.records.length,
      valueBytes,
      nextOffset: page.nextOffset,
      highWatermark: page.highWatermark,
    };
  });
}

function catchUpRead(
  run: { ms: number; resources: ResourceUsage },
  records: number,
  valueBytes: number,
  requests: number,
  calls: CallBreakdown,
  gets: ObjectGet[],
  parseMs?: number,
): CatchUpRead {
  return {
    ms: run.ms,
    bytes: gets.reduce((sum, g) => sum + g.bytes, 0),
    resources: run.resources,
    records,
    valueBytes,
    requests,
    gets: gets.length,
    calls,
    ...(parseMs !== undefined ? { parseMs } : {}),
  };
}

/** JSON bodies of `records` random values of `valueBytes` each, base64 encoded. */
function appendBodies(records: number, valueBytes: number): Buffer[] {
  return Array.from({ length: STAGED_BODY_VARIANTS }, () =>
    Buffer.from(
      JSON.stringify({
        records: Array.from({ length: records }, () => ({ value: randomBytes(valueBytes).toString('base64') })),
        encoding: 'base64',
      }),
    ),
  );
}

/**
 * Appends 1 MiB batches and 64 KiB batches through HTTP, after checking that a 1 MiB
 * append is staged at all: one that writes nothing to S3 means staging has not landed,
 * and the suite reports that instead of measuring inline writes under the staged label.
 */
async function runStagedSuites(ctx: SegmentBenchContext, raw: RawBucket, options: SegmentBenchOptions['staged']): Promise<StagedResult> {
  const shapes: Record<StagedSuiteName, { bodies: Buffer[]; records: number; valueBytes: number }> = {
    'staged-1mib': { bodies: appendBodies(STAGED_RECORDS, STAGED_VALUE_BYTES), records: STAGED_RECORDS, valueBytes: STAGED_VALUE_BYTES },
    'tail-64kib': { bodies: appendBodies(TAIL_RECORDS, TAIL_VALUE_BYTES), records: TAIL_RECORDS, valueBytes: TAIL_VALUE_BYTES },
  };
  const client = new BenchHttpClient(ctx.url, Math.max(...options.levels));
  try {
    await ctx.resetTable();
    await raw.empty();
    const probe = await stagedTopic(ctx, client, 'bench-staged-probe', shapes['staged-1mib']);
    ctx.calls.start();
    await probe.append();
    const puts = ctx.calls.stop().calls['S3 PUT']?.calls ?? 0;
    if (puts === 0) {
      const reason =
        `a ${STAGED_RECORDS} × ${STAGED_VALUE_BYTES / KIB} KiB append to a topic with stageBytes ${STAGE_BYTES} wrote nothing to S3: ` +
        'staging of large batches has not landed in the engine, so the suite was skipped';
      ctx.log(`  skipped: ${reason}`);
      return { available: false, reason, measurements: [] };
    }

    ctx.log(`warming up (${options.warmupMs} ms of each shape at C=${Math.max(...options.levels)}, not measured)`);
    for (const suite of STAGED_SUITES) {
      const topic = await stagedTopic(ctx, client, `bench-${suite}-warmup`, shapes[suite]);
      await runClosedLoop({ concurrency: Math.max(...options.levels), warmupMs: options.warmupMs, durationMs: 0 }, ctx.meter, topic.append);
    }
    const measurements: StagedMeasurement[] = [];
    for (const concurrency of options.levels) {
      const slices = new Map<StagedSuiteName, { load: LoadResult; puts: number; verified: boolean }[]>(STAGED_SUITES.map((s) => [s, []]));
      for (let round = 0; round < options.rounds; round++) {
        await ctx.resetTable();
        await raw.empty();
        for (const suite of STAGED_SUITES) {
          const topic = await stagedTopic(ctx, client, `bench-${suite}-c${concurrency}-r${round}`, shapes[suite]);
          let puts = 0;
          const load = await runClosedLoop(
            { concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs / options.rounds },
            ctx.meter,
            topic.append,
            { onWindowStart: () => ctx.calls.start(), onWindowEnd: () => (puts = ctx.calls.stop().calls['S3 PUT']?.calls ?? 0) },
          );
          slices.get(suite)!.push({ load, puts, verified: await topic.highWatermarkMatches() });
        }
      }
      for (const suite of STAGED_SUITES) {
        const parts = slices.get(suite)!;
        const load = mergeLoadResults(parts.map((p) => p.load));
        const perSecond = (r: LoadResult) => r.operations / (r.windowMs / SECOND);
        const requestsPerSec = perSecond(load);
        const bytesPerRequest = shapes[suite].records * shapes[suite].valueBytes;
        const sorted = [...load.latenciesMs].sort((a, b) => a - b);
        const measurement: StagedMeasurement = {
          suite,
          concurrency,
          requests: load.operations,
          requestsPerSec,
          mbPerSec: (requestsPerSec * bytesPerRequest) / MB,
          roundRange: [
            Math.min(...parts.map((p) => (perSecond(p.load) * bytesPerRequest) / MB)),
            Math.max(...parts.map((p) => (perSecond(p.load) * bytesPerRequest) / MB)),
          ],
          p50Ms: sorted[Math.ceil(0.5 * sorted.length) - 1] ?? Number.NaN,
          p99Ms: sorted[Math.ceil(0.99 * sorted.length) - 1] ?? Number.NaN,
          errors: load.errors,
          ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
          putsPerRequest: parts.reduce((sum, p) => sum + p.puts, 0) / Math.max(1, load.operations),
          resources: load.resources,
          verified: parts.every((p) => p.verified),
        };
        measurements.push(measurement);
        ctx.log(
          `  ${suite.padEnd(11)} C=${String(concurrency).padEnd(2)} ${formatNumber(measurement.mbPerSec, 1)} MB/s ` +
            `(rounds ${formatNumber(measurement.roundRange[0], 1)}–${formatNumber(measurement.roundRange[1], 1)}), ` +
            `${formatNumber(requestsPerSec, 1)} req/s, p50 ${formatMs(measurement.p50Ms)} ms` +
            (load.errors > 0 ? `, ${load.errors} ERRORS (first: ${load.firstError})` : ''),
        );
      }
    }
    return { available: true, measurements };
  } finally {
    client.close();
    await raw.empty();
  }
}

/** A fresh one-partition topic with flushes out of the way; counts what its appends saw acknowledged. */
async function stagedTopic(_ctx: SegmentBenchContext, client: BenchHttpClient, name: string, shape: { bodies: Buffer[]; records: number }) {
  const config = { stageBytes: STAGE_BYTES, flushBytes: NO_TRIGGERED_FLUSH_BYTES };
  expectStatus(await client.post('/v1/topics', Buffer.from(JSON.stringify({ name, partitions: 1, config }))), 201, 'create topic');
  const path = `/v1/topics/${name}/partitions/0`;
  let acknowledged = 0;
  let next = 0;
  return {
    append: async () => {
      const body = shape.bodies[next++ % shape.bodies.length]!;
      const answer = expectStatus(await client.post<{ offsets: unknown[] }>(`${path}/records`, body), 200, 'append');
      if (answer.offsets.length !== shape.records)
        throw new Error(`append answered ${answer.offsets.length} offsets for ${shape.records} records`);
      acknowledged += shape.records;
    },
    highWatermarkMatches: async () => {
      const latest = expectStatus(await client.get<{ offset: number }>(`${path}/offsets?at=latest`), 200, 'offset lookup');
      return latest.offset === acknowledged;
    },
  };
}

function mbPerSec(bytes: number, ms: number): number {
  return bytes / MB / (ms / SECOND);
}

function describeFlush(round: number, f: FlushRound): string {
  return (
    `  round ${round + 1}: fill ${formatNumber(mbPerSec(f.fill.bytes, f.fill.ms), 1)} MB/s; ` +
    `flush ${formatNumber(mbPerSec(f.flush.bytes, f.flush.ms), 1)} MB/s (${f.flush.segments} segments, ${formatNumber(f.flush.ms / SECOND, 2)} s); ` +
    `raw Query ${formatNumber(mbPerSec(f.rawQuery.bytes, f.rawQuery.ms), 1)} MB/s ` +
    `(Limit ${ENGINE_TAIL_PAGE_ITEMS}: ${formatNumber(mbPerSec(f.rawQueryEngineLimit.bytes, f.rawQueryEngineLimit.ms), 1)} MB/s), raw PUT ${formatNumber(mbPerSec(f.rawPut.bytes, f.rawPut.ms), 1)} MB/s`
  );
}

function describeCatchUp(round: number, c: CatchUpRound): string {
  return (
    `  round ${round + 1}: catch-up HTTP JSON ${formatNumber(mbPerSec(c.http.valueBytes, c.http.ms), 1)} MB/s, ` +
    `binary ${formatNumber(mbPerSec(c.binary.valueBytes, c.binary.ms), 1)} MB/s (raw GETs of its ranges ${formatNumber(mbPerSec(c.rawGetBinary.bytes, c.rawGetBinary.ms), 1)} MB/s), ` +
    `streamed ${formatNumber(mbPerSec(c.streamed.valueBytes, c.streamed.ms), 1)} MB/s (raw ${formatNumber(mbPerSec(c.rawGetStreamed.bytes, c.rawGetStreamed.ms), 1)} MB/s), ` +
    `engine ${formatNumber(mbPerSec(c.engine.valueBytes, c.engine.ms), 1)} MB/s, ` +
    `raw GETs ${formatNumber(mbPerSec(c.rawGet.bytes, c.rawGet.ms), 1)} MB/s (${c.rawGet.gets} GETs${c.sameGets ? '' : ', HTTP and engine GETs DIFFER'})`
  );
}

/** Throughput over all rounds (total bytes over total time) and the slowest and fastest round. */
function pooled(parts: { bytes: number; ms: number }[]): { mbPerSec: number; range: [number, number]; bytes: number; ms: number } {
  const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
  const ms = parts.reduce((sum, p) => sum + p.ms, 0);
  const rates = parts.map((p) => mbPerSec(p.bytes, p.ms));
  return { mbPerSec: mbPerSec(bytes, ms), range: [Math.min(...rates), Math.max(...rates)], bytes, ms };
}

/** Calls of the same name summed over rounds. */
function sumCalls(breakdowns: CallBreakdown[]): CallBreakdown {
  const sum: CallBreakdown = {};
  for (const breakdown of breakdowns) {
    for (const [name, stats] of Object.entries(breakdown)) {
      const into = (sum[name] ??= { calls: 0, ms: 0, bytes: 0 });
      into.calls += stats.calls;
      into.ms += stats.ms;
      into.bytes += stats.bytes;
    }
  }
  return sum;
}

function formatRange([low, high]: [number, number], decimals = 1): string {
  return `${formatNumber(low, decimals)}–${formatNumber(high, decimals)}`;
}

function yesNo(met: boolean): string {
  return met ? 'yes' : 'NO';
}

export function segmentTables(result: SegmentBenchResult): ReportTable[] {
  const { config, flush, catchUp } = result;
  const rounds = flush.length;
  const fillMB = formatNumber((flush[0]?.fill.bytes ?? Number.NaN) / MB, 1);
  const row = (label: string, parts: Timed[], extra: string) => {
    const p = pooled(parts);
    return [
      label,
      formatNumber(p.mbPerSec, 1),
      formatRange(p.range),
      formatNumber(p.ms / rounds / SECOND, 2),
      extra,
      ...resourceCells(meanUsage(parts)),
    ];
  };
  const rawSum = flush.map((f) => ({ ms: f.rawQuery.ms + f.rawPut.ms, bytes: f.rawPut.bytes, resources: f.rawPut.resources }));
  const rawSumRange = pooled(rawSum);
  const flushTable: ReportTable = {
    title: `Flush: one partition's tail (${config.fillMiB} MiB of values, ${fillMB} MB of batches) into ${config.segmentBytes / MIB} MiB segments`,
    columns: ['measure', 'MB/s', 'rounds MB/s', 's per round', 'work per round', ...RESOURCE_COLUMNS],
    rows: [
      row(
        `fill the tail (engine API, C=${config.fillConcurrency})`,
        flush.map((f) => f.fill),
        `${formatNumber(flush[0]?.fill.appends ?? 0)} appends`,
      ),
      row(
        'Strata flushPartition(force)',
        flush.map((f) => f.flush),
        `${flush[0]?.flush.segments ?? 0} segments`,
      ),
      row(
        `raw DynamoDB Query of the same tail items, Limit ${RAW_TAIL_PAGE_ITEMS}`,
        flush.map((f) => f.rawQuery),
        `${flush[0]?.rawQuery.pages ?? 0} pages, ${flush[0]?.rawQuery.items ?? 0} items`,
      ),
      row(
        `the same Query with a fixed Limit ${ENGINE_TAIL_PAGE_ITEMS}`,
        flush.map((f) => f.rawQueryEngineLimit),
        `${flush[0]?.rawQueryEngineLimit.pages ?? 0} pages`,
      ),
      row(
        `raw S3 PUT of the same bytes in ${config.segmentBytes / MIB} MiB objects`,
        flush.map((f) => f.rawPut),
        `${flush[0]?.rawPut.objects ?? 0} PUTs`,
      ),
      [
        `raw Query (Limit ${RAW_TAIL_PAGE_ITEMS}) + PUT`,
        formatNumber(rawSumRange.mbPerSec, 1),
        formatRange(rawSumRange.range),
        formatNumber(rawSumRange.ms / rounds / SECOND, 2),
        '',
        '',
        '',
        '',
      ],
    ],
    notes: [`Each row: ${rounds} round(s); the tail filled with ${config.recordsPerAppend} × ${config.valueBytes} B appends.`],
  };

  const flushCalls = sumCalls(flush.map((f) => f.flush.calls));
  const flushMs = flush.reduce((sum, f) => sum + f.flush.ms, 0);
  const breakdownRows = (calls: CallBreakdown, totalMs: number) => {
    const rows = Object.entries(calls)
      .sort(([, a], [, b]) => b.ms - a.ms)
      .map(([name, s]) => [
        name,
        formatNumber(s.calls / rounds),
        formatNumber(s.ms / rounds),
        formatPercent(s.ms / totalMs),
        s.bytes > 0 ? formatNumber(s.bytes / MB / rounds, 1) : '',
      ]);
    const inCalls = Object.values(calls).reduce((sum, s) => sum + s.ms, 0);
    rows.push([
      'engine CPU between calls',
      '',
      formatNumber((totalMs - inCalls) / rounds),
      formatPercent((totalMs - inCalls) / totalMs),
      '',
    ]);
    return rows;
  };
  const flushBreakdown: ReportTable = {
    title: 'Where the flush spends its time (per round)',
    columns: ['call', 'calls', 'ms', 'share', 'MB'],
    rows: breakdownRows(flushCalls, flushMs),
  };

  const recordsPerSec = (records: number, ms: number) => formatNumber(records / (ms / SECOND));
  /** One reader's row over the rounds: a Strata read counts the values it returned, a raw replay the bytes it fetched. */
  const readRow = (label: string, reader: Exclude<keyof CatchUpRound, 'sameGets'>) => {
    const parts: (Timed & { gets: number } & Partial<CatchUpRead>)[] = catchUp.map((c) => c[reader]);
    const first = parts[0]!;
    const p = pooled(parts.map((r) => ({ bytes: r.valueBytes ?? r.bytes, ms: r.ms })));
    return [
      label,
      formatNumber(p.mbPerSec, 1),
      formatRange(p.range),
      first.records ? recordsPerSec(first.records * rounds, p.ms) : '–',
      formatNumber(p.ms / rounds / SECOND, 2),
      first.requests !== undefined ? formatNumber(first.requests) : '',
      formatNumber(first.gets),
      formatNumber(first.bytes / MB, 1),
      ...resourceCells(meanUsage(parts)),
    ];
  };
  const catchUpTable: ReportTable = {
    title: `Catch-up read from segments: offset 0 to the high watermark, maxBytes=${config.readMaxBytes}, maxRecords=${config.readMaxRecords}`,
    columns: ['reader', 'MB/s', 'rounds MB/s', 'records/s', 's per round', 'reads', 'S3 GETs', 'MB fetched', ...RESOURCE_COLUMNS],
    rows:
      catchUp.length > 0
        ? [
            readRow('Strata via HTTP, binary batches', 'binary'),
            readRow("raw S3 ranged GETs (the binary read's ranges)", 'rawGetBinary'),
            readRow('Strata via HTTP (base64 JSON)', 'http'),
            readRow("raw S3 ranged GETs (the JSON read's ranges)", 'rawGet'),
            readRow('Strata engine API (no HTTP)', 'engine'),
            readRow(`Strata via the read function URL (streamed), binary batches, maxBytes=${config.streamedReadMaxBytes}`, 'streamed'),
            readRow("raw S3 ranged GETs (the streamed read's ranges)", 'rawGetStreamed'),
          ]
        : [],
    notes: [
      catchUp.every((c) => c.sameGets)
        ? 'The engine API read made the same GETs as the JSON read.'
        : 'The engine API read made different GETs from the JSON read (see segments.json).',
      `Streamed read: maxBytes ${config.streamedReadMaxBytes}, maxRecords ${config.streamedReadMaxRecords}.`,
      `Client decoding per round: JSON.parse ${formatNumber(catchUp.reduce((sum, c) => sum + (c.http.parseMs ?? 0), 0) / rounds)} ms; frame checks and record decoding ${formatNumber(catchUp.reduce((sum, c) => sum + (c.binary.parseMs ?? 0), 0) / rounds)} ms.`,
    ],
  };

  const httpCalls = sumCalls(catchUp.map((c) => c.http.calls));
  const binaryCalls = sumCalls(catchUp.map((c) => c.binary.calls));
  const binaryMs = catchUp.reduce((sum, c) => sum + c.binary.ms, 0);
  const decodeMs = catchUp.reduce((sum, c) => sum + (c.binary.parseMs ?? 0), 0);
  const engineCalls = sumCalls(catchUp.map((c) => c.engine.calls));
  const httpMs = catchUp.reduce((sum, c) => sum + c.http.ms, 0);
  const engineMs = catchUp.reduce((sum, c) => sum + c.engine.ms, 0);
  const parseMs = catchUp.reduce((sum, c) => sum + (c.http.parseMs ?? 0), 0);
  const names = [...new Set([...Object.keys(httpCalls), ...Object.keys(engineCalls)])].sort(
    (a, b) => (httpCalls[b]?.ms ?? 0) - (httpCalls[a]?.ms ?? 0),
  );
  const share = (ms: number, total: number) => `${formatNumber(ms / rounds)} (${formatPercent(ms / total)})`;
  const inCalls = (calls: CallBreakdown) => Object.values(calls).reduce((sum, s) => sum + s.ms, 0);
  const readBreakdown: ReportTable = {
    title: 'Where the catch-up spends its time (ms per round, share)',
    columns: ['part', 'calls (JSON)', 'HTTP JSON', 'calls (binary)', 'HTTP binary', 'engine API'],
    rows: [
      ...names.map((name) => [
        name,
        formatNumber((httpCalls[name]?.calls ?? 0) / rounds),
        share(httpCalls[name]?.ms ?? 0, httpMs),
        formatNumber((binaryCalls[name]?.calls ?? 0) / rounds),
        share(binaryCalls[name]?.ms ?? 0, binaryMs),
        share(engineCalls[name]?.ms ?? 0, engineMs),
      ]),
      ['client JSON.parse / frame decode', '', share(parseMs, httpMs), '', share(decodeMs, binaryMs), '–'],
      [
        'server (decode, collect, encode), HTTP',
        '',
        share(httpMs - inCalls(httpCalls) - parseMs, httpMs),
        '',
        share(binaryMs - inCalls(binaryCalls) - decodeMs, binaryMs),
        share(engineMs - inCalls(engineCalls), engineMs),
      ],
      ['total', '', share(httpMs, httpMs), '', share(binaryMs, binaryMs), share(engineMs, engineMs)],
    ],
  };

  const tables = [flushTable, flushBreakdown, catchUpTable, readBreakdown, tailReadTable(result), stagedTable(result), ratiosTable(result)];
  return tables;
}

function tailReadTable(result: SegmentBenchResult): ReportTable {
  const { tailReads } = result;
  const row = (label: string, reads: TailRead[]) => {
    const p = pooled(reads.map((r) => ({ bytes: r.valueBytes, ms: r.ms })));
    const latencies = (pick: (r: TailRead) => number) => formatMs(reads.reduce((sum, r) => sum + pick(r), 0) / reads.length);
    return [
      label,
      formatNumber(p.mbPerSec, 1),
      formatRange(p.range),
      formatNumber(reads[0]?.requests ?? 0),
      latencies((r) => r.p50Ms),
      latencies((r) => r.p99Ms),
      ...resourceCells(meanUsage(reads)),
    ];
  };
  return {
    title: `Tail reads: ${tailReads.fillMiB} MiB of values in the DynamoDB tail, read from 0 at maxRecords=${tailReads.maxRecords}`,
    columns: ['format', 'MB/s', 'rounds MB/s', 'reads', 'p50 ms per read', 'p99 ms per read', ...RESOURCE_COLUMNS],
    rows: [row('HTTP, binary batches', tailReads.batches), row('HTTP, base64 JSON', tailReads.json)],
    notes: [`${tailReads.json.length} rounds of each format.`],
  };
}

function stagedTable(result: SegmentBenchResult): ReportTable {
  const { staged, config } = result;
  const title = `Staged large batches: one partition through HTTP, stageBytes ${STAGE_BYTES}`;
  if (!staged.available) {
    return {
      title,
      columns: ['suite', 'status'],
      rows: [['staged 1 MiB batches vs 64 KiB tail batches', 'skipped']],
      notes: [staged.reason ?? 'skipped'],
    };
  }
  const seconds = config.staged.durationMs / SECOND;
  return {
    title,
    columns: ['suite', 'C', 'MB/s', 'rounds MB/s', 'req/s', 'p50 ms', 'p99 ms', 'S3 PUTs/request', 'errors', ...RESOURCE_COLUMNS],
    rows: staged.measurements.map((m) => [
      STAGED_LABELS[m.suite],
      String(m.concurrency),
      formatNumber(m.mbPerSec, 1),
      formatRange(m.roundRange),
      formatNumber(m.requestsPerSec, 1),
      formatMs(m.p50Ms),
      formatMs(m.p99Ms),
      m.putsPerRequest.toFixed(2),
      String(m.errors),
      ...resourceCells(m.resources),
    ]),
    notes: [
      `Each row: ${seconds} s measured in ${config.staged.rounds} rounds, after ${config.staged.warmupMs / SECOND} s of warm-up each.`,
      staged.measurements.every((m) => m.verified)
        ? 'Checked after every row: the high watermark matches what was acknowledged.'
        : 'CHECK FAILED: a high watermark does not match the records acknowledged (see segments.json).',
    ],
  };
}

function ratiosTable(result: SegmentBenchResult): ReportTable {
  const { ratios, aims } = result;
  return {
    title: 'Ratios (same data, time of the raw primitive over Strata’s)',
    columns: ['ratio', 'value', 'aim', 'met'],
    rows: [
      [`flush / raw Query (Limit ${RAW_TAIL_PAGE_ITEMS}) + PUT`, formatRatio(ratios.flushOverRaw), '', ''],
      [`flush / raw Query (fixed Limit ${ENGINE_TAIL_PAGE_ITEMS}) + PUT`, formatRatio(ratios.flushOverRawEngineLimit), '', ''],
      [`flush / raw Query (Limit ${RAW_TAIL_PAGE_ITEMS}) alone`, formatRatio(ratios.flushOverRawQuery), '', ''],
      ['flush / raw PUT alone', formatRatio(ratios.flushOverRawPut), '', ''],
      [
        'catch-up via HTTP, binary / raw ranged GETs of its ranges',
        formatRatio(ratios.binaryOverRawGet),
        `≥ ${formatRatio(aims.catchUpRawRatio.aim)}`,
        yesNo(aims.catchUpRawRatio.met),
      ],
      [
        'catch-up via the streamed read URL (64 MiB pages), binary / raw ranged GETs of its ranges',
        formatRatio(ratios.streamedOverRawGet),
        '',
        '',
      ],
      ['catch-up via HTTP, JSON / raw ranged GETs of its ranges', formatRatio(ratios.httpOverRawGet), '', ''],
      ['catch-up via HTTP, binary over JSON (speed-up)', formatRatio(ratios.binaryOverJson), '', ''],
      [
        'tail reads via HTTP, binary over JSON (MB/s)',
        formatRatio(aims.tailBinaryOverJson.actual),
        `≥ ${formatRatio(aims.tailBinaryOverJson.aim)}`,
        yesNo(aims.tailBinaryOverJson.met),
      ],
      ['catch-up via engine API / raw ranged GETs', formatRatio(ratios.engineOverRawGet), '', ''],
      ['catch-up via HTTP / via engine API', formatRatio(ratios.httpOverEngine), '', ''],
      ...(aims.stagedMbPerSec
        ? [
            [
              `staged 1 MiB batches, C=${Math.min(...result.config.staged.levels)}, MB/s`,
              formatNumber(aims.stagedMbPerSec.actual, 1),
              `≥ ${aims.stagedMbPerSec.aim}`,
              yesNo(aims.stagedMbPerSec.met),
            ],
            ...ratios.stagedOverTail.map((r) => [`staged 1 MiB / tail 64 KiB MB/s, C=${r.concurrency}`, formatRatio(r.ratio), '', '']),
          ]
        : [['staged 1 MiB batches', 'skipped', `≥ ${AIM_STAGED_MB_PER_SEC} MB/s`, '–']]),
    ],
  };
}

export const segmentsSuite = defineSuite({
  name: 'segments',
  title: 'S3 segments and staged appends',
  measures: 'flush to S3, catch-up reads from segments and staged appends, beside raw S3 and DynamoDB',
  sharedStack: true,
  /**
   * Rounds of fill → flush → catch-up read on `fillMiB` of values, and the staged-append
   * suites at `levels`, measured like the append suites.
   */
  full: { rounds: 2, fillMiB: 256, staged: { levels: [1, 4], rounds: 3, warmupMs: 1 * SECOND, durationMs: 6 * SECOND } },
  quick: { rounds: 1, fillMiB: 24, staged: { levels: [1, 4], rounds: 1, warmupMs: SECOND / 2, durationMs: 1.5 * SECOND } },
  start: 'S3 segments: flush, catch-up read, staged appends',
  async measure(options, ctx) {
    const { stack, dynamo, rawS3, calls, emptyTable } = await ctx.stack();
    return runSegmentBench(
      {
        url: stack.url,
        engine: stack.engine,
        dynamo,
        tableName: stack.tableName,
        s3: rawS3,
        bucketName: stack.bucketName,
        calls,
        meter: new Meter(),
        resetTable: emptyTable,
        log: ctx.log,
      },
      options,
    );
  },
  render: (result) => ({ tables: segmentTables(result) }),
});
