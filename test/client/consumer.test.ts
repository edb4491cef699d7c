import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumedRecord, type Consumer, Strata, StrataError } from '../../client/index.js';
import type { LocalStack } from '../../local/stack.js';
import { History } from '../support/history.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let strata: Strata;

beforeAll(async () => {
  stack = await startTestStack();
  strata = new Strata({ url: stack.url });
});
afterAll(async () => stack?.stop());

async function produce(topic: string, values: string[], partitions: number) {
  const producer = strata.producer({ lingerMs: 1 });
  const metas = await producer.send(
    topic,
    values.map((value, i) => ({ value, partition: i % partitions })),
  );
  await producer.close();
  return metas;
}

/** Resolves once `predicate` holds, checked every 20 ms (group state changes on heartbeats, not on events we see). */
async function waitFor(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Each partition owned by exactly one of the consumers. */
function stable(consumers: Consumer[], partitions: number): boolean {
  const owned = consumers.flatMap((c) => c.assignment).sort((a, b) => a - b);
  return owned.length === partitions && owned.every((p, i) => p === i);
}

/** Resolves once `predicate` holds, checked whenever `tick` is called (no polling sleeps). */
function until(predicate: () => boolean): { promise: Promise<void>; tick: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, tick: () => predicate() && resolve() };
}

