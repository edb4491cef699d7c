/**
 * The binary read's answer (`application/vnd.strata.batches`): a small header, then the
 * record batches as stored, copied from tail items and segment byte ranges without
 * decoding them. The server only frames; the client checks everything (the header's
 * CRC, each batch's framing, offsets and CRC) and drops the records outside
 * [startOffset, nextOffset): the first batch may start below the offset read from, and
 * the last may reach past where the read stopped. See docs/format.md, "Binary reads".
 *
 *     0  magic 'STRB'   4  version 1   5  reserved ×3
 *     8  startOffset   16 nextOffset   24 highWatermark   32 logStartOffset   (int64)
 *     40 batchCount    44 batchBytes   (int32)   48 topicIdLength (int16)   50 topicId
 *     50+n headerCrc (uint32, CRC32C of bytes [0, 50+n))   54+n batches…
 */

import { CorruptDataError } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import { crc32c } from './crc32c.js';
import { decodeBatch, readBatchHeader } from './record-batch.js';

/** The media type a client asks for (Accept) and the server answers with. */
export const BATCHES_MEDIA_TYPE = 'application/vnd.strata.batches';
/** First four bytes of every frame: ASCII `STRB`. */
export const FRAME_MAGIC = 0x53545242;
export const FRAME_VERSION = 1;
/** Fixed bytes before the topic id. */
const FIXED_BYTES = 50;
const CRC_BYTES = 4;
/** A topic id is a UUID; the field allows more, bounded so the header stays small. */
const MAX_TOPIC_ID_BYTES = 255;

/** The header of a binary read's answer: the JSON read's fields, and where its records start. */
export interface FrameHeader {
  topicId: string;
  /** The offset the read started from: records below it are not part of the answer. */
  startOffset: number;
  /** Where the next read continues: records at or above it are not part of the answer. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** Bytes of a frame's header for this topic id: what one answer spends besides its batches. */
export function frameHeaderBytes(topicId: string): number {
  return FIXED_BYTES + Buffer.byteLength(topicId) + CRC_BYTES;
}

/** The frame of a read: the header, then the batches copied once into one buffer. */
export function encodeFrame(header: FrameHeader, batches: readonly Uint8Array[]): Buffer {
  const topicId = Buffer.from(header.topicId, 'utf8');
  if (topicId.byteLength > MAX_TOPIC_ID_BYTES) throw new RangeError(`a topic id of ${topicId.byteLength} bytes does not fit a frame`);
  let batchBytes = 0;
  for (const b of batches) batchBytes += b.byteLength;
  const headerBytes = FIXED_BYTES + topicId.byteLength + CRC_BYTES;
  const out = Buffer.allocUnsafe(headerBytes + batchBytes);
  out.writeUInt32BE(FRAME_MAGIC, 0);
  out.writeUInt32BE(FRAME_VERSION << 24, 4);
  writeOffset(out, 8, header.startOffset);
  writeOffset(out, 16, header.nextOffset);
  writeOffset(out, 24, header.highWatermark);
  writeOffset(out, 32, header.logStartOffset);
  out.writeInt32BE(batches.length, 40);
  out.writeInt32BE(batchBytes, 44);
  out.writeInt16BE(topicId.byteLength, 48);
  topicId.copy(out, FIXED_BYTES);
  out.writeUInt32BE(crc32c(out.subarray(0, FIXED_BYTES + topicId.byteLength)), FIXED_BYTES + topicId.byteLength);
  let position = headerBytes;
  for (const b of batches) {
    out.set(b, position);
    position += b.byteLength;
  }
  return out;
}

/** A frame split into its checked header and its batches (not yet checked: see {@link decodeFrame}). */
export function readFrame(bytes: Uint8Array): FrameHeader & { batchCount: number; batches: Uint8Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < FIXED_BYTES + CRC_BYTES)
    throw new CorruptDataError(`a batches frame is at least ${FIXED_BYTES + CRC_BYTES} bytes; got ${buf.byteLength}`);
  if (buf.readUInt32BE(0) !== FRAME_MAGIC) throw new CorruptDataError('not a batches frame: the magic is not STRB');
  const version = buf.readUInt8(4);
  if (version !== FRAME_VERSION || buf.readUIntBE(5, 3) !== 0)
    throw new CorruptDataError(`a batches frame of version ${version} (this reader knows ${FRAME_VERSION})`);
  const idBytes = buf.readInt16BE(48);
  const headerEnd = FIXED_BYTES + idBytes;
  if (idBytes < 0 || idBytes > MAX_TOPIC_ID_BYTES || buf.byteLength < headerEnd + CRC_BYTES)
    throw new CorruptDataError(`a batches frame's topic id length ${idBytes} does not fit`);
  const expected = buf.readUInt32BE(headerEnd);
  const actual = crc32c(buf.subarray(0, headerEnd));
  if (expected !== actual)
    throw new CorruptDataError(`a batches frame's header fails its CRC32C: expected 0x${hex(expected)}, actual 0x${hex(actual)}`);
  const header = {
    topicId: buf.toString('utf8', FIXED_BYTES, headerEnd),
    startOffset: readOffset(buf, 8),
    nextOffset: readOffset(buf, 16),
    highWatermark: readOffset(buf, 24),
    logStartOffset: readOffset(buf, 32),
  };
  const batchCount = buf.readInt32BE(40);
  const batchBytes = buf.readInt32BE(44);
  const batches = bytes.subarray(headerEnd + CRC_BYTES);
  if (batchCount < 0 || batchBytes !== batches.byteLength) {
    throw new CorruptDataError(`a batches frame announces ${batchBytes} bytes of batches and carries ${batches.byteLength}`);
  }
  const { startOffset, nextOffset, highWatermark, logStartOffset } = header;
  if (!(logStartOffset <= startOffset && startOffset <= nextOffset && nextOffset <= highWatermark)) {
    throw new CorruptDataError(
      `a batches frame's offsets disagree: log start ${logStartOffset}, start ${startOffset}, next ${nextOffset}, high watermark ${highWatermark}`,
    );
  }
  return { ...header, batchCount, batches };
}

