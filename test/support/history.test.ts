import { describe, expect, it } from 'vitest';
import { type AnomalyType, type CheckResult, History } from './history.js';

/** Acknowledges `value` at `offset` for `process` on `partition`. */
function acked(h: History, process: string, partition: number, value: string, offset: number): void {
  h.invokeSend({ process, partition, value }).ok(offset);
}

function recs(...pairs: [number, string][]): { offset: number; value: string }[] {
  return pairs.map(([offset, value]) => ({ offset, value }));
}

/** The set of anomaly types a result reports. */
function types(result: CheckResult): AnomalyType[] {
  return [...new Set(result.anomalies.map((a) => a.type))].sort();
}

/** Partition 0 with `a`, `b`, `c` acked at 0, 1, 2 by one producer, and a matching final read. */
function threeAcked(): History {
  const h = new History();
  acked(h, 'p1', 0, 'a', 0);
  acked(h, 'p1', 0, 'b', 1);
  acked(h, 'p1', 0, 'c', 2);
  h.finalRead(0, recs([0, 'a'], [1, 'b'], [2, 'c']));
  return h;
}

describe('History checker', () => {
  it('counts the sends and polls recorded so far as its check will', () => {
    const h = threeAcked();
    h.invokeSend({ process: 'p2', partition: 0, value: 'd' });
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a']) });
    expect(h.operations).toBe(5);
    expect(h.operations).toBe(h.check().counts.sends + h.check().counts.polls);
  });

  it('finds no anomaly in a clean history', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    acked(h, 'p1', 0, 'b', 1);
    h.invokeSend({ process: 'p2', partition: 0, value: 'c' }).info();
    h.invokeSend({ process: 'p2', partition: 0, value: 'd' }).fail();
    acked(h, 'p2', 1, 'x', 0);
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.poll({ process: 'c1', partition: 0, fromOffset: 2, records: recs([2, 'c']) });
    h.poll({ process: 'c1', partition: 0, fromOffset: 3, records: [] });
    h.poll({ process: 'c2', partition: 1, fromOffset: 0, records: recs([0, 'x']) });
    h.finalRead(0, recs([0, 'a'], [1, 'b'], [2, 'c']));
    h.finalRead(1, recs([0, 'x']));

    const result = h.check();
    expect(result.anomalies).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.counts).toEqual({ sends: 5, acked: 3, failed: 1, unknown: 1, polls: 4, polledRecords: 4 });
    expect(result.summary()).toContain('VALID');
  });

  it('reports lost-write when an acked value is missing from the final read', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    acked(h, 'p1', 0, 'b', 1);
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.finalRead(0, recs([0, 'a']));

    const result = h.check();
    expect(types(result)).toEqual(['lost-write']);
    expect(result.anomalies[0]).toMatchObject({ type: 'lost-write', partition: 0, value: 'b', offset: 1 });
    expect(result.valid).toBe(false);
  });

  it('reports lost-write when the final read lacks an acked offset below offsets it reads', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    acked(h, 'p1', 0, 'b', 1);
    h.invokeSend({ process: 'p1', partition: 0, value: 'c' }).info();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.finalRead(0, recs([0, 'a'], [2, 'c']));

    const result = h.check();
    expect(types(result)).toEqual(['lost-write']);
    expect(result.anomalies.some((a) => a.value === 'b')).toBe(true);
  });

  it('reports lost-write when a polled write of unknown outcome vanishes from the final read', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    h.invokeSend({ process: 'p1', partition: 0, value: 'b' }).info();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.finalRead(0, recs([0, 'a']));

    const result = h.check();
    expect(types(result)).toEqual(['lost-write']);
    expect(result.anomalies[0]).toMatchObject({ value: 'b' });
  });

  it('reports inconsistent-offsets when acked offsets disagree with what is read', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 1);
    acked(h, 'p2', 0, 'b', 0);
    h.finalRead(0, recs([0, 'a'], [1, 'b']));

    const result = h.check();
    expect(types(result)).toEqual(['inconsistent-offsets']);
    expect(result.anomalies.some((a) => a.value === 'a' && a.offset === 1)).toBe(true);
    expect(result.anomalies.some((a) => a.offset === 0 && a.values?.length === 2)).toBe(true);
  });

  it('reports inconsistent-offsets when a poll and the final read disagree about an offset', () => {
    const h = new History();
    h.invokeSend({ process: 'p1', partition: 0, value: 'a' }).info();
    h.invokeSend({ process: 'p1', partition: 0, value: 'b' }).info();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a']) });
    h.finalRead(0, recs([0, 'b']));

    expect(types(h.check())).toContain('inconsistent-offsets');
  });

  it('reports duplicate when a value appears at two offsets', () => {
    const h = new History();
    h.invokeSend({ process: 'p1', partition: 0, value: 'a' }).info();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'a']) });
    h.finalRead(0, recs([0, 'a'], [1, 'a']));

    const result = h.check();
    expect(types(result)).toEqual(['duplicate']);
    expect(result.anomalies[0]).toMatchObject({ value: 'a', offsets: [0, 1] });
  });

  it('reports poll-skip when a consumer jumps over an existing offset between polls', () => {
    const h = threeAcked();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a']) });
    h.poll({ process: 'c1', partition: 0, fromOffset: 2, records: recs([2, 'c']) });

    const result = h.check();
    expect(types(result)).toEqual(['poll-skip']);
    expect(result.anomalies[0]).toMatchObject({ process: 'c1', offset: 1 });
  });

  it('reports poll-skip inside one poll and when a poll does not start at its fromOffset', () => {
    const h = threeAcked();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [2, 'c']) });
    h.poll({ process: 'c2', partition: 0, fromOffset: 0, records: recs([1, 'b'], [2, 'c']) });

    const result = h.check();
    expect(types(result)).toEqual(['poll-skip']);
    expect(result.anomalies.map((a) => [a.process, a.offset])).toEqual([
      ['c1', 1],
      ['c2', 0],
    ]);
  });

  it('reports poll-skip against acked offsets when no final read was recorded', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    acked(h, 'p1', 0, 'b', 1);
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([1, 'b']) });

    const result = h.check();
    expect(result.anomalies.filter((a) => a.type === 'poll-skip')).toMatchObject([{ process: 'c1', offset: 0 }]);
  });

  it('reports poll-skip when an empty poll advances past existing offsets', () => {
    const h = threeAcked();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a']) });
    h.poll({ process: 'c1', partition: 0, fromOffset: 3, records: [] });

    expect(types(h.check())).toEqual(['poll-skip']);
  });

  it('reports nonmonotonic-poll when a consumer re-reads or goes backwards', () => {
    const h = threeAcked();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.poll({ process: 'c1', partition: 0, fromOffset: 1, records: recs([1, 'b'], [2, 'c']) });
    h.poll({ process: 'c2', partition: 0, fromOffset: 0, records: recs([0, 'a'], [2, 'c'], [1, 'b']) });

    const result = h.check();
    expect(result.anomalies.filter((a) => a.type === 'nonmonotonic-poll').map((a) => a.process)).toEqual(['c1', 'c2']);
    expect(result.anomalies.filter((a) => a.process === 'c1').map((a) => a.type)).toEqual(['nonmonotonic-poll']);
  });

  it('does not report nonmonotonic-poll across resetConsumer', () => {
    const h = threeAcked();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.resetConsumer('c1', 0);
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b'], [2, 'c']) });
    expect(h.check().anomalies).toEqual([]);

    h.poll({ process: 'c1', partition: 0, fromOffset: 1, records: recs([1, 'b']) });
    expect(types(h.check())).toEqual(['nonmonotonic-poll']);
  });

  it('reports nonmonotonic-send when a producer gets a lower offset for a later send', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 1);
    acked(h, 'p1', 0, 'b', 0);
    h.finalRead(0, recs([0, 'b'], [1, 'a']));

    const result = h.check();
    expect(types(result)).toEqual(['nonmonotonic-send']);
    expect(result.anomalies[0]).toMatchObject({ process: 'p1', value: 'b', offsets: [1, 0] });
  });

  it('reports unseen for an acked value nobody read', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);

    const result = h.check();
    expect(types(result)).toEqual(['unseen']);
    expect(result.anomalies[0]).toMatchObject({ value: 'a', offset: 0 });
  });

  it('reports both unseen and lost-write when the final read lacks a value nobody polled', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    h.finalRead(0, []);
    expect(types(h.check())).toEqual(['lost-write', 'unseen']);
  });

  it('reports phantom for a value no send produced', () => {
    const h = new History();
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'ghost']) });
    h.finalRead(0, recs([0, 'ghost']));

    const result = h.check();
    expect(types(result)).toEqual(['phantom']);
    expect(result.anomalies[0]).toMatchObject({ value: 'ghost', offsets: [0] });
  });

  it('reports phantom for a value whose send was reported failed', () => {
    const h = new History();
    h.invokeSend({ process: 'p1', partition: 0, value: 'rejected' }).fail();
    h.finalRead(0, recs([0, 'rejected']));

    const result = h.check();
    expect(types(result)).toEqual(['phantom']);
    expect(result.anomalies[0]).toMatchObject({ value: 'rejected', process: 'p1' });
  });

  it('reports phantom for a value read on a partition it was not sent to', () => {
    const h = new History();
    h.invokeSend({ process: 'p1', partition: 1, value: 'a' }).info();
    h.finalRead(0, recs([0, 'a']));
    expect(types(h.check())).toEqual(['phantom']);
  });

  it('allows unknown-outcome sends to be absent', () => {
    const h = new History();
    acked(h, 'p1', 0, 'a', 0);
    h.invokeSend({ process: 'p1', partition: 0, value: 'maybe' }).info();
    h.invokeSend({ process: 'p1', partition: 0, value: 'never-completed' });
    acked(h, 'p1', 0, 'b', 1);
    h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
    h.finalRead(0, recs([0, 'a'], [1, 'b']));

    const result = h.check();
    expect(result.valid).toBe(true);
    expect(result.counts.unknown).toBe(2);
  });

  describe('allowGaps', () => {
    function gappy(): History {
      const h = new History();
      acked(h, 'p1', 0, 'a', 0);
      acked(h, 'p1', 0, 'b', 1);
      acked(h, 'p1', 0, 'c', 5);
      h.finalRead(0, recs([0, 'a'], [1, 'b'], [5, 'c']));
      return h;
    }

    it('accepts gaps that exist in the final read', () => {
      const h = gappy();
      h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [1, 'b']) });
      h.poll({ process: 'c1', partition: 0, fromOffset: 2, records: recs([5, 'c']) });
      h.poll({ process: 'c2', partition: 0, fromOffset: 1, records: recs([1, 'b'], [5, 'c']) });

      expect(h.check({ allowGaps: true }).anomalies).toEqual([]);
      expect(types(h.check())).toEqual(['lost-write', 'poll-skip']);
    });

    it('still reports a skip of an offset present in the final read', () => {
      const h = gappy();
      h.poll({ process: 'c1', partition: 0, fromOffset: 0, records: recs([0, 'a'], [5, 'c']) });

      const result = h.check({ allowGaps: true });
      expect(types(result)).toEqual(['poll-skip']);
      expect(result.anomalies[0]).toMatchObject({ process: 'c1', offset: 1 });
    });
  });

  it('summarises counts and examples per type, eliding the rest', () => {
    const h = new History();
    for (let i = 0; i < 5; i++) acked(h, 'p1', 0, `v${i}`, i);
    const summary = h.check().summary(2);
    expect(summary).toContain('INVALID (5 anomalies)');
    expect(summary).toContain('sends: 5 (acked 5, failed 0, unknown 0)');
    expect(summary).toContain('unseen (5):');
    expect(summary).toContain('… and 3 more');
  });

  it('rejects reused values and double completion', () => {
    const h = new History();
    const send = h.invokeSend({ process: 'p1', partition: 0, value: 'a' });
    send.ok(0);
    expect(() => send.info()).toThrow(/already completed/);
    expect(() => h.invokeSend({ process: 'p2', partition: 0, value: 'a' })).toThrow(/unique/);
  });

  it('checks a history of 100,000 sends and polls', () => {
    const h = new History();
    const partitions = 4;
    const producers = 8;
    const sends = 100_000;
    const next = new Array<number>(partitions).fill(0);
    const logs: { offset: number; value: string }[][] = Array.from({ length: partitions }, () => []);
    for (let i = 0; i < sends; i++) {
      const partition = i % partitions;
      const value = `v${i}`;
      const send = h.invokeSend({ process: `p${i % producers}`, partition, value });
      if (i % 97 === 0) {
        send.fail();
        continue;
      }
      const offset = next[partition] ?? 0;
      next[partition] = offset + 1;
      logs[partition]?.push({ offset, value });
      if (i % 89 === 0) send.info();
      else send.ok(offset);
    }
    let polls = 0;
    for (let partition = 0; partition < partitions; partition++) {
      const log = logs[partition] ?? [];
      for (const consumer of ['c1', 'c2']) {
        const batch = consumer === 'c1' ? 1 : 7;
        for (let from = 0; from < log.length; from += batch) {
          h.poll({ process: consumer, partition, fromOffset: from, records: log.slice(from, from + batch) });
          polls += 1;
        }
      }
      h.finalRead(partition, log);
    }
    expect(polls).toBeGreaterThan(sends);

    const result = h.check();
    expect(result.valid).toBe(true);
    expect(result.counts.sends).toBe(sends);
    expect(result.counts.polls).toBe(polls);
  });
});
