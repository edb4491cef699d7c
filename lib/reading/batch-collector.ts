/**
 * Collects the batches of one binary read as stored, never decoded: the same sources,
 * order and coverage rules as the record collector (lib/reading/record-collector.ts), with the
 * bounds applied per whole batch.
 *
 * - The first batch may start below the read's `from` (a batch that straddles it) and
 *   the last may reach past `until`: the answer says where it starts and where the next
 *   read continues, and the decoder drops the records outside [start, next).
 * - `maxBytes` counts stored batch bytes (compressed where the batch is), `maxRecords`
 *   the batches' record counts (a straddling first batch counts only its offsets from
 *   `from` up). A batch goes in only whole, and only if both bounds still hold, except
 *   the first, which always goes (as in Kafka), so a consumer always makes progress: a
 *   read returns at most `maxBytes` of batches, or one batch, and may carry more records
 *   than `maxRecords` only when its first batch does.
 * - `maxBatchBytes` is the hard bound of one answer (a Lambda response): no batch goes
 *   past it, and a first batch larger than it is ResponseTooLargeError (413).
 */
import { ResponseTooLargeError } from '../core/errors.js';
import { iterateBatches } from '../format/record-batch.js';
import type { ReadLimits, ReadSink } from './record-collector.js';

export class BatchCollector implements ReadSink {
  readonly batches: Uint8Array[] = [];
  /** Stored bytes of the batches taken. */
  bytes = 0;
  /** Records counted against `maxRecords` (of the first batch, only those from `from` up). */
  records = 0;
  private position: number;
  full = false;

  private readonly limits: ReadLimits;

  constructor(
    private readonly from: number,
    private until: number,
    limits: ReadLimits,
    private readonly maxBatchBytes = Number.POSITIVE_INFINITY,
  ) {
    this.position = from;
    // The answer's hard bound is its byte bound too, so that `remaining()` (what the
    // segment reader sizes its GETs by) never asks for bytes the answer cannot carry.
    this.limits = { maxRecords: limits.maxRecords, maxBytes: Math.min(limits.maxBytes, maxBatchBytes) };
  }

  get next(): number {
    return this.position;
  }

  /** The offset the read started from. */
  get start(): number {
    return this.from;
  }

  get exhausted(): boolean {
    return this.full || this.position >= this.until;
  }

  extendTo(until: number): void {
    if (until > this.until) this.until = until;
  }

  advanceTo(offset: number): void {
    if (!this.full) this.position = Math.max(this.position, Math.min(offset, this.until));
  }

  offerBatches(data: Uint8Array): boolean {
    for (const batch of iterateBatches(data)) {
      if (this.full) return false;
      if (batch.lastOffset < this.position) continue;
      if (batch.baseOffset >= this.until) return this.stop();
      const records =
        batch.baseOffset >= this.position ? batch.recordCount : Math.min(batch.recordCount, batch.lastOffset - this.position + 1);
      if (this.batches.length === 0) {
        if (batch.byteLength > this.maxBatchBytes)
          throw new ResponseTooLargeError(Math.max(batch.baseOffset, this.position), batch.byteLength, this.maxBatchBytes);
      } else if (this.records + records > this.limits.maxRecords || this.bytes + batch.byteLength > this.limits.maxBytes) {
        return this.stop();
      }
      this.batches.push(data.subarray(batch.position, batch.position + batch.byteLength));
      this.bytes += batch.byteLength;
      this.records += records;
      this.position = Math.min(batch.lastOffset + 1, this.until);
    }
    return !this.exhausted;
  }

  remaining(): ReadLimits {
    return { maxRecords: Math.max(1, this.limits.maxRecords - this.records), maxBytes: Math.max(1, this.limits.maxBytes - this.bytes) };
  }

  private stop(): false {
    this.full = true;
    return false;
  }
}
