/**
 * Kafka-compatible partitioning: a keyed record lands on the partition the Java client
 * (and librdkafka's `murmur2_random`, kafkajs' default) would choose, so producers in any
 * language co-partition keys with Strata. Keyless records of one request share one
 * partition, chosen round-robin (Kafka's sticky behaviour).
 */
import { randomInt } from 'node:crypto';
import { ValidationError } from '../core/errors.js';

/** Kafka's murmur2 seed and mixing constants (`org.apache.kafka.common.utils.Utils.murmur2`). */
const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;
const MURMUR2_R = 24;

/**
 * Kafka's `Utils.murmur2`: 32-bit MurmurHash2 of the bytes, little-endian 4-byte chunks,
 * returned as a signed 32-bit integer exactly as Java computes it.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = MURMUR2_SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M);
    h ^= k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, MURMUR2_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which fails on -2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Kafka's `BuiltInPartitioner.partitionForKey`: the partition of a keyed record. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  checkPartitions(partitions);
  return toPositive(murmur2(key)) % partitions;
}

/**
 * The partition of the keyless records of an idempotent topic-level append: one of the
 * partitions `sequences` names (below `partitions`), picked by murmur2 of the producer
 * id, epoch and sequences, which is all a retry of the request repeats. Undefined when
 * `sequences` names none of the topic's partitions.
 *
 * @example idempotentKeylessPartition('p-1', 0, { '0': 12, '1': 3 }, 4) // 0 or 1, the same on every retry
 */
export function idempotentKeylessPartition(
  producerId: string,
  epoch: number,
  sequences: Record<string, number>,
  partitions: number,
): number | undefined {
  const candidates = Object.keys(sequences)
    .filter((p) => /^\d+$/.test(p) && Number(p) < partitions)
    .map(Number)
    .sort((a, b) => a - b);
  if (candidates.length === 0) return undefined;
  const seed = `${producerId}\u0000${epoch}\u0000${candidates.map((p) => `${p}:${sequences[String(p)]}`).join(',')}`;
  return candidates[toPositive(murmur2(new TextEncoder().encode(seed))) % candidates.length];
}

/**
 * Picks the partition for the keyless records of one request. One instance per process:
 * the counter starts at a random value so concurrent Lambda instances spread their
 * keyless traffic instead of all starting at partition 0.
 */
export class RoundRobinPartitioner {
  private counter: number;

  constructor(start: number = randomInt(0, 0x7fffffff)) {
    this.counter = toPositive(start);
  }

  /** The next partition in `[0, partitions)`. */
  next(partitions: number): number {
    checkPartitions(partitions);
    const partition = this.counter % partitions;
    this.counter = (this.counter + 1) & 0x7fffffff;
    return partition;
  }
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new ValidationError(`partitions must be a positive integer, got ${partitions}`);
  }
}
