import { describe, expect, it } from 'vitest';
import { faultWindowEnd } from './run-chaos.js';

describe('faultWindowEnd: a full run checks its floor of operations on a slow machine too', () => {
  const at = { end: 420_000, lastEnd: 630_000, minOperations: 100_000, incarnationMs: 20_000 };

  it('keeps the planned end inside the window, whatever has been recorded', () => {
    expect(faultWindowEnd({ ...at, now: 100_000, recorded: 0 })).toBe(420_000);
    expect(faultWindowEnd({ ...at, now: 419_999, recorded: 500_000 })).toBe(420_000);
  });

  it('stops at the planned end once the run has recorded its floor', () => {
    expect(faultWindowEnd({ ...at, now: 420_000, recorded: 100_000 })).toBeUndefined();
  });

  it('goes on one incarnation at a time while the run is short of its floor', () => {
    expect(faultWindowEnd({ ...at, now: 421_500, recorded: 97_973 })).toBe(441_500);
  });

  it('never goes past the last end, reached or not', () => {
    expect(faultWindowEnd({ ...at, now: 620_000, recorded: 99_000 })).toBe(630_000);
    expect(faultWindowEnd({ ...at, now: 630_000, recorded: 99_000 })).toBeUndefined();
  });

  it('does not extend a run that asks no floor', () => {
    expect(faultWindowEnd({ ...at, minOperations: 0, now: 420_000, recorded: 0 })).toBeUndefined();
  });
});