/**
 * The records of a frame, every check made: the header's CRC, each batch's framing and
 * CRC (decodeBatch), batches in strictly increasing offsets, the first reaching
 * `startOffset` and none starting at or past `nextOffset`. Records outside
 * [startOffset, nextOffset) are dropped. Keys and values are views into `bytes` for
 * uncompressed batches (gzip batches are inflated here).
 */
export function decodeFrame(bytes: Uint8Array): FrameHeader & { records: StoredRecord[] } {
  const frame = readFrame(bytes);
  const { batches, startOffset, nextOffset } = frame;
  const records: StoredRecord[] = [];
  let position = 0;
  let count = 0;
  let previousLast = -1;
  while (position < batches.byteLength) {
    const header = readBatchHeader(batches, position);
    if (header.baseOffset <= previousLast) {
      throw new CorruptDataError(
        `batch ${count} of a frame starts at offset ${header.baseOffset}, not above the previous batch's last offset ${previousLast}`,
      );
    }
    if (header.baseOffset >= nextOffset || (count === 0 && header.lastOffset < startOffset)) {
      throw new CorruptDataError(
        `batch ${count} of a frame holds offsets ${header.baseOffset}–${header.lastOffset}, outside the read [${startOffset}, ${nextOffset})`,
      );
    }
    for (const record of decodeBatch(batches, position).records) {
      if (record.offset >= startOffset && record.offset < nextOffset) records.push(record);
    }
    previousLast = header.lastOffset;
    position += header.byteLength;
    count++;
  }
  if (count !== frame.batchCount) throw new CorruptDataError(`a batches frame announces ${frame.batchCount} batches and carries ${count}`);
  return {
    topicId: frame.topicId,
    startOffset,
    nextOffset,
    highWatermark: frame.highWatermark,
    logStartOffset: frame.logStartOffset,
    records,
  };
}

function writeOffset(buf: Buffer, at: number, value: number): void {
  buf.writeBigInt64BE(BigInt(value), at);
}

function readOffset(buf: Buffer, at: number): number {
  const value = buf.readBigInt64BE(at);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CorruptDataError(`a batches frame's offset at byte ${at} is not a non-negative safe integer`);
  return Number(value);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
