import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../../lib/core/errors.js';
import { parseOrThrow } from '../../../lib/core/validation.js';
import {
  CLEANUP_POLICIES,
  createTopicSchema,
  defaultTopicConfig,
  partitionCountSchema,
  topicConfigPatchSchema,
  topicConfigSchema,
  topicNameSchema,
} from '../../../lib/topics/topic-config.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_MS = 24 * 3600 * 1000;

const DEFAULTS = {
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  maxRecordBytes: 1 * MiB,
  segmentBytes: 8 * MiB,
  flushBytes: 4 * MiB,
  flushIntervalMs: 5 * 60 * 1000,
  stageBytes: 64 * KiB,
  compression: 'none',
  minCompactionLagMs: 0,
  deleteRetentionMs: 1 * DAY_MS,
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('defaultTopicConfig', () => {
  it("gives Kafka's defaults: 7 days, unlimited bytes, delete, 1 MiB records, 1 day tombstones, 8 MiB segments", () => {
    const config = defaultTopicConfig();

    expect(config.retentionMs).toBe(604_800_000);
    expect(config.retentionBytes).toBe(-1);
    expect(config.cleanupPolicy).toBe('delete');
    expect(config.maxRecordBytes).toBe(1_048_576);
    expect(config.deleteRetentionMs).toBe(86_400_000);
    expect(config.segmentBytes).toBe(8_388_608);
  });

  it('gives every config field a default and nothing else', () => {
    expect(defaultTopicConfig()).toEqual(DEFAULTS);
  });

  it('returns a fresh object each time', () => {
    const first = defaultTopicConfig();
    first.retentionMs = 1;

    expect(defaultTopicConfig().retentionMs).toBe(7 * DAY_MS);
  });
});

describe('topicConfigSchema', () => {
  it('fills in defaults for absent fields and keeps given ones', () => {
    expect(topicConfigSchema.parse({ retentionMs: 1_000, cleanupPolicy: 'compact' })).toEqual({
      ...DEFAULTS,
      retentionMs: 1_000,
      cleanupPolicy: 'compact',
    });
  });

  it('rejects unknown config keys', () => {
    const result = topicConfigSchema.safeParse({ retention_ms: 1_000 });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  // Regression: zod keeps an explicitly undefined optional key, and the spread over the
  // defaults overwrote the default with undefined (reachable from TypeScript callers).
  it('treats an explicitly undefined field as absent and fills in its default', () => {
    expect(topicConfigSchema.parse({ retentionMs: undefined }).retentionMs).toBe(7 * DAY_MS);
  });
});

describe('topicConfigPatchSchema', () => {
  it('does not fill in defaults for absent fields (regression: config patch reset unspecified fields)', () => {
    expect(topicConfigPatchSchema.parse({ retentionMs: 1_000 })).toEqual({ retentionMs: 1_000 });
  });

  it('parses an empty patch to an empty object', () => {
    expect(topicConfigPatchSchema.parse({})).toEqual({});
  });

  it('keeps exactly the fields given', () => {
    const patch = { retentionBytes: 10 * MiB, cleanupPolicy: 'compact,delete', deleteRetentionMs: 0 };

    const parsed = topicConfigPatchSchema.parse(patch);

    expect(parsed).toEqual(patch);
    expect(Object.keys(parsed).sort()).toEqual(['cleanupPolicy', 'deleteRetentionMs', 'retentionBytes']);
  });

  it('rejects unknown keys', () => {
    expect(topicConfigPatchSchema.safeParse({ retentionMs: 1, partitions: 3 }).success).toBe(false);
  });

  it.each([
    ['retentionMs', -1],
    ['retentionMs', 0],
    ['retentionBytes', -1],
    ['retentionBytes', 0],
    ['maxRecordBytes', 1],
    ['maxRecordBytes', 5 * MiB],
    ['segmentBytes', 64 * KiB],
    ['segmentBytes', 1024 * MiB],
    ['flushBytes', 64 * KiB],
    ['flushIntervalMs', 1_000],
    ['flushIntervalMs', 7 * DAY_MS],
    ['stageBytes', 1 * KiB],
    ['stageBytes', 350 * KiB],
    ['minCompactionLagMs', 0],
    ['deleteRetentionMs', Number.MAX_SAFE_INTEGER],
  ])('accepts %s = %d (a bound)', (field, value) => {
    expect(topicConfigPatchSchema.parse({ [field]: value })).toEqual({ [field]: value });
  });

  it.each([
    ['retentionMs', -2],
    ['retentionMs', 1.5],
    ['retentionMs', '1000'],
    ['retentionMs', null],
    ['retentionBytes', -2],
    ['maxRecordBytes', 0],
    ['maxRecordBytes', 5 * MiB + 1],
    ['segmentBytes', 64 * KiB - 1],
    ['segmentBytes', 1024 * MiB + 1],
    ['flushBytes', 64 * KiB - 1],
    ['flushIntervalMs', 999],
    ['flushIntervalMs', 7 * DAY_MS + 1],
    ['stageBytes', 1 * KiB - 1],
    ['stageBytes', 350 * KiB + 1],
    ['minCompactionLagMs', -1],
    ['deleteRetentionMs', -1],
    ['deleteRetentionMs', Number.MAX_SAFE_INTEGER + 2],
    ['cleanupPolicy', 'archive'],
    ['cleanupPolicy', 'delete,compact'],
    ['cleanupPolicy', ''],
  ])('rejects %s = %j', (field, value) => {
    const result = topicConfigPatchSchema.safeParse({ [field]: value });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([field]);
  });

  it.each(CLEANUP_POLICIES)('accepts cleanupPolicy %j', (policy) => {
    expect(topicConfigPatchSchema.parse({ cleanupPolicy: policy })).toEqual({ cleanupPolicy: policy });
  });
});

describe('topicNameSchema', () => {
  it.each(['a', 'orders', 'Orders.v2', 'user_events-2024', '0', '...', '.a', 'a.', '_', '-', 'a'.repeat(249)])('accepts %j', (name) => {
    expect(topicNameSchema.parse(name)).toBe(name);
  });

  it.each([
    ['empty', ''],
    ['"."', '.'],
    ['".."', '..'],
    ['250 characters', 'a'.repeat(250)],
    ['a space', 'my topic'],
    ['a slash', 'a/b'],
    ['a #, the key separator', 'a#b'],
    ['a colon', 'a:b'],
    ['a non-ASCII letter', 'café'],
    ['a trailing newline', 'orders\n'],
    ['a number', 42],
    ['null', null],
  ])('rejects %s', (_what, name) => {
    expect(topicNameSchema.safeParse(name).success).toBe(false);
  });

  it('accepts any 1-249 characters from [a-zA-Z0-9._-] except "." and ".." (property)', () => {
    const allowed = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-'.split('');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...allowed), minLength: 1, maxLength: 249 }), (name) => {
        expect(topicNameSchema.safeParse(name).success).toBe(name !== '.' && name !== '..');
      }),
    );
  });

  it('rejects any name containing a character outside [a-zA-Z0-9._-] (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !/^[a-zA-Z0-9._-]$/.test(c)),
        fc.string({ maxLength: 20 }),
        (before, bad, after) => {
          expect(topicNameSchema.safeParse(`${before}${bad}${after}`).success).toBe(false);
        },
      ),
    );
  });
});