describe('consumer', () => {
  it('reads every partition from an offset, a timestamp, or the end, and stops at the end without follow', async () => {
    await strata.createTopic('plain', { partitions: 2 });
    await produce(
      'plain',
      Array.from({ length: 30 }, (_, i) => `p${i}`),
      2,
    );
    const all: ConsumedRecord[] = [];
    for await (const r of strata.subscribe('plain', { follow: false, maxRecords: 4 })) all.push(r);
    expect(all).toHaveLength(30);
    for (const p of [0, 1]) {
      const offsets = all.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(Array.from({ length: 15 }, (_, i) => i));
    }
    const fromTen: ConsumedRecord[] = [];
    for await (const r of strata.subscribe('plain', { follow: false, fromOffset: 10, partitions: [1] })) fromTen.push(r);
    expect(fromTen.map((r) => r.value!.toString())).toEqual(['p21', 'p23', 'p25', 'p27', 'p29']);
    const future: ConsumedRecord[] = [];
    for await (const r of strata.subscribe('plain', { follow: false, fromTimestamp: Date.now() + 60_000 })) future.push(r);
    expect(future).toEqual([]);
  });

  it('pages across S3 segments and the tail of a compacted topic, continuing over offset gaps', async () => {
    const topic = 'compacted-log';
    await strata.createTopic(topic, {
      partitions: 1,
      config: { cleanupPolicy: 'compact', segmentBytes: 64 * 1024, flushBytes: 1024 ** 3 },
    });
    const value = 'v'.repeat(500);
    const producer = strata.producer({ lingerMs: 1, batchRecords: 50 });
    await producer.send(
      topic,
      Array.from({ length: 600 }, (_, i) => ({ key: `k${i % 20}`, value: `${i}:${value}` })),
    );
    await producer.flush();
    // flushBytes is at its maximum so that no append triggers a background flush (and a
    // compaction racing with the reads below): this test flushes and compacts by hand.
    const meta = await stack.engine.topics.get(topic);
    await stack.engine.flusher!.flushPartition(meta, 0, { force: true, maxSegments: 100 });
    await stack.engine.maintenance!.runPartition(topic, 0);
    await producer.send(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: `t${i}`, value: `tail-${i}` })),
    );
    await producer.close();

    const direct: { offset: number; value: string }[] = [];
    for (let offset = 0; ; ) {
      const page = await strata.read(topic, 0, { offset, maxRecords: 1000 });
      direct.push(...page.records.map((r) => ({ offset: r.offset, value: r.value!.toString() })));
      if (page.nextOffset >= page.highWatermark) break;
      offset = page.nextOffset;
    }
    const consumed: { offset: number; value: string }[] = [];
    for await (const r of strata.subscribe(topic, { follow: false, maxRecords: 7 }))
      consumed.push({ offset: r.offset, value: r.value!.toString() });
    expect(consumed).toEqual(direct);
    // Compaction left gaps (600 keyed records over 20 keys), and the tail follows the segments.
    expect(consumed.length).toBeLessThan(630);
    expect(consumed.at(-1)!.value).toBe('tail-29');
    const { flushedOffset } = (await strata.describeTopic(topic)).partitionStates[0]!;
    expect(flushedOffset).toBeGreaterThan(0);
    expect(consumed.some((r) => r.offset < flushedOffset) && consumed.some((r) => r.offset >= flushedOffset)).toBe(true);
  });

  it('stops reading while maxBufferedRecords wait to be consumed (backpressure)', async () => {
    await strata.createTopic('slow-reader', { partitions: 1 });
    await produce(
      'slow-reader',
      Array.from({ length: 500 }, (_, i) => `s${i}`),
      1,
    );
    const consumer = strata.subscribe('slow-reader', { maxRecords: 5, maxBufferedRecords: 10 });
    await consumer.next();
    // Give the read loop time to overrun if it would; it must not.
    await new Promise((r) => setTimeout(r, 300));
    expect(consumer.bufferedRecords).toBeGreaterThan(0);
    expect(consumer.bufferedRecords).toBeLessThanOrEqual(10 + 5);
    let n = 1;
    for await (const r of consumer) {
      void r;
      if (++n === 500) break;
    }
    expect(n).toBe(500);
  });

  it('seeks a partition back and delivers from there', async () => {
    await strata.createTopic('seekable', { partitions: 1 });
    await produce('seekable', ['a', 'b', 'c', 'd'], 1);
    const consumer = strata.subscribe('seekable', { follow: false });
    const seen: string[] = [];
    for await (const r of consumer) {
      seen.push(r.value!.toString());
      if (seen.length === 3) consumer.seek(0, 1);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'b', 'c', 'd']);
  });

  it('long-polls: a record appended after the consumer caught up arrives without polling delay', async () => {
    await strata.createTopic('live', { partitions: 1 });
    // The poll waits up to 20 s: an answer well inside that came from the append's wake-up,
    // not from the wait running out (the margin is wide: a loaded machine took 1.1 s).
    const waitMs = 20_000;
    const consumer = strata.subscribe('live', { fromOffset: 'latest', waitMs });
    const first = consumer.next();
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    await strata.append('live', [{ value: 'now' }]);
    const got = await first;
    expect(got.value!.value!.toString()).toBe('now');
    expect(performance.now() - started).toBeLessThan(waitMs / 2);
    await consumer.close();
  });

  it('resumes a group from its committed offset after a crash', async () => {
    await strata.createTopic('resume', { partitions: 2 });
    const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
    await produce('resume', values, 2);

    const first = strata.subscribe('resume', { group: 'resumers', sessionTimeoutMs: 1000, autoCommit: false, maxRecords: 10 });
    const seenBefore: ConsumedRecord[] = [];
    for await (const r of first) {
      seenBefore.push(r);
      if (seenBefore.length === 60) await first.commit();
      if (seenBefore.length === 80) {
        // A crash: no commit of the last 20, no leave; the lease has to run out.
        await first.close({ commit: false, leave: false });
      }
    }
    const committed = await strata.fetchOffsets('resumers', 'resume');
    expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(60);

    // The new member first shares the group with the dead one, until its lease runs out.
    const second = strata.subscribe('resume', { group: 'resumers', sessionTimeoutMs: 1000 });
    const starts: Record<number, number> = {};
    const seenAfter: ConsumedRecord[] = [];
    for await (const r of second) {
      starts[r.partition] ??= r.offset;
      seenAfter.push(r);
      if (seenAfter.length === 140) break;
    }
    // The crashed member processed 20 records it did not commit: they come again, from
    // exactly the committed offsets (no skip).
    for (const o of committed) expect(starts[o.partition]).toBe(o.offset);
    const processed = new Set([...seenBefore, ...seenAfter].map((r) => r.value!.toString()));
    expect(processed.size).toBe(200);
    expect(seenAfter).toHaveLength(140);
  });

  it('fences a zombie: a member whose heartbeats stopped cannot commit after the group moved on', async () => {
    await strata.createTopic('zombies', { partitions: 2 });
    await produce(
      'zombies',
      Array.from({ length: 100 }, (_, i) => `z${i}`),
      2,
    );
    let dropHeartbeats = false;
    const zombieClient = new Strata({
      url: stack.url,
      fetch: (input, init) =>
        dropHeartbeats && String(input instanceof Request ? input.url : input).endsWith('/heartbeat')
          ? Promise.reject(new TypeError('fetch failed (injected: heartbeat lost)'))
          : fetch(input, init),
    });
    const a = zombieClient.subscribe('zombies', { group: 'z', sessionTimeoutMs: 1000, autoCommit: false });
    for (let i = 0; i < 10; i++) await a.next();
    await a.commit();
    expect((await strata.fetchOffsets('z', 'zombies')).reduce((n, o) => n + o.offset, 0)).toBe(10);

    // A keeps processing, but nobody hears from it: its lease runs out and B takes over.
    dropHeartbeats = true;
    for (let i = 0; i < 10; i++) await a.next();
    const b = strata.subscribe('zombies', { group: 'z', sessionTimeoutMs: 1000, autoCommit: false });
    const firstOfB = b.next();
    await waitFor(() => b.assignment.length === 2);
    const err = await a.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect(['UNKNOWN_MEMBER', 'STALE_GENERATION']).toContain((err as StrataError).code);
    expect((await strata.fetchOffsets('z', 'zombies')).reduce((n, o) => n + o.offset, 0)).toBe(10);
    // B starts where the group's last legitimate commit left it.
    const committed = new Map((await strata.fetchOffsets('z', 'zombies')).map((o) => [o.partition, o.offset]));
    const first = (await firstOfB).value!;
    expect(first.offset).toBe(committed.get(first.partition) ?? 0);
    await a.close({ commit: false, leave: false });
    await b.close();
  });

  it('a group of 3 over 6 partitions rebalances when one is killed; every record processed at least once, none skipped', async () => {
    const topic = 'shared';
    await strata.createTopic(topic, { partitions: 6 });
    const history = new History();
    const processed = new Map<string, number>();
    const perConsumer = new Map<string, number>();
    const total = 900;
    const done = until(() => processed.size === total);
    const consumers: { name: string; consumer: Consumer; run: Promise<void> }[] = [];

    const start = (name: string) => {
      const consumer = strata.subscribe(topic, {
        group: 'workers',
        sessionTimeoutMs: 1000,
        autoCommitIntervalMs: 0,
        maxRecords: 20,
        waitMs: 500,
        clientId: name,
        onPartitionsAssigned: (partitions, startOffsets) => {
          for (const p of partitions) {
            history.resetConsumer(name, p);
            history.poll({ process: name, partition: p, fromOffset: startOffsets[p]!, records: [] });
          }
        },
      });
      const run = (async () => {
        for await (const r of consumer) {
          const value = r.value!.toString();
          history.poll({ process: name, partition: r.partition, fromOffset: r.offset, records: [{ offset: r.offset, value }] });
          processed.set(value, (processed.get(value) ?? 0) + 1);
          perConsumer.set(name, (perConsumer.get(name) ?? 0) + 1);
          done.tick();
        }
      })();
      consumers.push({ name, consumer, run });
    };
    for (const name of ['c1', 'c2', 'c3']) start(name);

    const producer = strata.producer({ lingerMs: 2 });
    const sendRange = async (from: number, to: number) => {
      const sends: Promise<void>[] = [];
      for (let i = from; i < to; i++) {
        const value = `w${i}`;
        const handle = history.invokeSend({ process: 'producer', partition: i % 6, value });
        sends.push(
          producer.send(topic, { value, partition: i % 6 }).then(
            ([m]) => handle.ok(m!.offset),
            () => handle.info(),
          ),
        );
      }
      await Promise.all(sends);
    };
    await waitFor(
      () =>
        stable(
          consumers.map((c) => c.consumer),
          6,
        ) && consumers.every((c) => c.consumer.assignment.length === 2),
    );
    await sendRange(0, 300);
    // c2 dies holding records it processed but did not commit.
    await waitFor(() => processed.size >= 150 && (perConsumer.get('c2') ?? 0) > 0);
    const victim = consumers.find((c) => c.name === 'c2')!;
    await victim.consumer.close({ commit: false, leave: false });
    await victim.run;
    await sendRange(300, total);
    await producer.close();
    await done.promise;

    const survivors = consumers.filter((c) => c.name !== 'c2');
    await waitFor(() =>
      stable(
        survivors.map((c) => c.consumer),
        6,
      ),
    );
    for (const c of survivors) await c.consumer.close();
    await Promise.all(survivors.map((c) => c.run));

    for (let p = 0; p < 6; p++) {
      const page = await strata.read(topic, p, { offset: 0, maxRecords: 1000 });
      history.finalRead(
        p,
        page.records.map((r) => ({ offset: r.offset, value: r.value!.toString() })),
      );
    }
    const result = history.check();
    expect(result.valid, result.summary()).toBe(true);
    expect(processed.size).toBe(total);
    const group = await strata.describeGroup('workers');
    expect(group.members).toEqual([]);
  });

  // Regression (chaos suite): a member whose first join met a throttle failed for good,
  // and a member whose new partitions' committed offsets could not be fetched at a
  // rebalance never read those partitions.
  it('a group member rides out throttling, 503s and lost answers while joining and while taking over partitions', async () => {
    const topic = 'bumpy';
    await strata.createTopic(topic, { partitions: 2 });
    await produce(
      topic,
      Array.from({ length: 40 }, (_, i) => `b${i}`),
      2,
    );
    const injected = { joinLost: 0, joinThrottled: 0, offsetsRefused: 0 };
    let failJoins = 2;
    let failOffsetFetches = 2;
    const errorAnswer = (status: number, code: string) =>
      new Response(JSON.stringify({ error: { code, message: 'injected' } }), { status, headers: { 'content-type': 'application/json' } });
    const bumpy = new Strata({
      url: stack.url,
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const method = init?.method ?? 'GET';
        if (method === 'POST' && url.pathname.endsWith('/members') && failJoins > 0) {
          failJoins -= 1;
          if (injected.joinLost === 0) {
            // Applied by the server, answer lost: the retry must renew the same member.
            await (await fetch(input, init)).arrayBuffer();
            injected.joinLost += 1;
            throw new TypeError('fetch failed (injected: join answer lost)');
          }
          injected.joinThrottled += 1;
          return errorAnswer(429, 'THROTTLED');
        }
        if (method === 'GET' && url.pathname.endsWith('/offsets') && url.pathname.startsWith('/v1/groups/') && failOffsetFetches > 0) {
          failOffsetFetches -= 1;
          injected.offsetsRefused += 1;
          return errorAnswer(503, 'RETRY');
        }
        return fetch(input, init);
      },
    });
    const a = bumpy.subscribe(topic, { group: 'bumpy', sessionTimeoutMs: 2000, autoCommitIntervalMs: 100 });
    const seen = new Set<string>();
    while (seen.size < 40) seen.add((await a.next()).value!.value!.toString());
    expect(injected).toEqual({ joinLost: 1, joinThrottled: 1, offsetsRefused: 2 });
    expect((await strata.describeGroup('bumpy')).members).toHaveLength(1);

    // B joins and takes a partition; when B leaves, A takes it back while its offset fetch fails.
    const b = strata.subscribe(topic, { group: 'bumpy', sessionTimeoutMs: 2000 });
    void b.next();
    await waitFor(() => a.assignment.length === 1 && b.assignment.length === 1);
    const moved = b.assignment[0]!;
    failOffsetFetches = 1;
    await b.close();
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => `c${i}`),
      2,
    );
    const later = new Set<string>();
    while (later.size < 10) {
      const r = (await a.next()).value!;
      if (r.value!.toString().startsWith('c')) later.add(r.value!.toString());
    }
    expect(injected.offsetsRefused).toBe(3);
    expect(a.assignment).toContain(moved);
    await a.close();
  });

  // Regression (issue 12, finding 4): positions read before the topic was deleted and
  // re-created were committed against the new incarnation, so the group skipped the new
  // topic's first records; and the consumer itself read on from its old position.
  it('a group consumer whose topic is re-created under it commits nothing of the old incarnation and restarts from its reset policy', async () => {
    const topic = 'phoenix';
    await strata.createTopic(topic, { partitions: 1 });
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => `old${i}`),
      1,
    );
    const a = strata.subscribe(topic, { group: 'phoenix', autoCommit: false, sessionTimeoutMs: 2000 });
    for (let i = 0; i < 10; i++) await a.next();
    // a waits in a long poll past old9 while the topic is deleted and re-created.
    await strata.deleteTopic(topic);
    await strata.createTopic(topic, { partitions: 1 });
    const fresh = Array.from({ length: 20 }, (_, i) => `new${i}`);
    await produce(topic, fresh, 1);

    await a.commit();
    expect(await strata.fetchOffsets('phoenix', topic)).toEqual([]);
    const after: string[] = [];
    while (after.at(-1) !== 'new19') after.push((await a.next()).value!.value!.toString());
    expect(after).toEqual(fresh);
    await a.commit();
    expect(await strata.fetchOffsets('phoenix', topic)).toMatchObject([{ partition: 0, offset: 20 }]);
    await a.close();
  });

  it('a consumer reading a topic that is re-created under it starts the new incarnation from its reset policy, not from its old position', async () => {
    const topic = 'phoenix-solo';
    await strata.createTopic(topic, { partitions: 1 });
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => `old${i}`),
      1,
    );
    const c = strata.subscribe(topic, { waitMs: 5000 });
    for (let i = 0; i < 10; i++) await c.next();
    // c waits in a long poll past old9 while the topic is deleted and re-created.
    await strata.deleteTopic(topic);
    await strata.createTopic(topic, { partitions: 1 });
    const fresh = Array.from({ length: 20 }, (_, i) => `new${i}`);
    await produce(topic, fresh, 1);
    const after: string[] = [];
    while (after.at(-1) !== 'new19') after.push((await c.next()).value!.value!.toString());
    expect(after).toEqual(fresh);
    await c.close();
  });
});
