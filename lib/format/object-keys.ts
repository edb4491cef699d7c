/**
 * Where a partition's objects live in the bucket (and in the staging tier's):
 *
 *     topics/{topic}/{topicId}/{p}/{baseOffset}-{id}.seg     a segment
 *     topics/{topic}/{topicId}/{p}/staged/{id}.batch         a staged append's batches
 *
 * Offsets are zero-padded so that a listing's order is offset order; the topic id makes
 * a re-created topic's objects distinct from those of the deleted one.
 */
import { OFFSET_DIGITS } from '../core/constants.js';
import type { PartitionRef } from '../ports/model.js';

/** Zero-pads an offset so that string order is numeric order. */
export function padOffset(offset: number): string {
  return offset.toString().padStart(OFFSET_DIGITS, '0');
}

/** The S3 key prefix of all objects of one topic incarnation. */
export function topicObjectPrefix(topic: string, topicId: string): string {
  return `topics/${topic}/${topicId}/`;
}

/** The S3 key prefix of a partition's objects. */
export function partitionObjectPrefix(ref: PartitionRef): string {
  return `${topicObjectPrefix(ref.topic, ref.topicId)}${ref.partition}/`;
}

/** The S3 key of a new segment object; `id` makes concurrent flushers' objects distinct. */
export function segmentObjectKey(ref: PartitionRef, baseOffset: number, id: string): string {
  return `${partitionObjectPrefix(ref)}${padOffset(baseOffset)}-${id}.seg`;
}

/** The S3 key of an append's staged batches (see TailItem.staged). */
export function stagedObjectKey(ref: PartitionRef, id: string): string {
  return `${partitionObjectPrefix(ref)}staged/${id}.batch`;
}
