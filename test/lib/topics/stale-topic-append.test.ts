/**
 * Appends on a cached copy of a topic older than the cache TTL (lib/topics/topic-service.ts,
 * forAppend): the topic is re-read beside the commit, not before it, and the append is
 * acknowledged only once the re-read finds the same topic. Against DynamoDB Local.
 */
import { describe, expect, it, vi } from 'vitest';
import { translate } from '../../../lib/aws/errors.js';
import { TOPIC_APPEND_REFRESH_MS, TOPIC_CACHE_TTL_MS, TOPIC_STALE_APPEND_MS } from '../../../lib/core/constants.js';
import { RetryableError, TopicNotFoundError } from '../../../lib/core/errors.js';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import type { LogStore } from '../../../lib/ports/log-store.js';
import { bytes, createTestEngine, readAll, type TestEngine } from '../../support/engine.js';

const TOPIC = 'orders';

interface Setup {
  te: TestEngine;
  clock: { t: number; now(): number };
  /** The writer: an environment that appends now and then, its topic copy going stale. */
  writer: LogEngine;
  /** Another environment: creates and deletes topics. */
  admin: LogEngine;
  /** The writer's store calls, in the order they were made or answered. */
  calls: string[];
  /** While set, the writer's topic reads wait for it. */
  gate: { open?: Promise<void>; fail?: Error };
}

type Sequencing = 'optimistic' | 'reserve' | 'write-first';

async function setup(sequencing: Sequencing = 'reserve'): Promise<Setup> {
  const te = await createTestEngine();
  const clock = { t: Date.now(), now: () => clock.t };
  const calls: string[] = [];
  const gate: Setup['gate'] = {};
  const store = new Proxy(te.recordingStore, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return async (...args: unknown[]) => {
        calls.push(prop);
        if (prop === 'getTopic') {
          if (gate.open) await gate.open;
          if (gate.fail) throw gate.fail;
        }
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        calls.push(`${prop} answered`);
        return result;
      };
    },
  }) as LogStore;
  const writer = new LogEngine({ store, objects: te.realObjects, retry: FAST_RETRY, clock, sequencing });
  const admin = new LogEngine({ store: te.recordingStore, objects: te.realObjects, retry: FAST_RETRY, clock, topicCacheTtlMs: 0 });
  await writer.topics.create({ name: TOPIC, partitions: 1 });
  await writer.appender.appendToPartition(TOPIC, 0, { records: [{ key: null, value: bytes('first') }] });
  return { te, clock, writer, admin, calls, gate };
}

const append = (writer: LogEngine, value: string) =>
  writer.appender.appendToPartition(TOPIC, 0, { records: [{ key: null, value: bytes(value) }] });

