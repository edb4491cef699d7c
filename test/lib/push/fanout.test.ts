/**
 * The push fan-out's decisions, against an in-memory store and poster: who is told,
 * when the quiet marker holds an announcement back, what a gone or failing connection
 * costs, and that nothing is written or encoded for a partition nobody subscribed to.
 * (The DynamoDB store and the sockets are exercised in test/lib/push/push.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { type ConnectionPoster, type PartitionSubscribers, PushFanout, type PushStore } from '../../../lib/push/fanout.js';
import type { PushMessage } from '../../../lib/push/protocol.js';

class MemoryStore implements PushStore {
  subs = new Map<string, Set<string>>();
  quiet = new Map<string, number>();
  claims = 0;
  lookups = 0;
  forgotten: string[] = [];

  async subscribers(topic: string, partition: number): Promise<PartitionSubscribers> {
    this.lookups++;
    const key = `${topic}#${partition}`;
    return { connections: [...(this.subs.get(key) ?? [])], quietUntil: this.quiet.get(key) ?? 0 };
  }
  async claimQuiet(topic: string, partition: number, now: number, until: number): Promise<boolean> {
    this.claims++;
    const key = `${topic}#${partition}`;
    if ((this.quiet.get(key) ?? 0) > now) return false;
    this.quiet.set(key, until);
    return true;
  }
  async subscribe(connectionId: string, topic: string, partitions: number[]): Promise<void> {
    for (const p of partitions) {
      const key = `${topic}#${p}`;
      this.subs.set(key, new Set([...(this.subs.get(key) ?? []), connectionId]));
    }
  }
  async unsubscribe(): Promise<void> {}
  async subscriptionsOf(): Promise<string[]> {
    return [];
  }
  async dropConnection(): Promise<void> {}
  async forget(connectionId: string, topic: string, partition: number): Promise<void> {
    this.forgotten.push(`${connectionId}@${topic}#${partition}`);
    this.subs.get(`${topic}#${partition}`)?.delete(connectionId);
  }
}

function poster(
  outcomes: Record<string, 'sent' | 'gone' | 'fail'> = {},
): ConnectionPoster & { sent: { id: string; message: PushMessage }[] } {
  const sent: { id: string; message: PushMessage }[] = [];
  return {
    sent,
    async post(id, message) {
      const outcome = outcomes[id] ?? 'sent';
      if (outcome === 'fail') throw new Error('post failed');
      if (outcome === 'sent') sent.push({ id, message });
      return outcome;
    },
  };
}

function clockAt(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe('PushFanout', () => {
  it('writes nothing and encodes nothing for a partition nobody subscribed to', async () => {
    const store = new MemoryStore();
    let encoded = 0;
    const fanout = new PushFanout(store, poster(), clockAt(0), { quietMs: 50 });
    const result = await fanout.announce('t', 0, 5, () => {
      encoded++;
      return 'frame';
    });
    expect(result).toEqual({ outcome: 'none', sent: 0, gone: 0, failed: 0 });
    expect(store.claims).toBe(0);
    expect(encoded).toBe(0);
  });

  it('tells every subscriber once per quiet interval, with the watermark, the interval and the frame', async () => {
    const store = new MemoryStore();
    await store.subscribe('a', 't', [0]);
    await store.subscribe('b', 't', [0]);
    const out = poster();
    const clock = clockAt(1000);
    const fanout = new PushFanout(store, out, clock, { quietMs: 50 });
    expect(await fanout.announce('t', 0, 3, () => 'AAAA')).toMatchObject({ outcome: 'sent', sent: 2 });
    expect(out.sent.map((s) => s.id).sort()).toEqual(['a', 'b']);
    expect(out.sent[0]!.message).toEqual({ type: 'moved', topic: 't', partition: 0, highWatermark: 3, quietMs: 50, frame: 'AAAA' });
    clock.t += 20;
    expect(await fanout.announce('t', 0, 4)).toMatchObject({ outcome: 'quiet', sent: 0 });
    clock.t += 40;
    expect(await fanout.announce('t', 0, 5)).toMatchObject({ outcome: 'sent', sent: 2 });
    expect(out.sent).toHaveLength(4);
  });

  it('lets one of two appends racing for the marker announce', async () => {
    const store = new MemoryStore();
    await store.subscribe('a', 't', [0]);
    const out = poster();
    const fanout = new PushFanout(store, out, clockAt(0), { quietMs: 50 });
    // Both looked the subscribers up before either claimed the marker.
    const first = fanout.prepare('t', 0);
    const second = fanout.prepare('t', 0);
    const results = await Promise.all([first(1), second(2)]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['quiet', 'sent']);
    expect(out.sent).toHaveLength(1);
  });

  it('looks the subscribers up when the append starts: one subscribed later is not told by that append', async () => {
    const store = new MemoryStore();
    const out = poster();
    const fanout = new PushFanout(store, out, clockAt(0), { quietMs: 50 });
    const announce = fanout.prepare('t', 0);
    await store.subscribe('late', 't', [0]);
    expect(await announce(1)).toMatchObject({ outcome: 'none' });
    // The next append sees it (and the client's read a second after subscribing covers the first).
    expect(await fanout.announce('t', 0, 2)).toMatchObject({ outcome: 'sent', sent: 1 });
  });

  it('forgets a gone connection and counts a failed post, which do not stop the others', async () => {
    const store = new MemoryStore();
    for (const id of ['ok', 'gone', 'broken']) await store.subscribe(id, 't', [1]);
    const failures: string[] = [];
    const out = poster({ gone: 'gone', broken: 'fail' });
    const fanout = new PushFanout(store, out, clockAt(0), { quietMs: 50, onPostError: (id) => failures.push(id) });
    expect(await fanout.announce('t', 1, 9)).toEqual({ outcome: 'sent', sent: 1, gone: 1, failed: 1 });
    expect(store.forgotten).toEqual(['gone@t#1']);
    expect(failures).toEqual(['broken']);
  });

  it('does not leave a failed lookup unhandled when the append never announces', async () => {
    const store = new MemoryStore();
    store.subscribers = () => Promise.reject(new Error('throttled'));
    const fanout = new PushFanout(store, poster(), clockAt(0), { quietMs: 50 });
    const announce = fanout.prepare('t', 0);
    await new Promise((r) => setTimeout(r, 10));
    await expect(announce(1)).rejects.toThrow('throttled');
  });
});
