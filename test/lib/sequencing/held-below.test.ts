/**
 * heldBelow (lib/sequencing/look-below.ts): a writer waiting for a gap below its range
 * reads again only below the items it already saw held above the gap.
 */
import { describe, expect, it } from 'vitest';
import { heldBelow } from '../../../lib/sequencing/look-below.js';

const item = (baseOffset: number, lastOffset: number) => ({ baseOffset, lastOffset, appendedAt: 0 });

describe('heldBelow', () => {
  it('is the top when nothing was seen above the gap', () => {
    expect(heldBelow(20, undefined)).toBe(20);
    expect(heldBelow(20, { end: 5, items: [], gap: { start: 5, end: 20, reservedBy: 0 } })).toBe(20);
  });

  it('comes down over the items that reach the top contiguously', () => {
    const scan = { end: 5, items: [], gap: { start: 5, end: 8, reservedBy: 0 }, above: [item(8, 9), item(10, 14), item(15, 19)] };
    expect(heldBelow(20, scan)).toBe(8);
  });

  it('stops at a second gap: everything below it is read again', () => {
    const scan = { end: 5, items: [], gap: { start: 5, end: 8, reservedBy: 0 }, above: [item(8, 9), item(12, 14), item(15, 19)] };
    expect(heldBelow(20, scan)).toBe(12);
  });

  it('stays at the top when the items seen do not reach it', () => {
    const scan = { end: 5, items: [], gap: { start: 5, end: 8, reservedBy: 0 }, above: [item(8, 9), item(10, 14)] };
    expect(heldBelow(20, scan)).toBe(20);
  });
});
