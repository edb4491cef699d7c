import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptDataError, ValidationError } from '../../../lib/core/errors.js';
import type { LogRecord, StoredRecord } from '../../../lib/core/record.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  type Compression,
  decodeBatch,
  decodeBatches,
  iterateBatches,
  readBatchHeader,
} from '../../../lib/format/record-batch.js';
import { encodeBatch, encodedRecordSize, uncompressedBatchBytes, withBaseOffset } from '../../../lib/format/record-batch-encoder.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const T0 = 1_700_000_000_000;

const sample: LogRecord[] = [
  { key: utf8('user-1'), value: utf8('{"a":1}'), headers: [], timestamp: T0 },
  { key: null, value: utf8('keyless'), headers: [], timestamp: T0 + 5 },
  { key: utf8('user-1'), value: null, headers: [], timestamp: T0 + 1 },
  { key: utf8(''), value: new Uint8Array(0), headers: [], timestamp: T0 - 60_000 },
  {
    key: utf8('k'),
    value: utf8('v'),
    headers: [
      { key: 'trace-id', value: utf8('abc') },
      { key: 'ключ-🔑', value: utf8('значение ✓') },
      { key: 'nullable', value: null },
      { key: 'trace-id', value: utf8('repeated') },
      { key: '', value: new Uint8Array(0) },
    ],
    timestamp: T0 + 2,
  },
];

function stored(records: LogRecord[], baseOffset: number): StoredRecord[] {
  return records.map((record, i) => ({ ...record, offset: baseOffset + i }));
}

function expectCorrupt(action: () => unknown, message?: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as CorruptDataError).code).toBe('CORRUPT_DATA');
    if (message) expect((error as Error).message).toMatch(message);
    return;
  }
  expect.fail('expected a CorruptDataError');
}

describe('encodeBatch / decodeBatch', () => {
  for (const compression of ['none', 'gzip'] as Compression[]) {
    it(`round-trips keys, values, nulls, empties and headers with compression ${compression}`, () => {
      const batch = encodeBatch(sample, { baseOffset: 100, compression });
      const { header, records } = decodeBatch(batch);
      expect(records).toEqual(stored(sample, 100));
      expect(header).toEqual({
        baseOffset: 100,
        lastOffset: 104,
        recordCount: 5,
        baseTimestamp: T0,
        maxTimestamp: T0 + 5,
        compression,
        byteLength: batch.byteLength,
      });
    });
  }

  it('writes the documented fixed header fields', () => {
    const batch = encodeBatch(sample, { baseOffset: 7 });
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    expect(view.getBigInt64(0)).toBe(7n);
    expect(view.getInt32(8)).toBe(batch.byteLength - 12);
    expect(view.getInt8(12)).toBe(BATCH_MAGIC);
    expect(view.getInt16(17)).toBe(0);
    expect(view.getInt32(19)).toBe(4);
    expect(view.getBigInt64(23)).toBe(BigInt(T0));
    expect(view.getBigInt64(31)).toBe(BigInt(T0 + 5));
    expect(view.getInt32(39)).toBe(5);
    expect(view.getInt16(43)).toBe(0);
    expect(encodeBatch(sample, { baseOffset: 7, compression: 'gzip' })[18]).toBe(1);
  });

  it('keeps offsets and timestamps near 2^53 exact', () => {
    const top = Number.MAX_SAFE_INTEGER;
    const records: LogRecord[] = [
      { key: null, value: utf8('a'), headers: [], timestamp: top },
      { key: null, value: utf8('b'), headers: [], timestamp: -top },
      { key: null, value: utf8('c'), headers: [], timestamp: 0 },
      { key: null, value: utf8('d'), headers: [], timestamp: top - 1 },
    ];
    const baseOffset = top - records.length + 1;
    const { header, records: decoded } = decodeBatch(encodeBatch(records, { baseOffset }));
    expect(decoded).toEqual(stored(records, baseOffset));
    expect(header.lastOffset).toBe(top);
    expect(header.maxTimestamp).toBe(top);
  });

  it('encodes a negative timestamp delta', () => {
    const records: LogRecord[] = [
      { key: null, value: utf8('late'), headers: [], timestamp: T0 },
      { key: null, value: utf8('early'), headers: [], timestamp: T0 - 3_600_000 },
    ];
    const { header, records: decoded } = decodeBatch(encodeBatch(records, { baseOffset: 0 }));
    expect(decoded.map((r) => r.timestamp)).toEqual([T0, T0 - 3_600_000]);
    expect(header.baseTimestamp).toBe(T0);
    expect(header.maxTimestamp).toBe(T0);
  });

  it('rejects an empty batch, unsafe offsets and unsafe timestamps', () => {
    expect(() => encodeBatch([], { baseOffset: 0 })).toThrow(ValidationError);
    expect(() => encodeBatch(sample, { baseOffset: -1 })).toThrow(ValidationError);
    expect(() => encodeBatch(sample, { baseOffset: 1.5 })).toThrow(ValidationError);
    expect(() => encodeBatch(sample, { baseOffset: Number.MAX_SAFE_INTEGER - 2 })).toThrow(ValidationError);
    const unsafe = { key: null, value: null, headers: [], timestamp: 2 ** 53 };
    expect(() => encodeBatch([unsafe], { baseOffset: 0 })).toThrow(ValidationError);
  });
});

