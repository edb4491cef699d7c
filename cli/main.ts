/**
 * `strata`: the command line of Strata. Every command talks to the HTTP API through the
 * client library (so it signs requests for AWS like any other client), prints tables for
 * people and JSON with `--json` for scripts.
 *
 * Exit codes: 0 done; 1 the server refused the request (the message says why and what to
 * do); 2 bad usage or input; 3 the server could not be reached or timed out; 4 the server
 * failed (5xx).
 */
import { createReadStream, statSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Strata, StrataError, type ConsumedRecord, type ProducerRecord, type ReadFormat, type SigningService, type StrataOptions } from '../client/index.js';
import { readLines } from './lines.js';
import { startProgress } from './progress.js';

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, serverError: 4 } as const;

/** A problem with what the user gave us (not with the server). */
class UsageError extends Error {}

interface GlobalOptions {
  url: string;
  appendUrl?: string;
  readUrl?: string;
  region?: string;
  service?: SigningService;
  readFormat: ReadFormat;
  json?: boolean;
  progress: boolean;
}

const DEFAULT_URL = 'http://127.0.0.1:4510';

function client(cmd: Command): { strata: Strata; g: GlobalOptions } {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  return { strata: new Strata(clientOptions(g)), g };
}

/**
 * The client's options from the global flags: `--append-url` and `--read-url` (the
 * function URLs of a stack deployed with them) together replace `--url`.
 */
export function clientOptions(g: Pick<GlobalOptions, 'url' | 'appendUrl' | 'readUrl' | 'region' | 'service' | 'readFormat'>): StrataOptions {
  if ((g.appendUrl === undefined) !== (g.readUrl === undefined)) {
    throw new UsageError('--append-url and --read-url go together: a stack with function URLs has one for each function (its AppendUrl and ReadUrl outputs)');
  }
  const url = g.appendUrl !== undefined && g.readUrl !== undefined ? { appendUrl: g.appendUrl, readUrl: g.readUrl } : g.url;
  return { url, readFormat: g.readFormat, ...(g.region ? { region: g.region } : {}), ...(g.service ? { service: g.service } : {}) };
}

function int(name: string, min = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return Number(value);
  };
}

