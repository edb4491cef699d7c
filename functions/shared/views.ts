/** JSON views of engine objects, shared by the handlers so each route answers the same shape. */
import type { CommittedOffset } from '../../lib/group-offsets.js';
import type { TopicMeta } from '../../lib/ports.js';
import type { TopicDescription } from '../../lib/topics.js';

export function topicView(meta: Omit<TopicMeta, 'version'>) {
  return {
    name: meta.name,
    topicId: meta.topicId,
    partitions: meta.partitions,
    config: meta.config,
    createdAt: meta.createdAt,
    updatedAt: meta.updatedAt,
  };
}

export function topicDescriptionView(d: TopicDescription) {
  return {
    ...topicView(d),
    partitionStates: d.partitionStates.map((p) => ({
      partition: p.partition,
      highWatermark: p.nextOffset,
      logStartOffset: p.logStartOffset,
      flushedOffset: p.flushedOffset,
      tailBytes: p.tailBytes,
      lastAppendAt: p.lastAppendAt,
    })),
  };
}

export function groupOffsetsView(group: string, offsets: CommittedOffset[]) {
  return { group, offsets };
}