describe('an append on a topic copy past the cache TTL', () => {
  it('commits beside the re-read of the topic, and is acknowledged once the re-read answers', async () => {
    const { clock, writer, calls, gate } = await setup();
    clock.t += TOPIC_CACHE_TTL_MS + 5_000;
    let release!: () => void;
    gate.open = new Promise((resolve) => {
      release = resolve;
    });
    calls.length = 0;
    let acknowledged = false;
    const pending = append(writer, 'second').then((answer) => {
      acknowledged = true;
      return answer;
    });
    // The reservation is made and answered while the topic read is held back...
    await expect.poll(() => calls.includes('reserve answered'), { timeout: 5_000 }).toBe(true);
    expect(calls).toContain('getTopic');
    expect(calls).not.toContain('getTopic answered');
    // ...and the append waits for the read before it answers.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(acknowledged).toBe(false);
    release();
    const answer = await pending;
    expect(answer.offsets).toEqual([{ partition: 0, offset: 1 }]);
    expect(calls.indexOf('reserve')).toBeLessThan(calls.indexOf('getTopic answered'));
  });

  it('reads a copy within the cache TTL not at all, and a copy past the stale window before it commits', async () => {
    const { clock, writer, calls } = await setup();
    calls.length = 0;
    await append(writer, 'fresh');
    expect(calls).not.toContain('getTopic');
    clock.t += TOPIC_STALE_APPEND_MS + 1_000;
    calls.length = 0;
    await append(writer, 'old copy');
    expect(calls.indexOf('getTopic answered')).toBeLessThan(calls.indexOf('reserve'));
  });

  it('answers 404 and acknowledges nothing when the topic was deleted meanwhile', async () => {
    const { te, clock, writer, admin } = await setup();
    const deleted = await admin.topics.get(TOPIC);
    await admin.topics.delete(TOPIC);
    clock.t += TOPIC_CACHE_TTL_MS + 5_000;
    await expect(append(writer, 'into a deleted topic')).rejects.toBeInstanceOf(TopicNotFoundError);
    // The head's delete mark refused the reservation: nothing reserved in the deleted topic's keys...
    const head = await te.realStore.getHead({ topic: TOPIC, topicId: deleted.topicId, partition: 0 });
    expect(head.nextOffset).toBe(1);
    // ...and the writer now knows the topic is gone: the next append commits nothing.
    await expect(append(writer, 'again')).rejects.toBeInstanceOf(TopicNotFoundError);
    expect((await te.realStore.getHead({ topic: TOPIC, topicId: deleted.topicId, partition: 0 })).nextOffset).toBe(1);
  });

  it('answers 503 RETRY when the topic was deleted and created again, and the new topic holds nothing of the append', async () => {
    const { clock, writer, admin } = await setup();
    await admin.topics.delete(TOPIC);
    await admin.topics.create({ name: TOPIC, partitions: 1 });
    clock.t += TOPIC_CACHE_TTL_MS + 5_000;
    await expect(append(writer, 'into the old topic')).rejects.toBeInstanceOf(RetryableError);
    expect(await readAll(admin, TOPIC, 0)).toEqual([]);
    // Sent again, it goes to the new topic.
    const answer = await append(writer, 'into the new topic');
    expect(answer.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect((await readAll(admin, TOPIC, 0)).map((r) => r.offset)).toEqual([0]);
  });

  it('is acknowledged when the re-read fails, the copy being within the stale window', async () => {
    const { clock, writer, gate } = await setup();
    clock.t += TOPIC_CACHE_TTL_MS + 5_000;
    gate.fail = translate(Object.assign(new Error('the topic read timed out'), { name: 'TimeoutError' }), 'getTopic');
    const answer = await append(writer, 'second');
    expect(answer.offsets).toEqual([{ partition: 0, offset: 1 }]);
  });

  it('reads the topic again for a partition its copy lacks before answering 404', async () => {
    const { clock, writer, calls } = await setup();
    clock.t += TOPIC_CACHE_TTL_MS + 5_000;
    calls.length = 0;
    await expect(writer.appender.appendToPartition(TOPIC, 3, { records: [{ key: null, value: bytes('x') }] })).rejects.toMatchObject({
      code: 'PARTITION_NOT_FOUND',
    });
    expect(calls).toContain('getTopic answered');
    expect(calls).not.toContain('reserve');
  });
});

describe.each<Sequencing>(['optimistic', 'write-first', 'reserve'])(
  'a delete marks the heads, and %s commits refuse a marked head',
  (sequencing) => {
    it('regression: an append within the cache TTL of a delete elsewhere was acknowledged into the deleted topic', async () => {
      const { te, writer, admin, calls } = await setup(sequencing);
      const deleted = await admin.topics.get(TOPIC);
      await admin.topics.delete(TOPIC);
      // The writer's copy is fresh: it reads no topic, and before the marks its commit applied.
      calls.length = 0;
      await expect(append(writer, 'into a deleted topic')).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND', status: 404 });
      const head = await te.realStore.getHead({ topic: TOPIC, topicId: deleted.topicId, partition: 0 });
      expect(head.nextOffset).toBe(1);
      // The refusal, not the copy, told it: it read the topic only after the commit was refused.
      expect(calls.indexOf('getTopic')).toBeGreaterThan(0);
    });

    it('answers 503 RETRY when the topic was created again, and the append then goes to the new topic', async () => {
      const { writer, admin } = await setup(sequencing);
      await admin.topics.delete(TOPIC);
      await admin.topics.create({ name: TOPIC, partitions: 1 });
      await expect(append(writer, 'into the old topic')).rejects.toMatchObject({ code: 'RETRY', status: 503 });
      expect(await readAll(admin, TOPIC, 0)).toEqual([]);
      const answer = await append(writer, 'into the new topic');
      expect(answer.offsets).toEqual([{ partition: 0, offset: 0 }]);
    });

    it('refuses a keyed append over several partitions, including one never appended to', async () => {
      const { writer, admin } = await setup(sequencing);
      await admin.topics.delete(TOPIC);
      await admin.topics.create({ name: 'wide', partitions: 3 });
      await writer.topics.get('wide');
      await admin.topics.delete('wide');
      const records = ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({ key: bytes(key), value: bytes(key) }));
      await expect(writer.appender.append('wide', { records })).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND', status: 404 });
    });
  },
);