describe('withBaseOffset', () => {
  it('re-stamps the base offset and the CRC still verifies', () => {
    for (const compression of ['none', 'gzip'] as Compression[]) {
      const original = encodeBatch(sample, { baseOffset: 10, compression });
      const restamped = withBaseOffset(original, 2 ** 40);
      expect(decodeBatch(restamped).records).toEqual(stored(sample, 2 ** 40));
      expect(restamped.subarray(8)).toEqual(original.subarray(8));
      expect(decodeBatch(original).header.baseOffset).toBe(10);
      // At the base it has, the batch itself: nothing writes into either.
      expect(withBaseOffset(original, 10)).toBe(original);
    }
  });

  it('refuses more or less than exactly one batch and unsafe offsets', () => {
    const batch = encodeBatch(sample, { baseOffset: 0 });
    const two = new Uint8Array([...batch, ...batch]);
    expect(() => withBaseOffset(two, 5)).toThrow(ValidationError);
    expect(() => withBaseOffset(batch, Number.MAX_SAFE_INTEGER)).toThrow(ValidationError);
    expectCorrupt(() => withBaseOffset(batch.subarray(0, 30), 5));
  });
});

describe('corruption', () => {
  it('detects a flipped byte anywhere in the CRC-covered bytes', () => {
    for (const compression of ['none', 'gzip'] as Compression[]) {
      const batch = encodeBatch(sample, { baseOffset: 3, compression });
      for (let position = 17; position < batch.byteLength; position++) {
        const damaged = batch.slice();
        damaged[position] = damaged[position]! ^ 0x10;
        expectCorrupt(() => decodeBatch(damaged), /baseOffset 3.*expected 0x[0-9a-f]{8}, actual 0x[0-9a-f]{8}/);
      }
    }
  });

  it('detects a flipped byte in the CRC itself', () => {
    const batch = encodeBatch(sample, { baseOffset: 3 });
    for (let position = 13; position < 17; position++) {
      const damaged = batch.slice();
      damaged[position] = damaged[position]! ^ 0x01;
      expectCorrupt(() => decodeBatch(damaged), /CRC32C/);
    }
  });

  it('reports a truncated buffer as corrupt, wherever it is cut', () => {
    const batch = encodeBatch(sample, { baseOffset: 0 });
    for (const cut of [0, 1, 11, 12, 44, 45, batch.byteLength - 1]) {
      expectCorrupt(() => decodeBatch(batch.subarray(0, cut)), /truncated/);
      expectCorrupt(() => readBatchHeader(batch.subarray(0, cut)), /truncated/);
    }
  });

  it('rejects an unknown magic byte', () => {
    const damaged = encodeBatch(sample, { baseOffset: 9 });
    damaged[12] = 2;
    expectCorrupt(() => readBatchHeader(damaged), /position 0 \(baseOffset 9\): unknown magic 2/);
    expectCorrupt(() => decodeBatch(damaged), /unknown magic 2/);
  });
});

