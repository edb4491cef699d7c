/**
 * One append worker of the multi-process checker (./multi-process.ts): a separate OS
 * process with its own LogEngine, as a Lambda environment is, serving ONE request at a
 * time in a loop until its stdin closes. Each request appends 1–5 records to 1–3
 * partitions of the topic: plain, idempotent (this process's producer id and
 * per-partition sequences) or conditional (`expectedOffset`). Every request is announced
 * on stdout before it is made and its outcome reported after (./worker-protocol.ts).
 *
 * Faults: local/chaos.ts on its SDK clients when STRATA_CHAOS holds a spec, the latency
 * model and crash points of ./worker-faults.ts, and whatever SIGKILL the parent sends.
 *
 * @example
 * STRATA_MP_WORKER='{"name":"w0",…}' node --import tsx test/support/append-worker.ts
 */
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { StrataError } from '../../lib/core/errors.js';
import { type EngineOptions, LogEngine } from '../../lib/engine.js';
import type { AppendRecordInput, AppendResponse } from '../../lib/sequencing/appender.js';
import { chaosSpecFromEnv, installChaos } from '../../local/chaos.js';
import { seededRandom } from './faults.js';
import { CrashPoints, installWorkerMiddleware } from './worker-faults.js';
import {
  type AppendKind,
  announceSeals,
  keyOfId,
  type PartitionResult,
  type SentRecord,
  WORKER_CONFIG_ENV,
  type WorkerConfig,
  type WorkerEvent,
} from './worker-protocol.js';
import { installWorkerTrace } from './worker-trace.js';

/** Refusals of one partition of a multi-partition append that mean "not written". */
const DEFINITE_CODES = new Set([
  'OFFSET_MISMATCH',
  'OUT_OF_ORDER_SEQUENCE',
  'DUPLICATE_SEQUENCE',
  'PRODUCER_FENCED',
  'VALIDATION',
  'PAYLOAD_TOO_LARGE',
  'RECORD_TOO_LARGE',
  'TOPIC_NOT_FOUND',
  'PARTITION_NOT_FOUND',
]);
/**
 * The emulators' clients as local/emulators.ts makes them (localDynamoClient,
 * localS3Client), built here because importing that module loads s3rver, half a second
 * of every worker's start.
 */
