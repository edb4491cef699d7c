/**
 * The whole of Strata on one machine: DynamoDB Local (Amazon's jar) and s3rver as real
 * emulators, the table and bucket created from the same definition as the CDK stack,
 * and the HTTP API served by the same handlers as in Lambda. `npm start` runs it with
 * data under STRATA_DATA_DIR; the tests run it in memory on free ports.
 */
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { createAppendHandler } from '../functions/append/handler.js';
import { createCompactHandler } from '../functions/compact/handler.js';
import { createPushHandler } from '../functions/push/handler.js';
import { createReadHandler } from '../functions/read/handler.js';
import type { HttpHandler } from '../functions/shared/dispatch.js';
import { lambdaFlushTrigger, lambdaSelfInvoker, type PartitionInvoker } from '../functions/shared/flush-trigger.js';
import { createObservability } from '../functions/shared/observability.js';
import { pushAnnouncer, pushDiscovery, pushSessions } from '../functions/shared/push.js';
import { streamingEntry } from '../functions/shared/streaming.js';
import { DynamoLogStore } from '../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../lib/aws/s3-object-store.js';
import { DEFAULT_TAIL_TTL_MS, EXPRESS_STAGE_BYTES } from '../lib/core/constants.js';
import { type EngineOptions, LogEngine } from '../lib/engine.js';
import type { LogStore } from '../lib/ports/log-store.js';
import type { ConnectionPoster } from '../lib/push/fanout.js';
import { ensureBucket, ensureTable, localDynamoClient, localS3Client, startDynamoDbLocal, startS3rver } from './emulators.js';
import { type LocalPushOptions, LocalPushServer, PUSH_PATH } from './push-server.js';
import { LOCAL_FUNCTION_URL_PATHS, LOCAL_STREAMING_RUNTIME, startHttpServer } from './server.js';

/** Runs `pass` every `intervalMs`, never two at once, like a scheduled rule with one target. */
function startSchedule(pass: (event: unknown) => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void) {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = pass({ source: 'strata.local-schedule', 'detail-type': 'Scheduled Event' })
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * The store, appending the offsets of each seal to `file` before it is sent: a seal
 * applied whose answer is lost (a fault after the call, a SIGKILL while it is in flight)
 * is logged too, so the file holds every offset that may hold a void (and some that a
 * lost race left filled, which no check takes for a gap).
 */
function logVoids(store: LogStore, file: string): LogStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'sealOffsets') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: Parameters<LogStore['sealOffsets']>) => {
        const [ref, offsets] = args;
        appendFileSync(file, `${ref.topic} ${ref.partition} ${offsets.join(' ')}\n`);
        return target.sealOffsets(...args);
      };
    },
  });
}

/** One handler per engine, taking requests in turn. */
function roundRobin(handlers: HttpHandler[]): HttpHandler {
  if (handlers.length === 1) return handlers[0]!;
  let next = 0;
  return (event) => handlers[next++ % handlers.length]!(event);
}

export const DEFAULT_TABLE_NAME = 'strata';
/** The name the append function's trigger invokes, locally as on AWS (STRATA_COMPACT_FUNCTION_NAME). */
export const COMPACT_FUNCTION_NAME = 'strata-compact';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const DEFAULT_BUCKET_NAME = 'strata-local';
/**
 * The staging tier's stand-in for the S3 Express One Zone directory bucket: a second
 * s3rver bucket (docs/design.md, "The staging tier", for what differs from AWS).
 */
export const DEFAULT_STAGING_BUCKET_NAME = 'strata-local-staging';