function print(g: GlobalOptions, json: unknown, human: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(json)}\n` : `${human()}\n`);
}

function table(columns: string[], rows: (string | number | null)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `key=value` pairs of topic config, values as numbers where they look like numbers. */
function parseConfig(pairs: string[]): Record<string, string | number> {
  const config: Record<string, string | number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`config '${pair}' is not key=value (e.g. retentionMs=86400000)`);
    const value = pair.slice(eq + 1);
    config[pair.slice(0, eq)] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return config;
}

function when(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Command line of Strata, the serverless partitioned log')
    .version('0.1.0')
    .option('--url <url>', 'API URL (env STRATA_URL)', process.env.STRATA_URL ?? DEFAULT_URL)
    .option('--append-url <url>', 'the append function URL of a stack with function URLs (AppendUrl output; env STRATA_APPEND_URL); with --read-url, instead of --url', process.env.STRATA_APPEND_URL || undefined)
    .option('--read-url <url>', 'the read function URL (ReadUrl output; env STRATA_READ_URL)', process.env.STRATA_READ_URL || undefined)
    .option('--region <region>', 'AWS region to sign requests for (default: from the URL or AWS_REGION)')
    .addOption(
      new Option('--service <service>', 'SigV4 service to sign for (default: lambda for function URLs, execute-api for API Gateway)').choices(['execute-api', 'lambda']),
    )
    .addOption(
      new Option('--read-format <format>', 'how reads travel: the stored record batches (binary, CRC-checked here) or JSON')
        .choices(['batches', 'json'])
        .default('batches'),
    )
    .option('--json', 'machine-readable JSON output')
    .option('--no-progress', 'never show a progress bar')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added so that they inherit it: usage errors throw
    // (exit code 2) instead of exiting from inside commander.
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  strata topics create orders --partitions 3
  seq 1 1000 | strata produce orders
  strata produce orders --file events.jsonl --format json
  strata consume orders --from earliest
  strata consume orders --group billing --follow
  strata offsets orders
  strata groups describe billing`,
    );

  const topics = program.command('topics').description('create, list, describe, configure and delete topics');
  topics
    .command('create <name>')
    .description('create a topic')
    .option('-p, --partitions <n>', 'number of partitions', int('partitions', 1), 1)
    .option('-c, --config <key=value...>', 'topic config, e.g. retentionMs=86400000 cleanupPolicy=compact')
    .action(async (name: string, opts: { partitions: number; config?: string[] }, cmd: Command) => {
      const { strata, g } = client(cmd);
      const topic = await strata.createTopic(name, { partitions: opts.partitions, ...(opts.config ? { config: parseConfig(opts.config) } : {}) });
      print(g, topic, () => `created topic ${topic.name} with ${topic.partitions} partition(s)`);
    });
  topics
    .command('list')
    .description('list topics')
    .action(async (_opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const list = await strata.listTopics();
      print(g, { topics: list }, () =>
        list.length === 0 ? 'no topics (create one: strata topics create NAME --partitions 3)' : table(['NAME', 'PARTITIONS', 'CLEANUP', 'CREATED'], list.map((t) => [t.name, t.partitions, t.config.cleanupPolicy, when(t.createdAt)])),
      );
    });
  topics
    .command('describe <name>')
    .description('show a topic, its config and each partition\'s offsets')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const d = await strata.describeTopic(name);
      print(g, d, () =>
        [
          `topic ${d.name} (id ${d.topicId}), ${d.partitions} partition(s), created ${when(d.createdAt)}`,
          `config: ${Object.entries(d.config).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
          '',
          table(
            ['PARTITION', 'LOG START', 'HIGH WATERMARK', 'FLUSHED', 'TAIL BYTES', 'LAST APPEND'],
            d.partitionStates.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.flushedOffset, p.tailBytes, when(p.lastAppendAt)]),
          ),
        ].join('\n'),
      );
    });
  topics
    .command('config <name> [key=value...]')
    .description('show the config of a topic, or change the given keys')
    .action(async (name: string, pairs: string[], _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const topic = pairs.length === 0 ? await strata.describeTopic(name) : await strata.updateTopicConfig(name, parseConfig(pairs));
      print(g, topic.config, () => Object.entries(topic.config).map(([k, v]) => `${k}=${String(v)}`).join('\n'));
    });
  topics
    .command('delete <name>')
    .description('delete a topic and its data')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      await strata.deleteTopic(name);
      print(g, { deleted: name }, () => `deleted topic ${name}`);
    });

  program
    .command('produce <topic>')
    .description('append records read from stdin or a file: one record per line')
    .option('-f, --file <path>', 'read this file instead of stdin')
    .addOption(new Option('--format <format>', 'lines: each line is a value; json: each line is {"key","value","headers","partition","timestamp"}').choices(['lines', 'json']).default('lines'))
    .option('-k, --key <key>', 'the key of every record')
    .option('--key-separator <sep>', 'lines format: split each line into key and value at the first <sep>')
    .option('-p, --partition <n>', 'append every record to this partition', int('partition'))
    .option('--latency-budget-ms <ms>', "how long a record may wait to be acknowledged while its batch grows (default: the client producer's, 500)", int('latency-budget-ms', 0))
    .option('--linger-ms <ms>', 'instead of a budget: a batch goes this long after its first record (the fixed linger of earlier versions)', int('linger-ms', 0))
    .option('--batch-records <n>', 'records per request', int('batch-records', 1), 1000)
    .action(async (topic: string, opts: ProduceOptions, cmd: Command) => produce(topic, opts, cmd));

  program
    .command('consume <topic>')
    .description('print records: values one per line, or JSON lines with --json')
    .option('--from <where>', 'earliest, latest or an offset (default earliest; with --group: where a partition without a committed offset starts)')
    .option('--timestamp <time>', 'start at the first record at or after this time (ms since the epoch or an ISO date)')
    .option('-g, --group <group>', 'consume as a member of this consumer group and commit its progress')
    .option('-p, --partition <n>', 'only this partition', int('partition'))
    .option('-f, --follow', 'keep waiting for new records (default: stop at the end)')
    .option('-n, --max-records <n>', 'stop after this many records', int('max-records', 1))
    .addOption(new Option('--format <format>', 'value: the value bytes and a newline; json: one JSON object per record').choices(['value', 'json']))
    .action(async (topic: string, opts: ConsumeOptions, cmd: Command) => consume(topic, opts, cmd));

  program
    .command('offsets <topic>')
    .description("show each partition's earliest and latest offset, or the offset at a time")
    .option('-p, --partition <n>', 'only this partition', int('partition'))
    .option('--at <when>', 'earliest, latest, or a time (ms or ISO date): the first offset at or after it')
    .action(async (topic: string, opts: { partition?: number; at?: string }, cmd: Command) => {
      const { strata, g } = client(cmd);
      const d = await strata.describeTopic(topic);
      const partitions = opts.partition !== undefined ? [opts.partition] : d.partitionStates.map((p) => p.partition);
      if (opts.at !== undefined) {
        const at = opts.at === 'earliest' || opts.at === 'latest' ? opts.at : parseTime(opts.at);
        const rows = await Promise.all(partitions.map(async (p) => ({ partition: p, ...(await strata.lookupOffset(topic, p, at)) })));
        print(g, { topic, at: opts.at, offsets: rows }, () => table(['PARTITION', 'OFFSET', 'TIMESTAMP'], rows.map((r) => [r.partition, r.offset, when(r.timestamp)])));
        return;
      }
      const rows = d.partitionStates.filter((p) => partitions.includes(p.partition));
      print(
        g,
        { topic, offsets: rows.map((p) => ({ partition: p.partition, earliest: p.logStartOffset, latest: p.highWatermark })) },
        () => table(['PARTITION', 'EARLIEST', 'LATEST', 'RECORDS'], rows.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.highWatermark - p.logStartOffset])),
      );
    });

  const groups = program.command('groups').description('consumer groups: members, committed offsets and lag');
  groups
    .command('describe <group>')
    .description("show a group's members, their partitions and leases")
    .action(async (group: string, _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const d = await strata.describeGroup(group);
      print(g, d, () =>
        d.members.length === 0
          ? `group ${group} has no live members (generation ${d.generation})`
          : `group ${group}, generation ${d.generation}\n\n` +
            table(['MEMBER', 'CLIENT', 'PARTITIONS', 'LEASE UNTIL'], d.members.map((m) => [m.memberId, m.clientId || null, m.assignment.map((a) => `${a.topic}/${a.partition}`).join(' ') || null, when(m.expiresAt)])),
      );
    });
  groups
    .command('offsets <group>')
    .description("show a group's committed offsets and its lag behind each partition's high watermark")
    .option('-t, --topic <topic>', 'only this topic')
    .action(async (group: string, opts: { topic?: string }, cmd: Command) => {
      const { strata, g } = client(cmd);
      const offsets = await strata.fetchOffsets(group, opts.topic);
      const hwms = new Map<string, number>();
      for (const topic of new Set(offsets.map((o) => o.topic))) {
        for (const p of (await strata.describeTopic(topic)).partitionStates) hwms.set(`${topic}/${p.partition}`, p.highWatermark);
      }
      const rows = offsets.map((o) => ({ ...o, lag: Math.max(0, (hwms.get(`${o.topic}/${o.partition}`) ?? o.offset) - o.offset) }));
      print(g, { group, offsets: rows }, () =>
        rows.length === 0 ? `group ${group} has no committed offsets` : table(['TOPIC', 'PARTITION', 'OFFSET', 'LAG', 'UPDATED'], rows.map((o) => [o.topic, o.partition, o.offset, o.lag, when(o.updatedAt)])),
      );
    });
  groups
    .command('commit <group>')
    .description("set a group's committed offset (e.g. to replay); unfenced, so stop the group's consumers first")
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-p, --partition <n>', 'partition', int('partition'))
    .requiredOption('-o, --offset <offset>', 'the offset of the next record the group will process', int('offset'))
    .action(async (group: string, opts: { topic: string; partition: number; offset: number }, cmd: Command) => {
      const { strata, g } = client(cmd);
      const committed = await strata.commitOffsets(group, [{ topic: opts.topic, partition: opts.partition, offset: opts.offset }]);
      print(g, { group, offsets: committed }, () => `group ${group} will read ${opts.topic}/${opts.partition} from offset ${opts.offset}`);
    });
  return program;
}

interface ProduceOptions {
  file?: string;
  format: 'lines' | 'json';
  key?: string;
  keySeparator?: string;
  partition?: number;
  latencyBudgetMs?: number;
  lingerMs?: number;
  batchRecords: number;
}

/** Requests of produce allowed in flight at once (each up to batchRecords records). */
const PRODUCE_WINDOW = 8;

async function produce(topic: string, opts: ProduceOptions, cmd: Command): Promise<void> {
  const { strata, g } = client(cmd);
  const input = opts.file ? createReadStream(opts.file) : process.stdin;
  const totalBytes = opts.file ? statSync(opts.file).size : undefined;
  const progress = startProgress({ enabled: g.progress && !!process.stderr.isTTY, label: `produce ${topic}`, ...(totalBytes !== undefined ? { totalBytes } : {}) });
  if (opts.lingerMs !== undefined && opts.latencyBudgetMs !== undefined) {
    throw new UsageError('--linger-ms and --latency-budget-ms do not go together: a batch waits either a fixed linger or within a latency budget');
  }
  const producer = strata.producer({
    batchRecords: opts.batchRecords,
    ...(opts.lingerMs !== undefined ? { lingerMs: opts.lingerMs } : {}),
    ...(opts.latencyBudgetMs !== undefined ? { latencyBudgetMs: opts.latencyBudgetMs } : {}),
  });
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let chunk: ProducerRecord[] = [];
  let chunkBytes = 0;
  let lineNo = 0;
  const flushChunk = async () => {
    if (chunk.length === 0) return;
    const records = chunk;
    const bytes = chunkBytes;
    chunk = [];
    chunkBytes = 0;
    const p: Promise<void> = producer.send(topic, records).then(
      () => progress.add(records.length, bytes),
      (err: unknown) => void (failure ??= err),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    while (inFlight.size >= PRODUCE_WINDOW) await Promise.race(inFlight);
  };
  try {
    for await (const line of readLines(input)) {
      lineNo += 1;
      if (failure) break;
      const record = toRecord(line, lineNo, opts);
      if (record === undefined) continue;
      chunk.push(record);
      chunkBytes += line.length + 1;
      if (chunk.length >= opts.batchRecords) await flushChunk();
    }
    await flushChunk();
    await Promise.all(inFlight);
    await producer.close();
  } finally {
    progress.stop();
  }
  if (failure) throw failure;
  const seconds = progress.elapsedMs / 1000;
  const summary = { topic, records: progress.records, bytes: progress.bytes, seconds: Number(seconds.toFixed(3)) };
  if (g.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stderr.write(`produced ${summary.records} record(s), ${(summary.bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s\n`);
}

function toRecord(line: Buffer, lineNo: number, opts: ProduceOptions): ProducerRecord | undefined {
  const base: Partial<ProducerRecord> = {};
  if (opts.partition !== undefined) base.partition = opts.partition;
  if (opts.key !== undefined) base.key = opts.key;
  if (opts.format === 'lines') {
    if (opts.keySeparator !== undefined) {
      const at = line.indexOf(opts.keySeparator);
      if (at >= 0) return { ...base, key: line.subarray(0, at), value: line.subarray(at + Buffer.byteLength(opts.keySeparator)) };
    }
    return { ...base, value: line };
  }
  const text = line.toString('utf8').trim();
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`line ${lineNo} is not JSON (${(err as Error).message}); with --format json each line is {"key": …, "value": …}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !('value' in parsed)) {
    throw new UsageError(`line ${lineNo} has no "value"; with --format json each line is {"key": …, "value": …, "headers": {…}, "partition": n}`);
  }
  const o = parsed as Record<string, unknown>;
  const asText = (v: unknown) => (v === null || v === undefined ? (v as null | undefined) : typeof v === 'string' ? v : JSON.stringify(v));
  const record: ProducerRecord = { ...base, value: asText(o.value) ?? null };
  if (o.key !== undefined) record.key = asText(o.key) ?? null;
  if (o.headers && typeof o.headers === 'object') record.headers = Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k, asText(v) ?? null]));
  if (typeof o.partition === 'number') record.partition = o.partition;
  if (typeof o.timestamp === 'number') record.timestamp = o.timestamp;
  return record;
}