describe('an append on a copy within TOPIC_APPEND_REFRESH_MS, where the commit refuses a deleted topic', () => {
  it.each<Sequencing>(['optimistic', 'write-first'])(
    '%s: reads no topic before TOPIC_APPEND_REFRESH_MS, and re-reads it beside the commit after',
    async (sequencing) => {
      const { clock, writer, calls } = await setup(sequencing);
      clock.t += TOPIC_APPEND_REFRESH_MS - 1_000;
      calls.length = 0;
      expect((await append(writer, 'second')).offsets).toEqual([{ partition: 0, offset: 1 }]);
      expect(calls).not.toContain('getTopic');
      clock.t += 2_000;
      calls.length = 0;
      expect((await append(writer, 'third')).offsets).toEqual([{ partition: 0, offset: 2 }]);
      expect(calls).toContain('getTopic');
    },
  );

  it('reserve: re-reads a copy past the cache TTL (its fill is not conditioned on the head)', async () => {
    const { clock, writer, calls } = await setup('reserve');
    clock.t += TOPIC_CACHE_TTL_MS + 1_000;
    calls.length = 0;
    await append(writer, 'second');
    expect(calls).toContain('getTopic');
  });
});

describe('describe, updateConfig and delete', () => {
  /** A writer whose first topic read reads the store at once and answers only when `release` is called. */
  async function heldReads() {
    const te = await createTestEngine();
    const clock = { t: Date.now(), now: () => clock.t };
    const held: (() => void)[] = [];
    let first = true;
    const store = new Proxy(te.recordingStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'getTopic' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (first) {
            first = false;
            await new Promise<void>((resolve) => held.push(resolve));
          }
          return result;
        };
      },
    }) as LogStore;
    const writer = new LogEngine({ store, objects: te.realObjects, retry: FAST_RETRY, clock });
    const admin = new LogEngine({ store: te.recordingStore, objects: te.realObjects, retry: FAST_RETRY, topicCacheTtlMs: 0 });
    await admin.topics.create({ name: TOPIC, partitions: 1 });
    return { writer, admin, held, release: () => held.shift()?.() };
  }

  it('do not answer from a topic read that began before them (describe after a delete elsewhere is 404)', async () => {
    const { writer, admin, held, release } = await heldReads();
    // A get starts a read that finds the topic, and is held before it answers.
    const early = writer.topics.get(TOPIC);
    await vi.waitFor(() => expect(held).toHaveLength(1));
    await admin.topics.delete(TOPIC);
    // Started after the delete: it must not join the read in flight.
    const described = writer.topics.describe(TOPIC);
    release();
    await expect(early).resolves.toMatchObject({ name: TOPIC });
    await expect(described).rejects.toBeInstanceOf(TopicNotFoundError);
  });
});