export interface LocalStackOptions {
  /** Where data is kept across restarts; in memory (and a temp dir for S3) when absent. */
  dataDir?: string;
  /** HTTP port of the API; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Use emulators that are already running instead of starting them. */
  dynamoEndpoint?: string;
  s3Endpoint?: string;
  dynamoPort?: number;
  s3Port?: number;
  tableName?: string;
  bucketName?: string;
  engine?: Partial<EngineOptions>;
  /**
   * Serves requests from this many independent engines, round-robin (default 1). Each
   * has its own topic, head and producer caches, group-commit queues and in-process
   * wake-ups, as separate Lambda execution environments do, so a retry can reach an
   * engine that never saw the first attempt.
   */
  engines?: number;
  /**
   * Appends every offset a seal is sent for to this file (`<topic> <partition> <offset>…`
   * a line, written synchronously before the call, so a seal whose answer a fault or a
   * SIGKILL loses is there too): lets the chaos suite tell a sealed gap from a lost write
   * across SIGKILLs (docs/design.md, "reserve, fill, seal").
   */
  voidLog?: string;
  /**
   * Tail items expire through DynamoDB TTL this long after their append (ms), as on AWS
   * (DynamoDB Local removes expired items itself, within seconds); null: flushes delete
   * them instead. Default DEFAULT_TAIL_TTL_MS (24 h), the construct's default.
   */
  tailTtlMs?: number | null;
  /**
   * The staging tier (lib/staging/tier.ts), as the construct's stagingAvailabilityZoneId
   * deploys it: staged batches go to a second s3rver bucket (`bucketName`, default
   * DEFAULT_STAGING_BUCKET_NAME), and new topics get stageBytes EXPRESS_STAGE_BYTES
   * unless `engine.topicDefaults` says otherwise. `writes: false` drains it. Off by default.
   */
  staging?: boolean | { bucketName?: string; writes?: boolean };
  /** Wraps the DynamoDB adapter, e.g. with a fault injector in tests. */
  wrapStore?: (store: LogStore) => LogStore;
  /**
   * The push endpoint (docs/push.md): WebSocket connections at `ws://…/v1/push` on the
   * server's port, run by the push function's handler, and the append path's fan-out to
   * them, as the construct deploys it. On by default; false turns it off (`GET /v1/push`
   * then answers 404 PUSH_NOT_CONFIGURED and consumers long-poll).
   */
  push?:
    | false
    | (LocalPushOptions & { quietMs?: number; pingIntervalMs?: number; wrapPoster?: (poster: ConnectionPoster) => ConnectionPoster });
  /** Runs the compact function on this interval, as the EventBridge schedule does; off when absent. */
  compactIntervalMs?: number;
  /**
   * Called with the SDK clients once the table and bucket exist, before any request is
   * served: where `npm start` installs SDK middleware (local/chaos.ts).
   */
  instrumentClients?: (clients: { dynamo: DynamoDBClient; s3: S3Client; stagingS3?: S3Client }) => void;
}

export interface LocalStack {
  url: string;
  port: number;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  bucketName: string;
  /** The staging tier's bucket, when `staging` is on. */
  stagingBucketName?: string;
  engine: LogEngine;
  /** The push endpoint, unless `push: false`. */
  push?: LocalPushServer;
  /**
   * The stand-ins for the append and read functions' Lambda function URLs (local/server.ts):
   * what `new Strata({ url: functionUrls })` takes; reads there are streamed (up to 64 MiB).
   */
  functionUrls: { appendUrl: string; readUrl: string };
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    const bucketName = options.bucketName ?? DEFAULT_BUCKET_NAME;
    let s3Dir: string;
    if (options.dataDir) {
      s3Dir = join(options.dataDir, 's3');
      await mkdir(join(options.dataDir, 'dynamodb'), { recursive: true });
      await mkdir(s3Dir, { recursive: true });
    } else {
      s3Dir = await mkdtemp(join(tmpdir(), 'strata-s3-'));
      stops.push(() => rm(s3Dir, { recursive: true, force: true }));
    }
    const [dynamoEndpoint, s3Endpoint] = await Promise.all([
      options.dynamoEndpoint ??
        startDynamoDbLocal({
          ...(options.dynamoPort !== undefined ? { port: options.dynamoPort } : {}),
          ...(options.dataDir ? { dataDir: join(options.dataDir, 'dynamodb') } : {}),
        }).then((d) => {
          stops.push(d.stop);
          return d.endpoint;
        }),
      options.s3Endpoint ??
        startS3rver({ directory: s3Dir, ...(options.s3Port !== undefined ? { port: options.s3Port } : {}) }).then((s) => {
          stops.push(s.stop);
          return s.endpoint;
        }),
    ]);
    const dynamo = localDynamoClient(dynamoEndpoint);
    const s3 = localS3Client(s3Endpoint);
    const stagingOptions = options.staging === true ? {} : options.staging || undefined;
    const stagingBucketName = stagingOptions ? (stagingOptions.bucketName ?? DEFAULT_STAGING_BUCKET_NAME) : undefined;
    // A client of its own, as the tier's S3 Express endpoint is another host on AWS (and
    // the benchmarks give it other latencies).
    const stagingS3 = stagingBucketName ? localS3Client(s3Endpoint) : undefined;
    await Promise.all([
      ensureTable(dynamo, tableName),
      ensureBucket(s3, bucketName),
      ...(stagingS3 && stagingBucketName ? [ensureBucket(stagingS3, stagingBucketName)] : []),
    ]);
    options.instrumentClients?.({ dynamo, s3, ...(stagingS3 ? { stagingS3 } : {}) });