interface ConsumeOptions {
  from?: string;
  timestamp?: string;
  group?: string;
  partition?: number;
  follow?: boolean;
  maxRecords?: number;
  format?: 'value' | 'json';
}

async function consume(topic: string, opts: ConsumeOptions, cmd: Command): Promise<void> {
  const { strata, g } = client(cmd);
  const format = opts.format ?? (g.json ? 'json' : 'value');
  let fromOffset: number | 'earliest' | 'latest' | undefined;
  if (opts.from !== undefined) {
    if (opts.from === 'earliest' || opts.from === 'latest') fromOffset = opts.from;
    else if (/^\d+$/.test(opts.from)) fromOffset = Number(opts.from);
    else throw new UsageError(`--from is earliest, latest or an offset; got '${opts.from}'`);
  }
  if (opts.group !== undefined && opts.partition !== undefined) throw new UsageError('--partition and --group do not go together: the group assigns partitions');
  const consumer = strata.subscribe(topic, {
    follow: opts.follow ?? false,
    ...(fromOffset !== undefined ? { fromOffset } : {}),
    ...(opts.timestamp !== undefined ? { fromTimestamp: parseTime(opts.timestamp) } : {}),
    ...(opts.group !== undefined ? { group: opts.group, clientId: `strata-cli@${process.pid}` } : {}),
    ...(opts.partition !== undefined ? { partitions: [opts.partition] } : {}),
  });
  const progress = startProgress({ enabled: g.progress && !!process.stderr.isTTY && !process.stdout.isTTY, label: `consume ${topic}` });
  const stop = () => void consumer.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const out = new BufferedWriter(process.stdout);
  try {
    for await (const record of consumer) {
      const bytes = format === 'json' ? out.write(`${JSON.stringify(jsonRecord(record))}\n`) : out.write(record.value ?? Buffer.alloc(0), '\n');
      progress.add(1, bytes);
      if (opts.maxRecords !== undefined && progress.records >= opts.maxRecords) break;
      if (out.pending()) await out.drain();
    }
  } finally {
    await out.drain();
    progress.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** A record as a JSON line: text where the bytes are UTF-8, base64 (and `"encoding":"base64"`) where not. */
function jsonRecord(r: ConsumedRecord) {
  const fields = [r.key, r.value, ...Object.values(r.headers)];
  const utf8 = fields.every((b) => b === null || isUtf8(b));
  const enc = (b: Buffer | null) => (b === null ? null : b.toString(utf8 ? 'utf8' : 'base64'));
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: enc(r.key),
    value: enc(r.value),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, enc(v)])),
    ...(utf8 ? {} : { encoding: 'base64' }),
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function isUtf8(b: Buffer): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Collects output into large writes (one write per record is slow) and respects the pipe's backpressure. */
class BufferedWriter {
  private parts: (Buffer | string)[] = [];
  private size = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}
  write(...parts: (Buffer | string)[]): number {
    let n = 0;
    for (const p of parts) {
      this.parts.push(p);
      n += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
    }
    this.size += n;
    return n;
  }
  pending(): boolean {
    return this.size >= 64 * 1024;
  }
  async drain(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(data)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
}

