/**
 * The record model shared by every layer: what a producer appends and what a reader
 * gets back. Bytes are `Uint8Array`; the HTTP edge converts them from and to UTF-8 or
 * base64. Offsets and timestamps are JavaScript numbers: offsets stay below 2^53
 * (at a million records a second that is 285 years), which keeps the JSON API plain.
 */

/** A header: Kafka allows repeated keys and null values, so headers are an ordered list. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record as appended. `value: null` is a tombstone (deletes the key under compaction). */
export interface LogRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  /** Milliseconds since the epoch: set by the producer, or the append time. */
  timestamp: number;
}

/** A record as read back: the record and the offset the log assigned to it. */
export interface StoredRecord extends LogRecord {
  offset: number;
}
