/** `strata topics create|list|describe|config|delete`. */
import type { Command } from 'commander';
import { client, int, UsageError } from '../options.js';
import { print, table, when } from '../output.js';

/** Adds `topics` and its subcommands to the program. */
export function topicsCommand(program: Command): void {
  const topics = program.command('topics').description('create, list, describe, configure and delete topics');
  topics
    .command('create <name>')
    .description('create a topic')
    .option('-p, --partitions <n>', 'number of partitions', int('partitions', 1), 1)
    .option('-c, --config <key=value...>', 'topic config, e.g. retentionMs=86400000 cleanupPolicy=compact')
    .action(async (name: string, opts: { partitions: number; config?: string[] }, cmd: Command) => {
      const { strata, g } = client(cmd);
      const topic = await strata.createTopic(name, {
        partitions: opts.partitions,
        ...(opts.config ? { config: parseConfig(opts.config) } : {}),
      });
      print(g, topic, () => `created topic ${topic.name} with ${topic.partitions} partition(s)`);
    });
  topics
    .command('list')
    .description('list topics')
    .action(async (_opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const list = await strata.listTopics();
      print(g, { topics: list }, () =>
        list.length === 0
          ? 'no topics (create one: strata topics create NAME --partitions 3)'
          : table(
              ['NAME', 'PARTITIONS', 'CLEANUP', 'CREATED'],
              list.map((t) => [t.name, t.partitions, t.config.cleanupPolicy, when(t.createdAt)]),
            ),
      );
    });
  topics
    .command('describe <name>')
    .description("show a topic, its config and each partition's offsets")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      const d = await strata.describeTopic(name);
      print(g, d, () =>
        [
          `topic ${d.name} (id ${d.topicId}), ${d.partitions} partition(s), created ${when(d.createdAt)}`,
          `config: ${Object.entries(d.config)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' ')}`,
          '',
          table(
            ['PARTITION', 'LOG START', 'HIGH WATERMARK', 'FLUSHED', 'TAIL BYTES', 'LAST APPEND'],
            d.partitionStates.map((p) => [
              p.partition,
              p.logStartOffset,
              p.highWatermark,
              p.flushedOffset,
              p.tailBytes,
              when(p.lastAppendAt),
            ]),
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
      print(g, topic.config, () =>
        Object.entries(topic.config)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join('\n'),
      );
    });
  topics
    .command('delete <name>')
    .description('delete a topic and its data')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { strata, g } = client(cmd);
      await strata.deleteTopic(name);
      print(g, { deleted: name }, () => `deleted topic ${name}`);
    });
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
