/**
 * Records as the client's users see them, and their JSON form on the wire. Keys, values
 * and header values are strings (sent as UTF-8) or bytes (sent as base64); what a
 * consumer gets back is always bytes (`Buffer`, so `value.toString()` gives the text).
 */
import type { StoredRecord } from '../lib/core/record.js';
import type { JsonReadRecord } from '../lib/wire/api.js';

/** Bytes, or text that is sent as UTF-8. */
export type Bytes = string | Uint8Array;

/** One record to append. */
export interface ProducerRecord {
  key?: Bytes | null;
  /** null is a tombstone (deletes the key in a compacted topic). */
  value: Bytes | null;
  /** `{name: value}`, or `[name, value]` pairs when a name repeats. */
  headers?: Record<string, Bytes | null> | [string, Bytes | null][];
  /** Milliseconds since the epoch; default the append time. */
  timestamp?: number;
  /** Explicit partition; default murmur2 of the key (Kafka's), else a sticky partition. */
  partition?: number;
}

/** One record as read from the log. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null>;
}

/** Where an appended record landed. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export interface WireRecord {
  key?: string | null;
  value: string | null;
  headers?: [string, string | null][];
  timestamp?: number;
  partition?: number;
}

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

/** Bytes a record takes in a request body, near enough for batching limits. */
export function recordSize(r: ProducerRecord): number {
  const len = (b: Bytes | null | undefined) =>
    b === null || b === undefined ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.byteLength;
  let size = 64 + len(r.key) + len(r.value);
  for (const [k, v] of headerPairs(r.headers)) size += k.length + len(v) + 8;
  return size;
}

function headerPairs(h: ProducerRecord['headers']): [string, Bytes | null][] {
  if (!h) return [];
  return Array.isArray(h) ? h : Object.entries(h);
}

/** True when every key, value and header of the records is text (then utf8 is the smaller encoding). */
export function allText(records: readonly ProducerRecord[]): boolean {
  const text = (b: Bytes | null | undefined) => b === null || b === undefined || typeof b === 'string';
  return records.every((r) => text(r.key) && text(r.value) && headerPairs(r.headers).every(([, v]) => text(v)));
}

/** The JSON body form of records in the given encoding. */
export function toWire(records: readonly ProducerRecord[], encoding: 'utf8' | 'base64', withPartition: boolean): WireRecord[] {
  const enc = (b: Bytes | null | undefined): string | null | undefined => {
    if (b === undefined) return undefined;
    if (b === null) return null;
    if (encoding === 'utf8') return b as string;
    return (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('base64');
  };
  return records.map((r) => {
    const w: WireRecord = { value: enc(r.value) ?? null };
    if (r.key !== undefined) w.key = enc(r.key) ?? null;
    const headers = headerPairs(r.headers);
    if (headers.length > 0) w.headers = headers.map(([k, v]) => [k, enc(v) ?? null]);
    if (r.timestamp !== undefined) w.timestamp = r.timestamp;
    if (withPartition && r.partition !== undefined) w.partition = r.partition;
    return w;
  });
}

/** A record read with `encoding=base64`, decoded to bytes. */
export function fromWire(topic: string, partition: number, r: JsonReadRecord): ConsumedRecord {
  const dec = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));
  const headers: Record<string, Buffer | null> = {};
  for (const [k, v] of Object.entries(r.headers))
    Object.defineProperty(headers, k, { value: dec(v), enumerable: true, writable: true, configurable: true });
  return { topic, partition, offset: r.offset, timestamp: r.timestamp, key: dec(r.key), value: dec(r.value), headers };
}

/** A record decoded from a binary read's batches; keys and values are views, not copies. */
export function fromStored(topic: string, partition: number, r: StoredRecord): ConsumedRecord {
  const buf = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const headers: Record<string, Buffer | null> = {};
  for (const h of r.headers)
    Object.defineProperty(headers, h.key, { value: buf(h.value), enumerable: true, writable: true, configurable: true });
  return { topic, partition, offset: r.offset, timestamp: r.timestamp, key: buf(r.key), value: buf(r.value), headers };
}