function parseTime(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`'${value}' is not a time: give ms since the epoch or an ISO date (2026-01-31T12:00:00Z)`);
  return ms;
}

/** What to tell the user, and the exit code, for an error. */
export function describeError(err: unknown, url: string): { message: string; code: number } {
  if (err instanceof CommanderError) return { message: '', code: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof UsageError) return { message: err.message, code: EXIT.usage };
  if (err instanceof StrataError) {
    if (err.code === 'CONNECTION' || err.code === 'REQUEST_TIMEOUT') {
      return { message: `${err.message}\n  pass --url or set STRATA_URL to reach another server`, code: EXIT.unreachable };
    }
    const hint = HINTS[err.code];
    const code = err.status >= 500 ? EXIT.serverError : EXIT.refused;
    return { message: `${err.code}: ${err.message}${hint ? `\n  ${hint}` : ''}`, code };
  }
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return { message: (err as Error).message, code: EXIT.usage };
  return { message: `unexpected error talking to ${url}: ${(err as Error)?.stack ?? String(err)}`, code: EXIT.serverError };
}

const HINTS: Record<string, string> = {
  TOPIC_NOT_FOUND: 'list topics with: strata topics list; create one with: strata topics create NAME --partitions 3',
  TOPIC_EXISTS: 'describe it with: strata topics describe NAME',
  PARTITION_NOT_FOUND: 'see the partitions with: strata topics describe NAME',
  OFFSET_OUT_OF_RANGE: 'see the valid range with: strata offsets TOPIC',
  NOT_UTF8: 'print such records with --json (bytes that are not UTF-8 come as base64)',
  RECORD_TOO_LARGE: 'raise the limit with: strata topics config TOPIC maxRecordBytes=N',
  WRONG_FUNCTION: 'that URL is the other function\'s: pass the AppendUrl output as --append-url and the ReadUrl output as --read-url',
};

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const url = (program.opts() as GlobalOptions).url ?? DEFAULT_URL;
    const { message, code } = describeError(err, url);
    if (message) process.stderr.write(`strata: ${message}\n`);
    return code;
  }
}
