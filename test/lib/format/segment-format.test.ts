import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFEST_INDEX_ENTRIES } from '../../../lib/core/constants.js';
import { CorruptDataError, ValidationError } from '../../../lib/core/errors.js';
import type { LogRecord, StoredRecord } from '../../../lib/core/record.js';
import { type Compression, decodeBatches, iterateBatches } from '../../../lib/format/record-batch.js';
import { encodeBatch } from '../../../lib/format/record-batch-encoder.js';
import { buildSegment } from '../../../lib/format/segment-builder.js';
import {
  readFooter,
  readTrailer,
  SEGMENT_MAGIC,
  SEGMENT_TRAILER_BYTES,
  SEGMENT_VERSION,
  type SegmentMeta,
} from '../../../lib/format/segment-footer.js';
import {
  coarsenIndex,
  decodeIndex,
  encodeIndex,
  findRegion,
  findRegionByTimestamp,
  type IndexEntry,
  manifestIndex,
  regionRange,
  regionsForBytes,
  SEGMENT_INDEX_ENTRY_BYTES,
  SEGMENT_INDEX_INTERVAL_BYTES,
} from '../../../lib/format/segment-index.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const T0 = 1_700_000_000_000;

/** How a test describes one batch: where it starts and what its records look like. */
interface BatchSpec {
  baseOffset: number;
  /** One entry per record: the value's size and the record's timestamp. */
  records: { valueBytes: number; timestamp: number }[];
  compression?: Compression;
}

function recordsOf(spec: BatchSpec): LogRecord[] {
  return spec.records.map((r, i) => ({
    key: utf8(`k${spec.baseOffset + i}`),
    value: new Uint8Array(r.valueBytes).fill((spec.baseOffset + i) & 0xff),
    headers: [],
    timestamp: r.timestamp,
  }));
}

function batchOf(spec: BatchSpec): Uint8Array {
  return encodeBatch(recordsOf(spec), { baseOffset: spec.baseOffset, compression: spec.compression ?? 'none' });
}

/** Batches of `count` records each with values of `valueBytes`, at contiguous offsets from `from`. */
function uniformSpecs(batches: number, count: number, valueBytes: number, from = 0): BatchSpec[] {
  return Array.from({ length: batches }, (_, b) => ({
    baseOffset: from + b * count,
    records: Array.from({ length: count }, (_, i) => ({ valueBytes, timestamp: T0 + b * count + i })),
  }));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

function expectedRecords(specs: BatchSpec[]): StoredRecord[] {
  return specs.flatMap((spec) => recordsOf(spec).map((record, i) => ({ ...record, offset: spec.baseOffset + i })));
}

/** Checks everything a built segment promises about itself. */
function checkSegment(specs: BatchSpec[], bytes: Uint8Array, meta: SegmentMeta, interval: number): void {
  const records = expectedRecords(specs);
  expect(meta.byteLength).toBe(bytes.byteLength);
  expect(meta.byteLength).toBe(meta.indexPosition + meta.index.length * SEGMENT_INDEX_ENTRY_BYTES + SEGMENT_TRAILER_BYTES);
  expect(meta.baseOffset).toBe(specs[0]!.baseOffset);
  expect(meta.lastOffset).toBe(records[records.length - 1]!.offset);
  expect(meta.recordCount).toBe(records.length);
  expect(meta.batchCount).toBe(specs.length);
  expect(meta.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));

  const { entryCount, ...trailerFields } = readTrailer(bytes.subarray(bytes.byteLength - SEGMENT_TRAILER_BYTES), bytes.byteLength);
  expect(entryCount).toBe(meta.index.length);
  const { byteLength: _byteLength, index: _index, ...metaFields } = meta;
  expect(trailerFields).toEqual(metaFields);
  expect(readFooter(bytes.subarray(meta.indexPosition), bytes.byteLength)).toEqual(meta);
  expect(decodeIndex(encodeIndex(meta.index))).toEqual(meta.index);

  expect(decodeBatches(bytes.subarray(0, meta.indexPosition)).map(summarize)).toEqual(records.map(summarize));

  let expectedStart = 0;
  meta.index.forEach((entry, k) => {
    const { start, end } = regionRange(meta, k);
    expect(start).toBe(expectedStart);
    expect(start).toBe(entry.position);
    expectedStart = end;
    const batches = [...iterateBatches(bytes.subarray(start, end))];
    const last = batches[batches.length - 1]!;
    expect(last.position + last.byteLength).toBe(end - start);
    expect(batches[0]!.baseOffset).toBe(entry.firstOffset);
    expect(last.lastOffset).toBe(entry.lastOffset);
    expect(entry.maxTimestamp).toBe(Math.max(...batches.map((b) => b.maxTimestamp)));
    // A region closes as soon as it reaches the interval, and a batch that reaches it alone stands alone.
    expect(end - start - last.byteLength).toBeLessThan(interval);
    if (batches.length > 1) expect(batches.every((b) => b.byteLength < interval)).toBe(true);
    if (k < meta.index.length - 1 && batches.length > 0) {
      const next = meta.index[k + 1]!;
      const nextBatch = readFirstBatchSize(bytes, next.position);
      expect(end - start >= interval || nextBatch >= interval).toBe(true);
    }
  });
  expect(expectedStart).toBe(meta.indexPosition);
}

