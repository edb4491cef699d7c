/**
 * DynamoDB key layout (see docs/design.md for why it differs from the first sketch).
 *
 * | item            | pk                              | sk                     |
 * | --------------- | ------------------------------- | ---------------------- |
 * | topic           | `TOPICS`                        | `T#{topic}`            |
 * | deleted topic   | `TOPICS_DELETED`                | `T#{topic}#{topicId}`  |
 * | partition head  | `P#{topic}#{topicId}#{p}`       | `HEAD`                 |
 * | tail batch item | `P#{topic}#{topicId}#{p}`       | `B#{lastOffset}`       |
 * | segment         | `P#{topic}#{topicId}#{p}`       | `S#{lastOffset}`       |
 * | producer state  | `P#{topic}#{topicId}#{p}`       | `PID#{producerId}`     |
 * | partition stats | `P#{topic}#{topicId}#{p}`       | `STATS`                |
 * | garbage objects | `P#{topic}#{topicId}#{p}`       | `X#{id}`               |
 * | group offset    | `G#{group}`                     | `{topic}#{p}`          |
 * | group members   | `GM#{group}`                    | `STATE`                |
 * | push subscriber | `W#{topic}#{p}`                 | `C#{connectionId}`     |
 * | push quiet mark | `W#{topic}#{p}`                 | `Q`                    |
 * | push connection | `WC#{connectionId}`             | `SUBS`                 |
 *
 * Topic ids make a re-created topic a new incarnation: its partitions never see the
 * items of the deleted one, however late garbage collection removes them.
 * Tail items and segment manifests are keyed by their *last* offset so that one
 * forward Query from `B#{offset}` (or `S#{offset}`) starts at the item that contains
 * `offset`.
 *
 * The S3 keys are not the table's: they live with the formats (lib/format/object-keys.ts).
 */
import { padOffset } from '../format/object-keys.js';
import type { PartitionRef } from '../ports/model.js';

export const TOPICS_PK = 'TOPICS';
export const DELETED_TOPICS_PK = 'TOPICS_DELETED';
export const HEAD_SK = 'HEAD';
export const TAIL_PREFIX = 'B#';
export const PRODUCER_PREFIX = 'PID#';
export const SEGMENT_PREFIX = 'S#';
export const STATS_SK = 'STATS';
export const GARBAGE_PREFIX = 'X#';
/** Write first, number after (docs/design.md): a data item, written before it has offsets. */
export const DATA_PREFIX = 'D#';
/** Write first, number after: an index item, the head's pending entries moved off it. */
export const INDEX_PREFIX = 'I#';

export function garbageSk(id: string): string {
  return `${GARBAGE_PREFIX}${id}`;
}

export function topicSk(topic: string): string {
  return `T#${topic}`;
}

export function deletedTopicSk(topic: string, topicId: string): string {
  return `T#${topic}#${topicId}`;
}

export function partitionPk(ref: PartitionRef): string {
  return `P#${ref.topic}#${ref.topicId}#${ref.partition}`;
}

export function tailSk(lastOffset: number): string {
  return `${TAIL_PREFIX}${padOffset(lastOffset)}`;
}

export function dataSk(token: string): string {
  return `${DATA_PREFIX}${token}`;
}

/** An index item is keyed by the last offset of the highest range it holds. */
export function indexSk(lastOffset: number): string {
  return `${INDEX_PREFIX}${padOffset(lastOffset)}`;
}

export function segmentSk(lastOffset: number): string {
  return `${SEGMENT_PREFIX}${padOffset(lastOffset)}`;
}

export function producerSk(producerId: string): string {
  return `${PRODUCER_PREFIX}${producerId}`;
}

export function groupPk(group: string): string {
  return `G#${group}`;
}

/** The one item holding a group's members, generation and assignment (lib/groups/membership.ts). */
export function groupStatePk(group: string): string {
  return `GM#${group}`;
}

export const GROUP_STATE_SK = 'STATE';

export function groupSk(topic: string, partition: number): string {
  return `${topic}#${partition}`;
}

/** Push subscriptions of a partition, by topic name: a re-created topic keeps its subscribers. */
export function pushPartitionPk(topic: string, partition: number): string {
  return `W#${topic}#${partition}`;
}

export const PUSH_SUBSCRIBER_PREFIX = 'C#';
export const PUSH_QUIET_SK = 'Q';

export function pushSubscriberSk(connectionId: string): string {
  return `${PUSH_SUBSCRIBER_PREFIX}${connectionId}`;
}

export function pushConnectionPk(connectionId: string): string {
  return `WC#${connectionId}`;
}

export const PUSH_CONNECTION_SK = 'SUBS';
