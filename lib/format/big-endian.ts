/**
 * Big-endian fields of the binary formats (the record batch, the segment's index and
 * trailer): int64s as exact JavaScript numbers, the DataView they are read through, and
 * the hex a CRC is shown in. Two 32-bit halves instead of BigInt: readers decode headers
 * and indexes on every read.
 */

/** 2^32: an int64 is `high * TWO_POW_32 + low`. */
export const TWO_POW_32 = 0x1_0000_0000;

/** Writes a safe integer as a big-endian int64 (two's complement), exactly. */
export function writeInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
}

/** Reads a big-endian int64; exact whenever the result is a safe integer. */
export function readInt64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}

/** A DataView over exactly `bytes`, which may be a view into a larger buffer. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** 32 bits as 8 hex digits, as error messages show CRCs. */
export function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}
