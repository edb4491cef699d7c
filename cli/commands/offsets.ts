/** `strata offsets`: each partition's earliest and latest offset, or the offset at a time. */
import type { Command } from 'commander';
import { client, int, parseTime } from '../options.js';
import { print, table, when } from '../output.js';

/** Adds `offsets` to the program. */
export function offsetsCommand(program: Command): void {
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
        print(g, { topic, at: opts.at, offsets: rows }, () =>
          table(
            ['PARTITION', 'OFFSET', 'TIMESTAMP'],
            rows.map((r) => [r.partition, r.offset, when(r.timestamp)]),
          ),
        );
        return;
      }
      const rows = d.partitionStates.filter((p) => partitions.includes(p.partition));
      print(g, { topic, offsets: rows.map((p) => ({ partition: p.partition, earliest: p.logStartOffset, latest: p.highWatermark })) }, () =>
        table(
          ['PARTITION', 'EARLIEST', 'LATEST', 'RECORDS'],
          rows.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.highWatermark - p.logStartOffset]),
        ),
      );
    });
}