    // Appends ask for flushes through the Lambda Invoke API, which this server answers,
    // so the local stack runs the same trigger code as the append function on AWS.
    let invokeEndpoint: string | undefined;
    const compactObs = createObservability('compact');
    let invoke: PartitionInvoker | undefined;
    const trigger: PartitionInvoker = async (ref, continuation) => {
      if (!invokeEndpoint) return;
      invoke ??= lambdaFlushTrigger(
        new LambdaClient({ endpoint: invokeEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
        COMPACT_FUNCTION_NAME,
        compactObs.logger,
      );
      return invoke(ref, continuation);
    };
    const engineCount = options.engines ?? 1;
    if (!Number.isInteger(engineCount) || engineCount < 1) throw new Error(`engines must be a whole number ≥ 1; got ${engineCount}`);
    const tailTtlMs = options.tailTtlMs === undefined ? DEFAULT_TAIL_TTL_MS : options.tailTtlMs;
    const dynamoStore = new DynamoLogStore(dynamo, tableName, tailTtlMs === null ? {} : { tailTtlMs });
    const base: LogStore = options.voidLog ? logVoids(dynamoStore, options.voidLog) : dynamoStore;
    const store = options.wrapStore ? options.wrapStore(base) : base;
    const objects = new S3ObjectStore(s3, bucketName);
    // The tier, unless the caller brings its own staging store (the benchmarks' metered one).
    const staging: Partial<EngineOptions> =
      stagingS3 && stagingBucketName
        ? {
            staging: {
              objects: new S3ObjectStore(stagingS3, stagingBucketName),
              ...(stagingOptions?.writes === false ? { writes: false } : {}),
            },
            ...options.engine,
            topicDefaults: { stageBytes: EXPRESS_STAGE_BYTES, ...options.engine?.topicDefaults },
          }
        : { ...options.engine };
    // The push endpoint: the same handler as the push function, the same fan-out as the
    // append function, posting to this server's sockets instead of API Gateway's.
    const pushOptions = options.push === false ? undefined : (options.push ?? {});
    const pushServer = pushOptions
      ? new LocalPushServer(createPushHandler(pushSessions(dynamo, tableName, store), createObservability('push')), pushOptions)
      : undefined;
    const announce =
      pushServer && pushOptions
        ? pushAnnouncer(
            dynamo,
            tableName,
            pushOptions.wrapPoster ? pushOptions.wrapPoster(pushServer) : pushServer,
            createObservability('append'),
            {
              ...(pushOptions.quietMs !== undefined ? { quietMs: pushOptions.quietMs } : {}),
            },
          )
        : undefined;
    const engines = Array.from(
      { length: engineCount },
      () => new LogEngine({ onFlushDue: trigger, store, objects, ...(announce ? { announcer: announce } : {}), ...staging }),
    );
    const engine = engines[0]!;
    // As on AWS: the scheduled run fans out one asynchronous invocation per partition.
    // A scheduled run hands the rest of its pass on through the same Invoke API, as on AWS.
    const continueFanOut = async (event: object) => {
      if (!invokeEndpoint) return;
      await lambdaSelfInvoker(
        new LambdaClient({ endpoint: invokeEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
        COMPACT_FUNCTION_NAME,
      )(event);
    };
    const compact = createCompactHandler(engine, compactObs, { dispatch: trigger, continueFanOut });
    const append = roundRobin(engines.map((e) => createAppendHandler(e, createObservability('append'))));
    const readHandlers = (streamed: boolean) =>
      roundRobin(
        engines.map((e) =>
          createReadHandler(e, createObservability('read'), {
            streamed,
            push: (event) =>
              pushServer
                ? pushDiscovery(`ws://${event.headers.host ?? event.requestContext.domainName}${PUSH_PATH}`, {
                    signed: false,
                    ...(pushOptions?.quietMs !== undefined ? { quietMs: pushOptions.quietMs } : {}),
                    ...(pushOptions?.pingIntervalMs !== undefined ? { pingIntervalMs: pushOptions.pingIntervalMs } : {}),
                  })
                : undefined,
          }),
        ),
      );
    const streamedRead = readHandlers(true);
    const server = await startHttpServer(
      { append, read: readHandlers(false) },
      {
        // The function URL stand-ins: the append handler, the read function's streaming entry.
        functionUrls: { append, read: streamingEntry(() => streamedRead, LOCAL_STREAMING_RUNTIME) },
        port: options.port ?? 0,
        ...(options.host ? { host: options.host } : {}),
        functions: { [COMPACT_FUNCTION_NAME]: compact },
        onInvokeError: (err) => compactObs.logger.error('compact invocation failed', { error: err as Error }),
      },
    );
    stops.push(server.close);
    if (pushServer) {
      pushServer.attach(server.server);
      stops.push(() => pushServer.close());
    }
    invokeEndpoint = server.url;
    if (options.compactIntervalMs) {
      const schedule = startSchedule(compact, options.compactIntervalMs, (err) =>
        compactObs.logger.error('scheduled compact pass failed', { error: err as Error }),
      );
      stops.push(schedule);
    }
    return {
      url: server.url,
      port: server.port,
      dynamoEndpoint,
      s3Endpoint,
      tableName,
      bucketName,
      ...(stagingBucketName ? { stagingBucketName } : {}),
      engine,
      ...(pushServer ? { push: pushServer } : {}),
      functionUrls: {
        appendUrl: `${server.url}${LOCAL_FUNCTION_URL_PATHS.append}`,
        readUrl: `${server.url}${LOCAL_FUNCTION_URL_PATHS.read}`,
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
