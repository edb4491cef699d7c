/**
 * Does gzip pay? Per-batch compression trades CPU on the append and read paths for
 * fewer bytes in DynamoDB (write units are per KB) and S3. Measured on the batch codec
 * alone, no storage, for two payloads: JSON events (typical, compressible) and random
 * bytes (already compressed or encrypted data).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LogRecord } from '../../lib/core/record.js';
import { type Compression, decodeBatch } from '../../lib/format/record-batch.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

const RECORDS_PER_BATCH = 100;
/** Size of the random values; the JSON events come out at about 700 B each. */
const VALUE_BYTES = 1024;

export interface CompressionResult {
  payload: string;
  compression: Compression;
  batchBytes: number;
  ratio: number;
  encodeMBps: number;
  decodeMBps: number;
}

function jsonEvent(i: number): Uint8Array {
  const event = {
    type: 'order.updated',
    orderId: `ord-${100000 + i}`,
    customer: { id: `cust-${i % 97}`, tier: i % 3 === 0 ? 'gold' : 'standard', region: 'eu-west-1' },
    lines: Array.from({ length: 8 }, (_, k) => ({
      sku: `SKU-${(i * 7919 + k * 104729) % 100000}`,
      qty: 1 + ((i + k) % 5),
      price: Math.round(((i * 31 + k * 17) % 10000) * 1.37) / 100,
    })),
    status: ['created', 'paid', 'shipped'][i % 3],
    traceId: randomBytes(16).toString('hex'),
    at: new Date(1_700_000_000_000 + i * 1337).toISOString(),
  };
  return new TextEncoder().encode(JSON.stringify(event));
}

const PAYLOADS: Record<string, (i: number) => Uint8Array> = {
  'JSON events': jsonEvent,
  'random bytes': () => new Uint8Array(randomBytes(VALUE_BYTES)),
};

/** Times `fn` over at least `minMs`, returning MB/s of `bytesPerCall` (MB = 10^6 bytes). */
function throughput(fn: () => void, bytesPerCall: number, minMs: number): number {
  fn();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    calls++;
  }
  return (calls * bytesPerCall) / 1e6 / ((performance.now() - start) / 1000);
}

export function runCompressionBench(options: { minMs: number }): CompressionResult[] {
  const results: CompressionResult[] = [];
  for (const [payload, make] of Object.entries(PAYLOADS)) {
    const records: LogRecord[] = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
      key: new TextEncoder().encode(`key-${i}`),
      value: make(i),
      headers: [],
      timestamp: 1_700_000_000_000 + i,
    }));
    const raw = records.reduce((n, r) => n + r.value!.byteLength, 0);
    const plainBytes = encodeBatch(records, { baseOffset: 0 }).byteLength;
    for (const compression of ['none', 'gzip'] as const) {
      const batch = encodeBatch(records, { baseOffset: 0, compression });
      results.push({
        payload,
        compression,
        batchBytes: batch.byteLength,
        ratio: plainBytes / batch.byteLength,
        encodeMBps: throughput(() => encodeBatch(records, { baseOffset: 0, compression }), raw, options.minMs),
        decodeMBps: throughput(() => decodeBatch(batch), raw, options.minMs),
      });
    }
  }
  return results;
}

export function compressionTables(results: CompressionResult[]): ReportTable[] {
  return [
    {
      title: `Batch compression: ${RECORDS_PER_BATCH} records per batch (JSON order events ~700 B each, random values ${VALUE_BYTES} B)`,
      columns: ['payload', 'compression', 'batch bytes', 'size ratio', 'encode MB/s', 'decode MB/s'],
      rows: results.map((r) => [
        r.payload,
        r.compression,
        r.batchBytes.toLocaleString('en-US'),
        `${r.ratio.toFixed(2)}×`,
        r.encodeMBps.toFixed(0),
        r.decodeMBps.toFixed(0),
      ]),
    },
  ];
}

export const compressionSuite = defineSuite({
  name: 'compression',
  title: 'Compression',
  measures: 'gzip per batch: encode and decode speed against the bytes it saves',
  /** Each encode and decode timed over at least `minMs`. */
  full: { minMs: 1000 },
  quick: { minMs: 300 },
  start: 'batch compression',
  measure: async (options) => runCompressionBench(options),
  render: (results) => ({ tables: compressionTables(results) }),
});
