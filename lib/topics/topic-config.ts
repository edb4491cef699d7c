/**
 * Topic names and configuration: the rules (Kafka's where Kafka has them), the
 * defaults, and the zod schemas that enforce them for untrusted input.
 */
import * as z from 'zod';
import {
  DEFAULT_DELETE_RETENTION_MS,
  DEFAULT_FLUSH_BYTES,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_RECORD_BYTES,
  DEFAULT_MIN_COMPACTION_LAG_MS,
  DEFAULT_RETENTION_BYTES,
  DEFAULT_RETENTION_MS,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_STAGE_BYTES,
  MAX_PARTITIONS,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEGMENT_BYTES,
  MAX_TAIL_ITEM_BYTES,
  MIN_PARTITIONS,
  TOPIC_NAME_PATTERN,
} from '../core/constants.js';

const KiB = 1024;
const GiB = 1024 * 1024 * 1024;

export const topicNameSchema = z
  .string()
  .regex(TOPIC_NAME_PATTERN, 'a topic name is 1 to 249 characters from a-z, A-Z, 0-9, ".", "_" and "-"')
  .refine((name) => name !== '.' && name !== '..', 'a topic name cannot be "." or ".."');

export const partitionCountSchema = z
  .number()
  .int('partitions must be a whole number')
  .min(MIN_PARTITIONS, `partitions must be at least ${MIN_PARTITIONS}`)
  .max(MAX_PARTITIONS, `partitions must be at most ${MAX_PARTITIONS}`);

/** -1 (unlimited) or a non-negative whole number. */
const unlimitedOrNonNegative = (name: string) =>
  z.number().int(`${name} must be a whole number`).min(-1, `${name} must be -1 (unlimited) or ≥ 0`);

const bounded = (name: string, min: number, max: number) =>
  z.number().int(`${name} must be a whole number`).min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`);

export const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete'] as const;
export const COMPRESSIONS = ['none', 'gzip'] as const;

/** Every field of a topic's config and the rule it must follow. */
const configFields = {
  /** Records older than this are removed by retention; -1 keeps them forever. */
  retentionMs: unlimitedOrNonNegative('retentionMs'),
  /** A partition larger than this loses its oldest segments; -1 = unlimited. */
  retentionBytes: unlimitedOrNonNegative('retentionBytes'),
  cleanupPolicy: z.enum(CLEANUP_POLICIES, { message: `cleanupPolicy is one of ${CLEANUP_POLICIES.join(', ')}` }),
  /** Largest encoded record (key + value + headers) an append accepts. */
  maxRecordBytes: bounded('maxRecordBytes', 1, MAX_RECORD_BYTES_LIMIT),
  /** Target size of a segment object on S3. */
  segmentBytes: bounded('segmentBytes', 64 * KiB, MAX_SEGMENT_BYTES),
  /** Flush the tail once this many bytes are unflushed... */
  flushBytes: bounded('flushBytes', 64 * KiB, 1 * GiB),
  /** ...or once the oldest unflushed batch is this old. */
  flushIntervalMs: bounded('flushIntervalMs', 1000, 7 * 24 * 3600 * 1000),
  /** Append batches above this many bytes are staged in S3 (cost-first: lower it). */
  stageBytes: bounded('stageBytes', 1 * KiB, MAX_TAIL_ITEM_BYTES),
  /** Per-batch compression of appended records (readers decompress transparently). */
  compression: z.enum(COMPRESSIONS, { message: `compression is one of ${COMPRESSIONS.join(', ')}` }),
  minCompactionLagMs: bounded('minCompactionLagMs', 0, Number.MAX_SAFE_INTEGER),
  deleteRetentionMs: bounded('deleteRetentionMs', 0, Number.MAX_SAFE_INTEGER),
};

/** The defaults, Kafka's where Kafka has one. */
const CONFIG_DEFAULTS = {
  retentionMs: DEFAULT_RETENTION_MS,
  retentionBytes: DEFAULT_RETENTION_BYTES,
  cleanupPolicy: 'delete',
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  segmentBytes: DEFAULT_SEGMENT_BYTES,
  flushBytes: DEFAULT_FLUSH_BYTES,
  flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
  stageBytes: DEFAULT_STAGE_BYTES,
  compression: 'none',
  minCompactionLagMs: DEFAULT_MIN_COMPACTION_LAG_MS,
  deleteRetentionMs: DEFAULT_DELETE_RETENTION_MS,
} as const;

/** A full config: absent fields take their defaults, unknown fields are rejected. */
export const topicConfigSchema = z
  .object(configFields)
  .partial()
  .strict()
  .transform((given) => ({ ...CONFIG_DEFAULTS, ...definedOnly(given) }));

/** Drops fields set to `undefined`, so that they take their defaults instead. */
function definedOnly<T extends object>(given: T): Partial<T> {
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type TopicConfig = z.infer<typeof topicConfigSchema>;

/** A config change: any subset of the fields, nothing unknown. */
export const topicConfigPatchSchema = z.object(configFields).partial().strict();
export type TopicConfigPatch = z.infer<typeof topicConfigPatchSchema>;

export const createTopicSchema = z
  .object({
    name: topicNameSchema,
    partitions: partitionCountSchema.default(1),
    config: topicConfigSchema.prefault({}),
  })
  .strict();

/** The config a new topic gets when the request leaves fields out. */
export function defaultTopicConfig(): TopicConfig {
  return topicConfigSchema.parse({});
}