describe('partitionCountSchema', () => {
  it.each([1, 2, 1023, 1024])('accepts %d partitions', (n) => {
    expect(partitionCountSchema.parse(n)).toBe(n);
  });

  it.each([0, -1, 1025, 1.5, NaN, Infinity, '3', null])('rejects %j partitions', (n) => {
    expect(partitionCountSchema.safeParse(n).success).toBe(false);
  });
});

describe('createTopicSchema', () => {
  it('defaults to 1 partition and the default config when both are absent', () => {
    expect(createTopicSchema.parse({ name: 'orders' })).toEqual({ name: 'orders', partitions: 1, config: DEFAULTS });
  });

  it('fills in config defaults when config is partially given', () => {
    const parsed = createTopicSchema.parse({ name: 'orders', partitions: 12, config: { retentionMs: -1, maxRecordBytes: 2 * MiB } });

    expect(parsed).toEqual({
      name: 'orders',
      partitions: 12,
      config: { ...DEFAULTS, retentionMs: -1, maxRecordBytes: 2 * MiB },
    });
  });

  it('fills in config defaults when config is an empty object', () => {
    expect(createTopicSchema.parse({ name: 'orders', config: {} }).config).toEqual(DEFAULTS);
  });

  it('rejects unknown config keys', () => {
    const result = createTopicSchema.safeParse({ name: 'orders', config: { 'retention.ms': 1 } });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['config']);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it('rejects unknown top-level keys', () => {
    expect(createTopicSchema.safeParse({ name: 'orders', replicationFactor: 3 }).success).toBe(false);
  });

  it('requires a name', () => {
    const result = createTopicSchema.safeParse({ partitions: 3 });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['name']);
  });

  it.each([0, 1025, 2.5])('rejects %d partitions', (partitions) => {
    expect(createTopicSchema.safeParse({ name: 'orders', partitions }).success).toBe(false);
  });

  it('rejects a config that is not an object', () => {
    expect(createTopicSchema.safeParse({ name: 'orders', config: 'compact' }).success).toBe(false);
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value, with defaults applied', () => {
    expect(parseOrThrow(createTopicSchema, { name: 't', partitions: 2 }, 'topic')).toEqual({
      name: 't',
      partitions: 2,
      config: DEFAULTS,
    });
  });

  it('throws a ValidationError whose message names each bad field path', () => {
    const input = { name: '..', partitions: 0, config: { retentionMs: -5, cleanupPolicy: 'archive' } };

    const err = thrown(() => parseOrThrow(createTopicSchema, input, 'topic'));

    expect(err).toBeInstanceOf(ValidationError);
    const { message, code, status, details } = err as ValidationError;
    expect(code).toBe('VALIDATION');
    expect(status).toBe(400);
    expect(message).toMatch(/^invalid topic: /);
    expect(message).toContain('name: a topic name cannot be "." or ".."');
    expect(message).toContain('partitions: partitions must be at least 1');
    expect(message).toContain('config.retentionMs: retentionMs must be -1 (unlimited) or ≥ 0');
    expect(message).toContain('config.cleanupPolicy: cleanupPolicy is one of delete, compact, compact,delete');
    expect(details).toEqual({ issues: 4 });
  });

  it('names an unknown key and the object that holds it', () => {
    const err = thrown(() => parseOrThrow(topicConfigPatchSchema, { retentionMs: 1, retention_ms: 2 }, 'config')) as ValidationError;

    expect(err.message).toBe('invalid config: config: Unrecognized key: "retention_ms"');
  });

  it('names the input itself when the problem is at the root', () => {
    const err = thrown(() => parseOrThrow(createTopicSchema, 'orders', 'topic')) as ValidationError;

    expect(err.message).toMatch(/^invalid topic: topic: /);
    expect(err.details).toEqual({ issues: 1 });
  });

  it('joins array indexes into the path', () => {
    const schema = z.object({ records: z.array(z.object({ value: z.string() })) });

    const err = thrown(() => parseOrThrow(schema, { records: [{ value: 'a' }, { value: 1 }] }, 'body')) as ValidationError;

    expect(err.message).toMatch(/^invalid body: records\.1\.value: /);
  });

  it('lists at most 10 problems but counts them all', () => {
    const err = thrown(() => parseOrThrow(z.array(z.number()), Array.from({ length: 12 }, String), 'list')) as ValidationError;

    const problems = err.message.replace(/^invalid list: /, '').split('; ');
    expect(problems).toHaveLength(10);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(err.details).toEqual({ issues: 12 });
  });
});
