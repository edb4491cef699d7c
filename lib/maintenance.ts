/**
 * The compact function's work, one pass at a time: today, flushing tails that are due
 * into S3 segments; retention, key compaction and garbage collection join it in the
 * compaction issue. A scheduled pass visits every partition with unflushed records; an
 * asynchronous invocation for one partition (from append, when its tail passed the
 * flush threshold) visits only that one. Both are safe to run twice at once: flushes
 * are fenced by a conditional write.
 */
import type { Flusher, FlushResult } from './flusher.js';
import type { LogStore } from './ports.js';
import { refsOf, type TopicService } from './topics.js';

export interface PartitionPass {
  topic: string;
  partition: number;
  flush: FlushResult;
}

export class Maintenance {
  constructor(
    private readonly topics: TopicService,
    private readonly store: LogStore,
    private readonly flusher: Flusher,
  ) {}

  /** One partition: flush while due. */
  async runPartition(topic: string, partition: number): Promise<PartitionPass> {
    const { meta } = await this.topics.partition(topic, partition);
    return { topic, partition, flush: await this.flusher.flushPartition(meta, partition) };
  }

  /** Every partition of every topic that holds unflushed records. */
  async runAll(): Promise<PartitionPass[]> {
    const passes: PartitionPass[] = [];
    for (const meta of await this.topics.list()) {
      const refs = refsOf(meta);
      const heads = await this.store.getHeads(refs);
      for (const [partition, head] of heads.entries()) {
        if (head.flushedOffset >= head.nextOffset) continue;
        passes.push({ topic: meta.name, partition, flush: await this.flusher.flushPartition(meta, partition) });
      }
    }
    return passes;
  }
}