/** A record as strings: vitest compares large Uint8Arrays element by element, slowly. */
function summarize(record: StoredRecord): string {
  const hex = (bytes: Uint8Array | null): string => (bytes === null ? 'null' : Buffer.from(bytes).toString('hex'));
  return `${record.offset}@${record.timestamp} ${hex(record.key)}=${hex(record.value)} [${record.headers.length}]`;
}

function readFirstBatchSize(bytes: Uint8Array, position: number): number {
  return iterateBatches(bytes.subarray(position)).next().value!.byteLength;
}

/** The model of findRegion: the first region with any offset at or above `offset`. */
function modelFindRegion(index: IndexEntry[], offset: number): number {
  return index.findIndex((entry) => entry.lastOffset >= offset);
}

describe('buildSegment', () => {
  it('indexes tiny batches into regions of about the interval', () => {
    const specs = uniformSpecs(500, 3, 10);
    const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: 1024 });
    expect(meta.index.length).toBeGreaterThan(10);
    checkSegment(specs, bytes, meta, 1024);
  });

  it('uses the 64 KiB interval by default', () => {
    const specs = uniformSpecs(100, 10, 1000);
    const { bytes, meta } = buildSegment(concat(specs.map(batchOf)));
    checkSegment(specs, bytes, meta, SEGMENT_INDEX_INTERVAL_BYTES);
    const batchBytes = readFirstBatchSize(bytes, 0);
    for (let k = 0; k < meta.index.length - 1; k++) {
      const { start, end } = regionRange(meta, k);
      expect(end - start).toBeGreaterThanOrEqual(SEGMENT_INDEX_INTERVAL_BYTES);
      expect(end - start).toBeLessThan(SEGMENT_INDEX_INTERVAL_BYTES + batchBytes);
    }
  });

  it('gives a batch larger than the interval a region of its own', () => {
    const specs = [...uniformSpecs(3, 2, 100, 0), ...uniformSpecs(1, 5, 5000, 6), ...uniformSpecs(3, 2, 100, 11)];
    const batches = specs.map(batchOf);
    const { bytes, meta } = buildSegment(batches, { indexIntervalBytes: 4096 });
    checkSegment(specs, bytes, meta, 4096);
    const bigAt = batches[0]!.byteLength + batches[1]!.byteLength + batches[2]!.byteLength;
    expect(meta.index.map((e) => e.position)).toEqual([0, bigAt, bigAt + batches[3]!.byteLength]);
    expect(meta.index[1]).toMatchObject({ firstOffset: 6, lastOffset: 10 });
  });

  it('makes one region of a single batch', () => {
    const specs = uniformSpecs(1, 1, 0, 42);
    const { bytes, meta } = buildSegment(batchOf(specs[0]!));
    checkSegment(specs, bytes, meta, SEGMENT_INDEX_INTERVAL_BYTES);
    expect(meta.index).toEqual([{ firstOffset: 42, lastOffset: 42, position: 0, maxTimestamp: T0 }]);
  });

  it('keeps gaps between batch offsets', () => {
    const specs: BatchSpec[] = [0, 10, 11, 500, 10_000_000_000].map((baseOffset, b) => ({
      baseOffset,
      records: [{ valueBytes: 600, timestamp: T0 + b }],
    }));
    const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: 1000 });
    checkSegment(specs, bytes, meta, 1000);
    expect(meta).toMatchObject({ baseOffset: 0, lastOffset: 10_000_000_000, recordCount: 5 });
    for (const offset of [0, 5, 10, 11, 12, 499, 500, 501, 9_999_999_999, 10_000_000_000, 10_000_000_001]) {
      expect(findRegion(meta.index, offset)).toBe(modelFindRegion(meta.index, offset));
    }
  });

  it('copies gzip and uncompressed batches alike', () => {
    const specs: BatchSpec[] = uniformSpecs(20, 4, 300).map((spec, b) => ({ ...spec, compression: b % 2 ? 'gzip' : 'none' }));
    const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: 2000 });
    checkSegment(specs, bytes, meta, 2000);
  });

  it('builds the same bytes from an array of chunks as from their concatenation', () => {
    const batches = uniformSpecs(40, 3, 200).map(batchOf);
    const chunks = [concat(batches.slice(0, 7)), new Uint8Array(0), concat(batches.slice(7, 8)), concat(batches.slice(8))];
    const fromChunks = buildSegment(chunks, { indexIntervalBytes: 1500 });
    const fromOne = buildSegment(concat(batches), { indexIntervalBytes: 1500 });
    expect(fromChunks.bytes).toEqual(fromOne.bytes);
    expect(fromChunks.meta).toEqual(fromOne.meta);
  });

  it('reads chunks that are views into larger buffers', () => {
    const batches = uniformSpecs(6, 2, 50).map(batchOf);
    const backing = concat([new Uint8Array(13), ...batches, new Uint8Array(7)]);
    const view = backing.subarray(13, backing.byteLength - 7);
    expect(buildSegment(view).bytes).toEqual(buildSegment(batches).bytes);
  });

  it('rejects empty input', () => {
    expect(() => buildSegment([])).toThrow(ValidationError);
    expect(() => buildSegment(new Uint8Array(0))).toThrow(ValidationError);
    expect(() => buildSegment([new Uint8Array(0), new Uint8Array(0)])).toThrow(ValidationError);
  });

  it('rejects an interval that is not a positive integer', () => {
    const batch = batchOf(uniformSpecs(1, 1, 1)[0]!);
    for (const indexIntervalBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => buildSegment(batch, { indexIntervalBytes })).toThrow(ValidationError);
    }
  });

  it('rejects offsets that do not strictly increase, within and across chunks', () => {
    const at = (baseOffset: number, count = 2): Uint8Array => batchOf(uniformSpecs(1, count, 5, baseOffset)[0]!);
    expect(() => buildSegment(concat([at(0), at(1)]))).toThrow(CorruptDataError);
    expect(() => buildSegment([at(10), at(10)])).toThrow(CorruptDataError);
    expect(() => buildSegment([at(10), at(5)])).toThrow(CorruptDataError);
    expect(() => buildSegment([concat([at(0), at(2)]), at(3)])).toThrow(/offsets must strictly increase/);
    expect(() => buildSegment([at(0), at(2)])).not.toThrow();
  });

  it('rejects a chunk that ends inside a batch', () => {
    const batches = uniformSpecs(2, 2, 20).map(batchOf);
    const whole = concat(batches);
    const cut = batches[0]!.byteLength + 10;
    expect(() => buildSegment([whole.subarray(0, cut), whole.subarray(cut)])).toThrow(CorruptDataError);
  });

  it('checks batch CRCs only when asked to', () => {
    const batches = uniformSpecs(3, 2, 20).map(batchOf);
    const damaged = batches[1]!.slice();
    damaged[damaged.byteLength - 1]! ^= 0x01;
    const input = [batches[0]!, damaged, batches[2]!];
    expect(() => buildSegment(input)).not.toThrow();
    expect(() => buildSegment(input, { verify: true })).toThrow(CorruptDataError);
    expect(() => buildSegment(batches, { verify: true })).not.toThrow();
  });

  it('holds for random batch sizes, gaps and intervals', () => {
    const batchArb = fc.record({
      gap: fc.oneof(fc.constant(0), fc.nat({ max: 100 })),
      records: fc.array(fc.record({ valueBytes: fc.nat({ max: 3000 }), timestamp: fc.integer({ min: T0 - 1000, max: T0 + 1000 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(batchArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.nat({ max: 1_000_000 }),
        (batchShapes, interval, start) => {
          let next = start;
          const specs: BatchSpec[] = batchShapes.map((shape) => {
            const spec = { baseOffset: next + shape.gap, records: shape.records };
            next = spec.baseOffset + shape.records.length;
            return spec;
          });
          const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: interval });
          checkSegment(specs, bytes, meta, interval);

          const outside = expectedRecords(specs).filter(({ offset }) => {
            const region = meta.index[findRegion(meta.index, offset)];
            return region === undefined || region.firstOffset > offset || region.lastOffset < offset;
          });
          expect(outside).toEqual([]);
          const probes = Array.from({ length: meta.lastOffset - meta.baseOffset + 5 }, (_, i) => meta.baseOffset - 2 + i);
          expect(probes.map((o) => findRegion(meta.index, o))).toEqual(probes.map((o) => modelFindRegion(meta.index, o)));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('findRegion', () => {
  const index: IndexEntry[] = [
    { firstOffset: 10, lastOffset: 19, position: 0, maxTimestamp: 5 },
    { firstOffset: 20, lastOffset: 29, position: 100, maxTimestamp: 3 },
    { firstOffset: 40, lastOffset: 49, position: 200, maxTimestamp: 9 },
  ];

  it('returns the region holding an offset', () => {
    expect([10, 15, 19, 20, 29, 40, 49].map((o) => findRegion(index, o))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });

  it('returns 0 below the segment and -1 above it', () => {
    expect(findRegion(index, 0)).toBe(0);
    expect(findRegion(index, 9)).toBe(0);
    expect(findRegion(index, 50)).toBe(-1);
    expect(findRegion([], 0)).toBe(-1);
  });

  it('skips to the next region from a gap between regions', () => {
    expect(findRegion(index, 30)).toBe(2);
    expect(findRegion(index, 39)).toBe(2);
  });
});

describe('findRegionByTimestamp', () => {
  it('returns the first region whose max timestamp reaches T, with timestamps out of order', () => {
    const timestamps = [T0 + 50, T0 + 10, T0 + 10, T0 + 90, T0 - 5, T0 + 70, T0 + 95, T0];
    const specs: BatchSpec[] = timestamps.map((timestamp, b) => ({
      baseOffset: b * 2,
      records: [
        { valueBytes: 400, timestamp: timestamp - 20 },
        { valueBytes: 400, timestamp },
      ],
    }));
    const { meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: 1 });
    expect(meta.index.map((e) => e.maxTimestamp)).toEqual(timestamps);
    for (let t = T0 - 30; t <= T0 + 100; t++) {
      const model = meta.index.findIndex((e) => e.maxTimestamp >= t);
      expect(findRegionByTimestamp(meta.index, t)).toBe(model);
    }
    expect(findRegionByTimestamp(meta.index, T0 + 96)).toBe(-1);
    expect(findRegionByTimestamp(meta.index, 0)).toBe(0);
  });

  it('matches a brute-force model for random segments', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: -600, max: 600 }),
        (batchTimestamps, interval, probe) => {
          let next = 0;
          const specs = batchTimestamps.map((deltas) => {
            const spec: BatchSpec = { baseOffset: next, records: deltas.map((d) => ({ valueBytes: 100, timestamp: T0 + d })) };
            next += deltas.length;
            return spec;
          });
          const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: interval });
          const t = T0 + probe;
          const expected = meta.index.findIndex((entry) => {
            const end = regionRange(meta, meta.index.indexOf(entry)).end;
            const region = bytes.subarray(entry.position, end);
            return [...iterateBatches(region)].some((b) => b.maxTimestamp >= t);
          });
          expect(findRegionByTimestamp(meta.index, t)).toBe(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('regionRange and regionsForBytes', () => {
  const meta = {
    indexPosition: 1000,
    index: [0, 100, 350, 400, 900].map((position, k) => ({ firstOffset: k * 10, lastOffset: k * 10 + 9, position, maxTimestamp: T0 })),
  };

  it('gives the byte range of a run of regions', () => {
    expect(regionRange(meta, 0)).toEqual({ start: 0, end: 100 });
    expect(regionRange(meta, 1, 3)).toEqual({ start: 100, end: 900 });
    expect(regionRange(meta, 4)).toEqual({ start: 900, end: 1000 });
    expect(regionRange(meta, 0, 4)).toEqual({ start: 0, end: 1000 });
  });

  it('rejects regions outside the index', () => {
    expect(() => regionRange(meta, 5)).toThrow();
    expect(() => regionRange(meta, -1)).toThrow();
    expect(() => regionRange(meta, 2, 1)).toThrow();
  });

  it('picks the shortest run of regions that reaches maxBytes', () => {
    expect(regionsForBytes(meta, 0, 0)).toBe(0);
    expect(regionsForBytes(meta, 0, 100)).toBe(0);
    expect(regionsForBytes(meta, 0, 101)).toBe(1);
    expect(regionsForBytes(meta, 1, 300)).toBe(2);
    expect(regionsForBytes(meta, 1, 301)).toBe(3);
    expect(regionsForBytes(meta, 1, 801)).toBe(4);
    expect(regionsForBytes(meta, 2, Number.POSITIVE_INFINITY)).toBe(4);
    expect(regionsForBytes(meta, 4, 1)).toBe(4);
  });

  it('matches a linear model on random indexes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50 }),
        fc.nat(),
        fc.nat({ max: 100_000 }),
        (sizes, fromSeed, maxBytes) => {
          const positions = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
          const random = {
            indexPosition: sizes.reduce((a, b) => a + b, 0),
            index: positions.map((position, k) => ({ firstOffset: k, lastOffset: k, position, maxTimestamp: 0 })),
          };
          const from = fromSeed % sizes.length;
          let model = from;
          while (model < sizes.length - 1 && regionRange(random, from, model).end - positions[from]! < maxBytes) model++;
          expect(regionsForBytes(random, from, maxBytes)).toBe(model);
        },
      ),
    );
  });
});

describe('coarsenIndex and manifestIndex', () => {
  it('keeps an index within the bound as it is', () => {
    const { meta } = buildSegment(uniformSpecs(50, 3, 200).map(batchOf), { indexIntervalBytes: 1 });
    expect(meta.index).toHaveLength(50);
    expect(coarsenIndex(meta, 50)).toBe(meta.index);
    expect(manifestIndex(meta)).toEqual(encodeIndex(meta.index));
  });

  it('merges runs of regions into at most maxEntries regions of equal bytes', () => {
    // 100 batches of the same size (offsets 100..199), one region each.
    const { meta } = buildSegment(uniformSpecs(100, 1, 100, 100).map(batchOf), { indexIntervalBytes: 1 });
    const batchBytes = meta.indexPosition / 100;
    expect(meta.index.map((e) => e.position)).toEqual(meta.index.map((_, k) => k * batchBytes));
    const coarse = coarsenIndex(meta, 10);
    expect(coarse).toEqual(
      Array.from({ length: 10 }, (_, k) => ({
        firstOffset: 100 + 10 * k,
        lastOffset: 109 + 10 * k,
        position: 10 * k * batchBytes,
        maxTimestamp: T0 + 10 * k + 9,
      })),
    );
    const thirty = coarsenIndex(meta, 30);
    expect(thirty).toHaveLength(30);
    expect(new Set(thirty.map((e) => e.lastOffset - e.firstOffset + 1))).toEqual(new Set([3, 4]));
    expect(coarsenIndex(meta, 1)).toEqual([{ firstOffset: 100, lastOffset: 199, position: 0, maxTimestamp: T0 + 99 }]);
    expect(() => coarsenIndex(meta, 0)).toThrow();
  });

  it('keeps the manifest of a 1 GiB segment within its bound, whatever the interval', () => {
    const GiB = 1024 ** 3;
    for (const interval of [SEGMENT_INDEX_INTERVAL_BYTES, 4096]) {
      const regions = GiB / interval;
      const meta = {
        indexPosition: GiB,
        index: Array.from({ length: regions }, (_, k) => ({
          firstOffset: k * 10,
          lastOffset: k * 10 + 9,
          position: k * interval,
          maxTimestamp: T0 + k,
        })),
      };
      expect(regions * SEGMENT_INDEX_ENTRY_BYTES).toBeGreaterThan(400 * 1024);
      const bytes = manifestIndex(meta);
      expect(bytes.byteLength).toBeLessThanOrEqual(MAX_MANIFEST_INDEX_ENTRIES * SEGMENT_INDEX_ENTRY_BYTES);
      expect(bytes.byteLength).toBeLessThanOrEqual(64 * 1024);
      const coarse = decodeIndex(bytes);
      // Each coarse region holds about 1 GiB / MAX_MANIFEST_INDEX_ENTRIES: what a read may fetch before its offset.
      const largest = Math.max(...coarse.map((_, k) => regionRange({ ...meta, index: coarse }, k)).map(({ start, end }) => end - start));
      expect(largest).toBe(GiB / MAX_MANIFEST_INDEX_ENTRIES);
    }
  });

  it('never exceeds its bound, and reads through it find every offset and timestamp', () => {
    const batchArb = fc.record({
      gap: fc.oneof(fc.constant(0), fc.nat({ max: 20 })),
      records: fc.array(fc.record({ valueBytes: fc.nat({ max: 2000 }), timestamp: fc.integer({ min: T0 - 1000, max: T0 + 1000 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(batchArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: T0 - 1100, max: T0 + 1100 }),
        (batchShapes, interval, maxEntries, probeTimestamp) => {
          let next = 0;
          const specs: BatchSpec[] = batchShapes.map((shape) => {
            const spec = { baseOffset: next + shape.gap, records: shape.records };
            next = spec.baseOffset + shape.records.length;
            return spec;
          });
          const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: interval });
          const index = decodeIndex(encodeIndex(coarsenIndex(meta, maxEntries)));
          const coarse = { index, indexPosition: meta.indexPosition };

          // Bounded, and a valid index (decodeIndex checks the order) of whole regions of the full one.
          expect(index.length).toBeLessThanOrEqual(maxEntries);
          if (meta.index.length <= maxEntries) expect(index).toEqual(meta.index);
          const boundaries = new Set(meta.index.map((e) => e.position));
          expect(index.every((e) => boundaries.has(e.position))).toBe(true);
          expect(index[0]!.firstOffset).toBe(meta.baseOffset);
          expect(index.at(-1)!.lastOffset).toBe(meta.lastOffset);
          expect(Math.max(...index.map((e) => e.maxTimestamp))).toBe(meta.maxTimestamp);
          if (meta.index.length > maxEntries) {
            const slice = meta.indexPosition / maxEntries;
            const largestFine = Math.max(...meta.index.map((_, k) => regionRange(meta, k)).map(({ start, end }) => end - start));
            index.forEach((_, k) => {
              const { start, end } = regionRange(coarse, k);
              expect(end - start).toBeLessThan(slice + largestFine);
            });
          }

          // A read from any offset finds the first record at or above it in the one region findRegion picks.
          const records = decodeBatches(bytes.subarray(0, meta.indexPosition));
          const regionRecords = (k: number) => {
            const { start, end } = regionRange(coarse, k);
            return decodeBatches(bytes.subarray(start, end));
          };
          for (let offset = meta.baseOffset - 1; offset <= meta.lastOffset + 1; offset++) {
            const expected = records.find((r) => r.offset >= offset);
            const region = findRegion(index, offset);
            if (expected === undefined) expect(region).toBe(-1);
            else expect(regionRecords(region).find((r) => r.offset >= offset)?.offset).toBe(expected.offset);
          }
          // A timestamp lookup's first region holds a record that reaches the timestamp.
          const region = findRegionByTimestamp(index, probeTimestamp);
          const reaches = records.some((r) => r.timestamp >= probeTimestamp);
          expect(region >= 0).toBe(reaches);
          if (reaches) {
            const before = index.slice(0, region).flatMap((_, k) => regionRecords(k));
            expect(before.some((r) => r.timestamp >= probeTimestamp)).toBe(false);
            expect(regionRecords(region).some((r) => r.timestamp >= probeTimestamp)).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('encodeIndex and decodeIndex', () => {
  const index: IndexEntry[] = [
    { firstOffset: 0, lastOffset: 99, position: 0, maxTimestamp: -5 },
    { firstOffset: 150, lastOffset: 2 ** 53 - 1, position: 70_000, maxTimestamp: T0 },
  ];

  it('round-trips, negative timestamps and the largest safe offset included', () => {
    const bytes = encodeIndex(index);
    expect(bytes.byteLength).toBe(2 * SEGMENT_INDEX_ENTRY_BYTES);
    expect(decodeIndex(bytes)).toEqual(index);
    expect(decodeIndex(new Uint8Array(0))).toEqual([]);
  });

  it('rejects a length that is not a whole number of entries', () => {
    const bytes = encodeIndex(index);
    expect(() => decodeIndex(bytes.subarray(0, bytes.byteLength - 1))).toThrow(CorruptDataError);
    expect(() => decodeIndex(concat([bytes, new Uint8Array(5)]))).toThrow(CorruptDataError);
  });

  it('rejects entries out of order', () => {
    const disordered: IndexEntry[][] = [
      [index[1]!, index[0]!],
      [index[0]!, { ...index[1]!, firstOffset: 99 }],
      [index[0]!, { ...index[1]!, position: 0 }],
      [{ ...index[0]!, position: 8 }],
      [{ ...index[0]!, lastOffset: -1 + index[0]!.firstOffset }],
    ];
    for (const entries of disordered) expect(() => decodeIndex(encodeIndex(entries))).toThrow(CorruptDataError);
  });

  it('rejects offsets beyond the safe integers', () => {
    const bytes = encodeIndex(index);
    new DataView(bytes.buffer).setUint32(SEGMENT_INDEX_ENTRY_BYTES + 8, 0x0020_0000);
    expect(() => decodeIndex(bytes)).toThrow(CorruptDataError);
  });
});

describe('readTrailer and readFooter', () => {
  const specs = uniformSpecs(30, 2, 300);
  const { bytes, meta } = buildSegment(specs.map(batchOf), { indexIntervalBytes: 2000 });
  const footer = (): Uint8Array => bytes.slice(meta.indexPosition);
  const trailerAt = bytes.byteLength - SEGMENT_TRAILER_BYTES;

  it('reads the footer from any suffix of the object that holds it', () => {
    expect(readFooter(bytes, bytes.byteLength)).toEqual(meta);
    expect(readFooter(bytes.subarray(meta.indexPosition - 17), bytes.byteLength)).toEqual(meta);
    expect(readTrailer(bytes, bytes.byteLength).indexPosition).toBe(meta.indexPosition);
  });

  it('ends with the magic, preceded by the CRC and the version', () => {
    expect(new TextDecoder().decode(bytes.subarray(bytes.byteLength - 4))).toBe(SEGMENT_MAGIC);
    expect(bytes[trailerAt + 55]).toBe(SEGMENT_VERSION);
  });

  it('rejects every single flipped bit in the footer', () => {
    const footerBytes = bytes.byteLength - meta.indexPosition;
    for (let i = 0; i < footerBytes; i++) {
      for (const bit of [0x01, 0x80]) {
        const damaged = footer();
        damaged[i]! ^= bit;
        expect(() => readFooter(damaged, bytes.byteLength), `byte ${i} bit ${bit}`).toThrow(CorruptDataError);
      }
    }
  });

  it('names the CRC when the index is damaged', () => {
    const damaged = footer();
    damaged[3]! ^= 0x10;
    expect(() => readFooter(damaged, bytes.byteLength)).toThrow(/CRC32C/);
  });

  it('rejects a bad magic or an unknown version', () => {
    const badMagic = footer();
    badMagic[badMagic.byteLength - 1] = 'X'.charCodeAt(0);
    expect(() => readTrailer(badMagic, bytes.byteLength)).toThrow(/not a segment object/);
    expect(() => readFooter(badMagic, bytes.byteLength)).toThrow(CorruptDataError);

    const badVersion = footer();
    badVersion[badVersion.byteLength - SEGMENT_TRAILER_BYTES + 55] = 2;
    expect(() => readTrailer(badVersion, bytes.byteLength)).toThrow(/unknown segment version 2/);
  });

  it('rejects a trailer that does not fit the object length', () => {
    expect(() => readTrailer(bytes, bytes.byteLength + 1)).toThrow(CorruptDataError);
    expect(() => readTrailer(footer(), bytes.byteLength - 1)).toThrow(CorruptDataError);
    expect(() => readTrailer(bytes.subarray(0, 10), bytes.byteLength)).toThrow(CorruptDataError);
    expect(() => readFooter(footer().subarray(1), bytes.byteLength)).toThrow(CorruptDataError);
  });

  it('rejects a random object that is not a segment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SEGMENT_TRAILER_BYTES, maxLength: 300 }), (junk) => {
        expect(() => readFooter(junk, junk.byteLength)).toThrow(CorruptDataError);
      }),
    );
  });
});

describe('the worked example in docs/format.md', () => {
  it('produces the documented footer', () => {
    const batch = encodeBatch(
      [
        { key: utf8('k'), value: utf8('hi'), headers: [{ key: 'h', value: utf8('v') }], timestamp: 1700000000000 },
        { key: null, value: null, headers: [], timestamp: 1699999999999 },
      ],
      { baseOffset: 42 },
    );
    const { bytes, meta } = buildSegment(batch);
    expect(meta).toEqual({
      baseOffset: 42,
      lastOffset: 43,
      recordCount: 2,
      maxTimestamp: 1700000000000,
      batchCount: 1,
      indexPosition: 66,
      byteLength: 162,
      index: [{ firstOffset: 42, lastOffset: 43, position: 0, maxTimestamp: 1700000000000 }],
    });
    expect(Buffer.from(bytes.subarray(66)).toString('hex')).toBe(
      [
        '000000000000002a',
        '000000000000002b',
        '0000000000000000',
        '0000018bcfe56800',
        '0000000000000042',
        '000000000000002a',
        '000000000000002b',
        '0000000000000002',
        '0000018bcfe56800',
        '00000001',
        '00000001',
        '00000000000000',
        '01',
        '38c18026',
        '53545347',
      ].join(''),
    );
  });
});