function emulatorClients(config: WorkerConfig): { dynamo: DynamoDBClient; s3: S3Client } {
  const region = 'us-east-1';
  return {
    dynamo: new DynamoDBClient({
      endpoint: config.dynamoEndpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    // s3rver accepts only its fixed key pair, and serves buckets as paths.
    s3: new S3Client({
      endpoint: config.s3Endpoint,
      region,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
    }),
  };
}

/** Backoff before re-sending a request of unknown outcome, uniform in [0, this) ms. */
const RESEND_BACKOFF_MS = 50;
/** How much of an unexpected error's message a result carries. */
const MAX_MESSAGE_CHARS = 500;
/** Pause after a failed offset lookup, before the next request. */
const LOOKUP_FAILURE_PAUSE_MS = 20;

function emit(event: WorkerEvent): void {
  // stdout is a pipe: on Linux the write is synchronous, so the line is out before a SIGKILL.
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function readConfig(): WorkerConfig {
  const raw = process.env[WORKER_CONFIG_ENV];
  if (!raw) throw new Error(`${WORKER_CONFIG_ENV} must hold the worker's JSON configuration`);
  return JSON.parse(raw) as WorkerConfig;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

/** The outcome of one partition over the attempts made so far. */
class PartitionOutcome {
  status: 'pending' | PartitionResult['status'] = 'pending';
  offsets: number[] | undefined;
  code: string | undefined;
  message: string | undefined;
  duplicate = false;
  conflictingAcks: number[] | undefined;

  constructor(readonly partition: number) {}

  acked(offsets: number[], duplicate: boolean): void {
    if (this.offsets !== undefined && this.offsets[0] !== offsets[0]) {
      this.conflictingAcks = [...(this.conflictingAcks ?? [this.offsets[0]!]), offsets[0]!];
      return;
    }
    this.status = 'ok';
    this.offsets ??= offsets;
    this.duplicate ||= duplicate;
  }

  /** An ack anywhere wins; else a possibly applied attempt makes the whole outcome unknown. */
  refused(code: string, definite: boolean, message?: string): void {
    if (this.status === 'ok') return;
    this.code = code;
    this.message = message;
    if (!definite) this.status = 'unknown';
    else if (this.status === 'pending') this.status = 'fail';
  }

  get settled(): boolean {
    return this.status === 'ok' || this.status === 'fail';
  }

  result(): PartitionResult {
    return {
      partition: this.partition,
      status: this.status === 'pending' ? 'unknown' : this.status,
      ...(this.offsets ? { offsets: this.offsets } : {}),
      ...(this.code !== undefined && this.status !== 'ok' ? { code: this.code } : {}),
      ...(this.message !== undefined && this.status !== 'ok' ? { message: this.message } : {}),
      ...(this.duplicate ? { duplicate: true } : {}),
      ...(this.conflictingAcks ? { conflictingAcks: this.conflictingAcks } : {}),
    };
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const random = seededRandom(config.seed);
  const { dynamo, s3 } = emulatorClients(config);
  const points = new CrashPoints(config.crashPoints, config.stallPoints, random, emit);
  installWorkerMiddleware({ dynamo, s3 }, config.latencyMs, points, seededRandom(config.seed + 1));
  // Before the fault middleware, so that the trace sees what the engine is told.
  const trace = config.traceFile ? installWorkerTrace(dynamo, config.traceFile, config.name) : undefined;
  const spec = chaosSpecFromEnv(process.env.STRATA_CHAOS);
  const chaos = spec ? installChaos({ dynamo, s3 }, spec) : undefined;
  const hooks = points.engineHooks();
  const engine = new LogEngine({
    // As the server beside it: tail items with a TTL when STRATA_TAIL_TTL_MS says so (the chaos suite's short-TTL runs).
    store: announceSeals(new DynamoLogStore(dynamo, config.tableName, tailTtlFromEnv()), (partition, offsets) =>
      emit({ t: 'seal', partition, offsets }),
    ),
    objects: new S3ObjectStore(s3, config.bucket),
    ...(config.stagingBucket ? { staging: { objects: new S3ObjectStore(s3, config.stagingBucket) } } : {}),
    appendDeadlineMs: config.appendDeadlineMs,
    ...config.engine,
    onFlushDue: (ref) => emit({ t: 'flushDue', partition: ref.partition }),
    ...(Object.keys(hooks).length > 0 ? { [config.engineHookOption]: hooks } : {}),
  } as EngineOptions);

  let stopping = false;
  const stdin = createInterface({ input: process.stdin });
  stdin.on('close', () => (stopping = true));
  process.on('SIGTERM', () => (stopping = true));

  const int = (n: number) => Math.floor(random() * n);
  const between = ([min, max]: [number, number]) => min + int(max - min + 1);
  const total = config.mix.plain + config.mix.idempotent + config.mix.conditional;
  const pickKind = (): AppendKind => {
    const r = random() * total;
    if (r < config.mix.plain) return 'plain';
    return r < config.mix.plain + config.mix.idempotent ? 'idempotent' : 'conditional';
  };

  // This process's idempotent producer; a new id after an outcome it cannot settle.
  let generation = 0;
  let producerId = `${config.name}-p${generation}`;
  let sequences = new Map<number, number>();
  const rotateProducer = () => {
    generation += 1;
    producerId = `${config.name}-p${generation}`;
    sequences = new Map();
  };
  /** Where this process's last acknowledged append to each partition ended: an event-sourcing writer's expectation. */
  const lastEnd = new Map<number, number>();

  const makeRecords = (id: number, partitions: number[], count: number): { sent: SentRecord[]; inputs: AppendRecordInput[] } => {
    const targets = [...partitions];
    while (targets.length < count) targets.push(partitions[int(partitions.length)]!);
    const large = random() < config.largeShare ? int(count) : -1;
    const sent: SentRecord[] = [];
    const inputs: AppendRecordInput[] = [];
    targets.forEach((partition, i) => {
      const hot = random() < config.hotKeyShare ? `@h${int(config.hotKeys)}` : '';
      const valueId = `${config.name}/${id}/${i}${hot}`;
      const pad = 'x'.repeat(i === large ? config.largePadBytes : config.padBytes);
      sent.push({ partition, id: valueId });
      inputs.push({ key: encoder.encode(keyOfId(valueId)), value: encoder.encode(`${valueId}#${pad}`), partition });
    });
    return { sent, inputs };
  };

  const request = async (id: number): Promise<void> => {
    if (trace) trace.request = id;
    const kind = pickKind();
    let partitions: number[];
    let expectedOffset: number | undefined;
    // With no idempotent share in the mix (a sequencing without producers), no conditional append is idempotent either.
    const idempotent = kind === 'idempotent' || (kind === 'conditional' && config.mix.idempotent > 0 && random() < 0.5);
    if (kind === 'conditional') {
      const partition = int(config.partitions);
      partitions = [partition];
      const known = lastEnd.get(partition);
      if (known !== undefined && random() < 0.5) expectedOffset = known;
      else {
        try {
          expectedOffset = (await engine.reader.lookupOffset(config.topic, partition, 'latest')).offset;
        } catch {
          await sleep(LOOKUP_FAILURE_PAUSE_MS);
          return;
        }
      }
    } else {
      const shuffled = Array.from({ length: config.partitions }, (_, p) => p).sort(() => random() - 0.5);
      partitions = shuffled.slice(0, 1 + int(Math.min(config.maxPartitionsPerAppend, config.partitions)));
    }
    const count = Math.max(partitions.length, 1 + int(config.maxRecordsPerAppend));
    const { sent, inputs } = makeRecords(id, partitions, count);
    const route = partitions.length === 1 && (kind === 'conditional' || random() < 0.5) ? 'partition' : 'topic';
    if (route === 'topic') {
      // Interleave the partitions in the request: the answer must map offsets back by position.
      const order = inputs.map((_, i) => i).sort(() => random() - 0.5);
      const [s, r] = [order.map((i) => sent[i]!), order.map((i) => inputs[i]!)];
      sent.splice(0, sent.length, ...s);
      inputs.splice(0, inputs.length, ...r);
    }
    const counts = new Map<number, number>();
    for (const r of sent) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1);
    const outcomes = new Map([...counts.keys()].map((p) => [p, new PartitionOutcome(p)]));
    const stampId = producerId;
    const seq = (p: number) => sequences.get(p) ?? 0;

    const call = (): Promise<AppendResponse> => {
      if (route === 'partition') {
        const partition = partitions[0]!;
        return engine.appender.appendToPartition(config.topic, partition, {
          records: inputs.map(({ partition: _p, ...r }) => r),
          ...(idempotent ? { producer: { producerId: stampId, epoch: 0, sequence: seq(partition) } } : {}),
          ...(expectedOffset !== undefined ? { expectedOffset } : {}),
        });
      }
      return engine.appender.append(config.topic, {
        records: inputs,
        ...(idempotent
          ? { producer: { producerId: stampId, epoch: 0, sequences: Object.fromEntries([...counts.keys()].map((p) => [p, seq(p)])) } }
          : {}),
      });
    };

    emit({
      t: 'send',
      id,
      kind,
      route,
      records: sent,
      ...(expectedOffset !== undefined ? { expectedOffset } : {}),
      ...(idempotent ? { producerId: stampId } : {}),
    });
    await points.pass('worker:afterSend');
    const started = Date.now();
    let attempts = 0;
    for (;;) {
      if (attempts > 0) emit({ t: 'attempt', id, attempt: attempts });
      attempts += 1;
      try {
        const response = await call();
        for (const summary of response.partitions) {
          const offsets = response.offsets.filter((o) => o.partition === summary.partition).map((o) => o.offset);
          outcomes.get(summary.partition)?.acked(offsets, summary.duplicate);
        }
      } catch (err) {
        const committed = err instanceof StrataError ? (err.details.partitions as PartialEntry[] | undefined) : undefined;
        const code = err instanceof StrataError ? err.code : ((err as Error)?.name ?? 'UNKNOWN');
        const definite = err instanceof StrataError && err.status >= 400 && err.status < 500 && err.status !== 429;
        // What the edge would answer 500 for (lib/core/errors.ts: a bug) travels with its message.
        const internal = !(err instanceof StrataError) || err.status === 500;
        const message = internal ? String((err as Error)?.message ?? err).slice(0, MAX_MESSAGE_CHARS) : undefined;
        if (committed) {
          for (const entry of committed) {
            const outcome = outcomes.get(entry.partition);
            if (!outcome) continue;
            if (entry.baseOffset !== undefined && entry.lastOffset !== undefined) {
              outcome.acked(
                Array.from({ length: entry.lastOffset - entry.baseOffset + 1 }, (_, k) => entry.baseOffset! + k),
                false,
              );
            } else {
              const c = entry.error?.code ?? code;
              outcome.refused(c, DEFINITE_CODES.has(c), c === 'INTERNAL' ? entry.error?.message : undefined);
            }
          }
        } else {
          for (const outcome of outcomes.values()) outcome.refused(code, definite, message);
        }
      }
      const settled = [...outcomes.values()].every((o) => o.settled);
      if (settled || kind === 'plain' || attempts > config.resends || stopping) break;
      await sleep(int(RESEND_BACKOFF_MS));
    }

    const results = [...outcomes.values()].map((o) => o.result());
    for (const r of results) {
      if (r.status === 'ok') {
        lastEnd.set(r.partition, r.offsets!.at(-1)! + 1);
        if (idempotent) sequences.set(r.partition, seq(r.partition) + counts.get(r.partition)!);
      }
    }
    // A batch that may or may not be in the log leaves its sequence unknowable: start a new producer.
    if (idempotent && results.some((r) => r.status === 'unknown')) rotateProducer();
    await points.pass('worker:beforeResult');
    emit({ t: 'result', id, attempts, ms: Date.now() - started, partitions: results });
  };

  emit({ t: 'ready', pid: process.pid });
  let id = 0;
  while (!stopping) {
    await request(id++);
    await sleep(between(config.thinkMs));
  }
  emit({ t: 'bye', requests: id });
  chaos?.close(); // the last call totals into the fault log
  trace?.close();
  stdin.close();
  process.exit(0);
}

/** One partition of a multi-partition append's error (`details.partitions`, lib/sequencing/appender.ts). */
interface PartialEntry {
  partition: number;
  baseOffset?: number;
  lastOffset?: number;
  error?: { code: string; message?: string };
}

// The parent is gone (its end of the pipe closed): nobody is left to report to.
process.stdout.on('error', () => process.exit(0));

process.on('unhandledRejection', (err) => {
  emit({ t: 'error', message: `unhandled rejection: ${(err as Error)?.stack ?? String(err)}` });
  process.exit(1);
});

main().catch((err: unknown) => {
  emit({ t: 'error', message: (err as Error)?.stack ?? String(err) });
  process.exit(1);
});

/** The store's tail TTL from STRATA_TAIL_TTL_MS (inherited from the run), none when unset or 'off'. */
function tailTtlFromEnv(): { tailTtlMs?: number } {
  const value = process.env.STRATA_TAIL_TTL_MS;
  return value && value !== 'off' ? { tailTtlMs: Number(value) } : {};
}
