/** `strata groups describe|offsets|commit`: consumer groups' members, committed offsets and lag. */
import type { Command } from 'commander';
import { client, int } from '../options.js';
import { print, table, when } from '../output.js';

/** Adds `groups` and its subcommands to the program. */
export function groupsCommand(program: Command): void {
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
            table(
              ['MEMBER', 'CLIENT', 'PARTITIONS', 'LEASE UNTIL'],
              d.members.map((m) => [
                m.memberId,
                m.clientId || null,
                m.assignment.map((a) => `${a.topic}/${a.partition}`).join(' ') || null,
                when(m.expiresAt),
              ]),
            ),
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
        rows.length === 0
          ? `group ${group} has no committed offsets`
          : table(
              ['TOPIC', 'PARTITION', 'OFFSET', 'LAG', 'UPDATED'],
              rows.map((o) => [o.topic, o.partition, o.offset, o.lag, when(o.updatedAt)]),
            ),
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
}
