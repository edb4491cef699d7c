import { crc32c as reference } from '@aws-crypto/crc32c';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../lib/format/crc32c.js';

describe('crc32c', () => {
  it('gives the standard check value for "123456789" (0xE3069283)', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('gives 0 for no bytes and the RFC 3720 value for 32 zero bytes (0x8A9136AA)', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('agrees with @aws-crypto/crc32c on any bytes, any length and any offset into a buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(crc32c(view)).toBe(reference(view));
      }),
      { numRuns: 500 },
    );
  });
});
