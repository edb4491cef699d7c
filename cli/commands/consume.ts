/** `strata consume`: records as values or JSON lines, alone or as a member of a group. */
import { type Command, Option } from 'commander';
import type { ConsumedRecord } from '../../client/index.js';
import { BufferedWriter } from '../buffered-writer.js';
import { client, int, parseTime, UsageError } from '../options.js';
import { startProgress } from '../progress.js';

/** Adds `consume` to the program. */
export function consumeCommand(program: Command): void {
  program
    .command('consume <topic>')
    .description('print records: values one per line, or JSON lines with --json')
    .option(
      '--from <where>',
      'earliest, latest or an offset (default earliest; with --group: where a partition without a committed offset starts)',
    )
    .option('--timestamp <time>', 'start at the first record at or after this time (ms since the epoch or an ISO date)')
    .option('-g, --group <group>', 'consume as a member of this consumer group and commit its progress')
    .option('-p, --partition <n>', 'only this partition', int('partition'))
    .option('-f, --follow', 'keep waiting for new records (default: stop at the end)')
    .option('-n, --max-records <n>', 'stop after this many records', int('max-records', 1))
    .addOption(
      new Option('--format <format>', 'value: the value bytes and a newline; json: one JSON object per record').choices(['value', 'json']),
    )
    .action(async (topic: string, opts: ConsumeOptions, cmd: Command) => consume(topic, opts, cmd));
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
  if (opts.group !== undefined && opts.partition !== undefined)
    throw new UsageError('--partition and --group do not go together: the group assigns partitions');
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
      const bytes =
        format === 'json' ? out.write(`${JSON.stringify(jsonRecord(record))}\n`) : out.write(record.value ?? Buffer.alloc(0), '\n');
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