describe('iterateBatches / decodeBatches', () => {
  const batches = [
    encodeBatch(sample.slice(0, 2), { baseOffset: 0 }),
    encodeBatch(sample.slice(2, 3), { baseOffset: 2, compression: 'gzip' }),
    encodeBatch(sample.slice(3), { baseOffset: 3 }),
  ];
  const concatenated = new Uint8Array(batches.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const batch of batches) {
    concatenated.set(batch, at);
    at += batch.byteLength;
  }

  it('walks a concatenation of three batches by header', () => {
    const headers = [...iterateBatches(concatenated)];
    expect(headers.map((h) => [h.position, h.baseOffset, h.lastOffset, h.recordCount, h.compression])).toEqual([
      [0, 0, 1, 2, 'none'],
      [batches[0]!.byteLength, 2, 2, 1, 'gzip'],
      [batches[0]!.byteLength + batches[1]!.byteLength, 3, 4, 2, 'none'],
    ]);
  });

  it('decodes every record of a concatenation in offset order', () => {
    expect(decodeBatches(concatenated)).toEqual(stored(sample, 0));
    expect(decodeBatch(concatenated, batches[0]!.byteLength).records).toEqual(stored(sample.slice(2, 3), 2));
  });

  it('throws on a truncated tail batch', () => {
    const cut = concatenated.subarray(0, concatenated.byteLength - 3);
    expectCorrupt(() => [...iterateBatches(cut)], /truncated/);
    expectCorrupt(() => decodeBatches(cut), /truncated/);
  });

  it('treats an empty buffer as no batches', () => {
    expect([...iterateBatches(new Uint8Array(0))]).toEqual([]);
    expect(decodeBatches(new Uint8Array(0))).toEqual([]);
  });
});

describe('encodedRecordSize', () => {
  it('equals the bytes a lone record takes in its batch', () => {
    for (const record of sample) {
      const batch = encodeBatch([record], { baseOffset: 0 });
      expect(encodedRecordSize(record)).toBe(batch.byteLength - BATCH_HEADER_BYTES);
    }
  });

  it('equals the bytes each record takes at its place in a batch', () => {
    const records: LogRecord[] = [
      ...sample,
      { key: null, value: new Uint8Array(300), headers: [], timestamp: T0 + 2 ** 40 },
      { key: null, value: null, headers: [], timestamp: -T0 },
    ];
    const batch = encodeBatch(records, { baseOffset: 0 });
    const sum = records.reduce((n, r, i) => n + encodedRecordSize(r, { offsetDelta: i, baseTimestamp: T0 }), 0);
    expect(sum).toBe(batch.byteLength - BATCH_HEADER_BYTES);
    expect(uncompressedBatchBytes(records)).toBe(batch.byteLength);
  });
});

describe('property', () => {
  const bytes = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null });
  const record: fc.Arbitrary<LogRecord> = fc.record({
    key: bytes,
    value: bytes,
    headers: fc.array(fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 12 }), value: bytes }), { maxLength: 4 }),
    timestamp: fc.oneof(fc.integer({ min: T0 - 10 ** 9, max: T0 + 10 ** 9 }), fc.maxSafeInteger()),
  });

  it('round-trips arbitrary records at arbitrary base offsets', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER - 20 }),
        fc.constantFrom<Compression>('none', 'gzip'),
        (records, baseOffset, compression) => {
          const batch = encodeBatch(records, { baseOffset, compression });
          expect(decodeBatch(batch).records).toEqual(stored(records, baseOffset));
          if (compression === 'none') expect(uncompressedBatchBytes(records)).toBe(batch.byteLength);
        },
      ),
      { numRuns: 300 },
    );
  });
});
