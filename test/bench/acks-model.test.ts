/**
 * The acks=all model (bench/model/acks-all.ts): with constant round trips its figures are
 * known in closed form, and with spread ones no way of looking beats perfect knowledge.
 */
import { describe, expect, it } from 'vitest';
import { lookReadUnits, runAcksModel, TAIL_ITEM_BYTES } from '../../bench/model/acks-all.js';
import { AWS_ROUND_TRIP_MS, projectOnAws } from '../../bench/suites/acks-model.js';
import { seededRandom } from '../../local/chaos.js';

const model = (writers: number, policy: Parameters<typeof runAcksModel>[0]['policy'], sigma: number, seed = 1) =>
  runAcksModel({ writers, policy, sigma, roundTrips: 1_000, random: seededRandom(seed) });

describe('acks=all model', () => {
  it('with constant round trips: K writers acknowledge K/2 appends a round trip raw, and acks=all loses nothing', () => {
    for (const k of [1, 4, 16]) {
      const raw = model(k, 'raw', 0);
      expect(raw.acksPerRoundTrip).toBeCloseTo(k / 2, 1);
      expect(raw.p50RoundTrips).toBeCloseTo(2, 6);
      // Reservations land in the order they were sent, and so do the fills: nobody waits.
      const oracle = model(k, 'oracle', 0);
      expect(oracle.acksPerRoundTrip).toBeCloseTo(raw.acksPerRoundTrip, 1);
      expect(oracle.p50RoundTrips).toBeCloseTo(2, 6);
    }
  });

  it('a lone writer never looks: its own last append ended where the next begins', () => {
    const one = model(1, 'look', 0.39);
    expect(one.looksPerAck).toBe(0);
    expect(one.acksPerRoundTrip).toBeCloseTo(model(1, 'raw', 0.39).acksPerRoundTrip, 6);
  });

  it('with spread round trips, no way of looking beats perfect knowledge, which stays under the primitive', () => {
    for (const k of [8, 32]) {
      const raw = model(k, 'raw', 0.39);
      const oracle = model(k, 'oracle', 0.39);
      expect(oracle.acksPerRoundTrip).toBeLessThan(raw.acksPerRoundTrip);
      for (const policy of ['look', 'look-fixed', 'look-quarter'] as const) {
        const look = model(k, policy, 0.39);
        expect(look.acksPerRoundTrip).toBeLessThanOrEqual(oracle.acksPerRoundTrip * 1.02);
        expect(look.looksPerAck).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('a look reads the reservations between the known prefix and its own: polling reads more than the look as built', () => {
    const once = model(16, 'look', 0.39);
    const polled = model(16, 'look-quarter', 0.39);
    // At least the one reservation just before its own per look that found one to read.
    expect(once.itemsReadPerAck).toBeGreaterThan(1);
    expect(once.itemsReadPerAck).toBeLessThan(16 * once.looksPerAck);
    expect(polled.itemsReadPerAck).toBeGreaterThan(once.itemsReadPerAck);
    expect(model(1, 'look', 0.39).itemsReadPerAck).toBe(0);
  });

  it('bills a look its items rounded up to 4 KB, at least one read unit, half that for the first (eventually consistent)', () => {
    expect(lookReadUnits(0, true)).toBe(1);
    expect(lookReadUnits(1, true)).toBe(1);
    expect(lookReadUnits(Math.floor(4096 / TAIL_ITEM_BYTES), true)).toBe(1);
    expect(lookReadUnits(Math.floor(4096 / TAIL_ITEM_BYTES) + 1, true)).toBe(2);
    expect(lookReadUnits(Math.floor(4096 / TAIL_ITEM_BYTES) + 1, false)).toBe(1);
    expect(lookReadUnits(0, false)).toBe(0.5);
    const k16 = model(16, 'look', 0.39);
    // Between half and all of the items' bytes in read units, rounded up per look.
    expect(k16.readUnitsPerAck).toBeGreaterThan((k16.itemsReadPerAck * TAIL_ITEM_BYTES) / 4096 / 2);
    expect(k16.readUnitsPerAck).toBeLessThan((k16.itemsReadPerAck * TAIL_ITEM_BYTES) / 4096 + k16.looksPerAck);
    expect(model(1, 'look', 0.39).readUnitsPerAck).toBe(0);
  });

  it("projects onto a partition: round trips until its write units or its looks' read units bind", () => {
    // 1 ack a round trip: 100 a second at 10 ms, under the 333 the write units allow.
    expect(AWS_ROUND_TRIP_MS).toBe(10);
    expect(projectOnAws({ acksPerRoundTrip: 1, readUnitsPerAck: 0 })).toEqual({ perSec: 100, bound: 'round trips' });
    expect(projectOnAws({ acksPerRoundTrip: 10, readUnitsPerAck: 0 })).toEqual({ perSec: 1000 / 3, bound: 'writes' });
    expect(projectOnAws({ acksPerRoundTrip: 10, readUnitsPerAck: 20 })).toEqual({ perSec: 150, bound: 'reads' });
  });

  it('gives the same figures for the same seed', () => {
    expect(model(8, 'look', 0.39, 7)).toEqual(model(8, 'look', 0.39, 7));
  });
});
