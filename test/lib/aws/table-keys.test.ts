import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DELETED_TOPICS_PK,
  deletedTopicSk,
  groupPk,
  groupSk,
  HEAD_SK,
  PRODUCER_PREFIX,
  partitionPk,
  producerSk,
  TAIL_PREFIX,
  TOPICS_PK,
  tailSk,
  topicSk,
} from '../../../lib/aws/table-keys.js';
import { padOffset } from '../../../lib/format/object-keys.js';
import { partitionKey } from '../../../lib/ports/model.js';

const MAX_OFFSET = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const EDGE_OFFSETS = [0, 1, 9, 10, 11, 99, 100, 999, 1_000, 123_456_789, 2 ** 32, 2 ** 53 - 2, MAX_OFFSET];

describe('padOffset', () => {
  it.each([
    [0, '00000000000000000000'],
    [9, '00000000000000000009'],
    [10, '00000000000000000010'],
    [123_456_789, '00000000000123456789'],
    [MAX_OFFSET, '00009007199254740991'],
  ])('pads %d to %s', (offset, expected) => {
    expect(padOffset(offset)).toBe(expected);
  });

  it('always gives 20 digits', () => {
    for (const offset of EDGE_OFFSETS) expect(padOffset(offset)).toMatch(/^\d{20}$/);
  });

  it('orders edge offsets as strings exactly as numbers', () => {
    const shuffled = [...EDGE_OFFSETS].reverse();

    const byString = [...shuffled].sort((a, b) => (padOffset(a) < padOffset(b) ? -1 : padOffset(a) > padOffset(b) ? 1 : 0));

    expect(byString).toEqual(EDGE_OFFSETS);
  });

  it('orders any two offsets as strings exactly as numbers (property)', () => {
    const offset = fc.oneof(fc.constantFrom(...EDGE_OFFSETS), fc.maxSafeNat());
    fc.assert(
      fc.property(offset, offset, (a, b) => {
        expect(padOffset(a) < padOffset(b)).toBe(a < b);
        expect(padOffset(a) === padOffset(b)).toBe(a === b);
      }),
      { numRuns: 1_000 },
    );
  });

  it('sorts a random sample of offsets as strings in numeric order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 50 }), (sample) => {
        const offsets = [...sample, ...EDGE_OFFSETS];
        const numeric = [...offsets].sort((a, b) => a - b);

        const asStrings = offsets.map(padOffset).sort();

        expect(asStrings).toEqual(numeric.map(padOffset));
      }),
    );
  });
});

describe('key formats', () => {
  const ref = { topic: 'orders', topicId: '3f2a9c0d1e4b5a6c', partition: 7 };

  it('keys a partition by topic, topic id and partition number', () => {
    expect(partitionPk(ref)).toBe('P#orders#3f2a9c0d1e4b5a6c#7');
  });

  it('gives different incarnations of a topic different partition keys', () => {
    expect(partitionPk({ ...ref, topicId: 'aaaa' })).not.toBe(partitionPk({ ...ref, topicId: 'bbbb' }));
  });

  it('uses the partition key as the in-process partition id', () => {
    expect(partitionKey(ref)).toBe('P#orders#3f2a9c0d1e4b5a6c#7');
  });

  it('keys a tail item by its padded last offset', () => {
    expect(tailSk(0)).toBe('B#00000000000000000000');
    expect(tailSk(42)).toBe('B#00000000000000000042');
    expect(tailSk(MAX_OFFSET)).toBe('B#00009007199254740991');
    expect(tailSk(5).startsWith(TAIL_PREFIX)).toBe(true);
  });

  it('orders tail sort keys as their offsets (property)', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
        expect(tailSk(a) < tailSk(b)).toBe(a < b);
      }),
    );
  });

  it('keeps head and producer items outside the range of tail sort keys', () => {
    // The tail is queried with sk BETWEEN B#{from} AND B#99999999999999999999.
    const tailMax = `${TAIL_PREFIX}${'9'.repeat(20)}`;
    const inTailRange = (sk: string) => sk >= tailSk(0) && sk <= tailMax;

    expect(inTailRange(tailSk(MAX_OFFSET))).toBe(true);
    expect(inTailRange(HEAD_SK)).toBe(false);
    expect(inTailRange(producerSk('p'))).toBe(false);
    expect(inTailRange(producerSk('B#1'))).toBe(false);
  });

  it('formats the other keys as documented', () => {
    expect(TOPICS_PK).toBe('TOPICS');
    expect(DELETED_TOPICS_PK).toBe('TOPICS_DELETED');
    expect(HEAD_SK).toBe('HEAD');
    expect(topicSk('orders')).toBe('T#orders');
    expect(deletedTopicSk('orders', 'abc')).toBe('T#orders#abc');
    expect(producerSk('p-1')).toBe('PID#p-1');
    expect(producerSk('p-1').startsWith(PRODUCER_PREFIX)).toBe(true);
    expect(groupPk('billing')).toBe('G#billing');
    expect(groupSk('orders', 3)).toBe('orders#3');
  });
});
