/**
 * Kafka's zigzag varints, as the record batch writes them: a record's length, offset
 * delta, field lengths and header count as varints (int32), its timestamp delta as a
 * varlong (int64). Sizes first, so a batch is written into one buffer. The reading side
 * is the Cursor in record-batch.ts, which names the batch in its errors.
 */

/** Deltas inside this range zigzag-encode with 32-bit arithmetic; others go through BigInt. */
const SMALL_VARLONG_LIMIT = 0x4000_0000;

/** Bytes of `value` as a zigzag varint: 1 to 5. */
export function varintSize(value: number): number {
  const raw = ((value << 1) ^ (value >> 31)) >>> 0;
  if (raw < 0x80) return 1;
  if (raw < 0x4000) return 2;
  if (raw < 0x20_0000) return 3;
  if (raw < 0x1000_0000) return 4;
  return 5;
}

/** Writes `value` as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/** Zigzag of `timestamp - base` as a 64-bit value; exact for any two safe integers. */
function zigzagDelta(timestamp: number, base: number): bigint {
  const delta = BigInt(timestamp) - BigInt(base);
  return delta < 0n ? -delta * 2n - 1n : delta * 2n;
}

function isSmallDelta(delta: number): boolean {
  return delta >= -SMALL_VARLONG_LIMIT && delta < SMALL_VARLONG_LIMIT;
}

/** Bytes of `timestamp - base` as a zigzag varlong. */
export function varlongSize(timestamp: number, base: number): number {
  const delta = timestamp - base;
  if (isSmallDelta(delta)) return varintSize(delta);
  let raw = zigzagDelta(timestamp, base);
  let size = 1;
  while (raw >= 0x80n) {
    raw >>= 7n;
    size++;
  }
  return size;
}

/** Writes `timestamp - base` as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, timestamp: number, base: number): number {
  const delta = timestamp - base;
  if (isSmallDelta(delta)) return writeVarint(buf, pos, delta);
  let raw = zigzagDelta(timestamp, base);
  while (raw >= 0x80n) {
    buf[pos++] = Number(raw & 0x7fn) | 0x80;
    raw >>= 7n;
  }
  buf[pos++] = Number(raw);
  return pos;
}
