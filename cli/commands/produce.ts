/** `strata produce`: records from stdin or a file, one per line, through the client's producer. */
import { createReadStream, statSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { ProducerRecord } from '../../client/index.js';
import { readLines } from '../lines.js';
import { client, int, UsageError } from '../options.js';
import { startProgress } from '../progress.js';

/** Adds `produce` to the program. */
export function produceCommand(program: Command): void {
  program
    .command('produce <topic>')
    .description('append records read from stdin or a file: one record per line')
    .option('-f, --file <path>', 'read this file instead of stdin')
    .addOption(
      new Option('--format <format>', 'lines: each line is a value; json: each line is {"key","value","headers","partition","timestamp"}')
        .choices(['lines', 'json'])
        .default('lines'),
    )
    .option('-k, --key <key>', 'the key of every record')
    .option('--key-separator <sep>', 'lines format: split each line into key and value at the first <sep>')
    .option('-p, --partition <n>', 'append every record to this partition', int('partition'))
    .option(
      '--latency-budget-ms <ms>',
      "how long a record may wait to be acknowledged while its batch grows (default: the client producer's, 500)",
      int('latency-budget-ms', 0),
    )
    .option(
      '--linger-ms <ms>',
      'instead of a budget: a batch goes this long after its first record (the fixed linger of earlier versions)',
      int('linger-ms', 0),
    )
    .option('--batch-records <n>', 'records per request', int('batch-records', 1), 1000)
    .action(async (topic: string, opts: ProduceOptions, cmd: Command) => produce(topic, opts, cmd));
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
  const progress = startProgress({
    enabled: g.progress && !!process.stderr.isTTY,
    label: `produce ${topic}`,
    ...(totalBytes !== undefined ? { totalBytes } : {}),
  });
  if (opts.lingerMs !== undefined && opts.latencyBudgetMs !== undefined) {
    throw new UsageError(
      '--linger-ms and --latency-budget-ms do not go together: a batch waits either a fixed linger or within a latency budget',
    );
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
    throw new UsageError(
      `line ${lineNo} has no "value"; with --format json each line is {"key": …, "value": …, "headers": {…}, "partition": n}`,
    );
  }
  const o = parsed as Record<string, unknown>;
  const asText = (v: unknown) => (v === null || v === undefined ? (v as null | undefined) : typeof v === 'string' ? v : JSON.stringify(v));
  const record: ProducerRecord = { ...base, value: asText(o.value) ?? null };
  if (o.key !== undefined) record.key = asText(o.key) ?? null;
  if (o.headers && typeof o.headers === 'object')
    record.headers = Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k, asText(v) ?? null]));
  if (typeof o.partition === 'number') record.partition = o.partition;
  if (typeof o.timestamp === 'number') record.timestamp = o.timestamp;
  return record;
}
