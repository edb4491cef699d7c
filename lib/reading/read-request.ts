/**
 * A read's request: where it starts, how many records and bytes it may answer, how long
 * it may wait, each checked against the API's bounds (higher ones for an answer streamed
 * through the read function's URL) before the reader reads anything.
 */
import {
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_READ_MAX_RECORDS,
  MAX_READ_MAX_BYTES,
  MAX_READ_MAX_RECORDS,
  MAX_STREAMED_READ_MAX_BYTES,
  MAX_STREAMED_READ_MAX_RECORDS,
  MAX_WAIT_MS,
} from '../core/constants.js';
import { ValidationError } from '../core/errors.js';

export interface ReadRequest {
  /** First offset wanted; defaults to the log start. */
  offset?: number;
  maxRecords?: number;
  maxBytes?: number;
  /** Wait up to this long for records when there are none past `offset`. */
  waitMs?: number;
  /**
   * The answer is streamed (the read function's URL), so maxBytes and maxRecords may go
   * up to MAX_STREAMED_READ_MAX_BYTES and MAX_STREAMED_READ_MAX_RECORDS.
   */
  streamed?: boolean;
}

/** The request's limits, its defaults filled in; a ValidationError when one is out of its bounds. */
export function checkReadRequest(request: ReadRequest): { maxRecords: number; maxBytes: number; waitMs: number } {
  if (request.offset !== undefined) checkInt('offset', request.offset, 0, Number.MAX_SAFE_INTEGER);
  const maxRecords = request.maxRecords ?? DEFAULT_READ_MAX_RECORDS;
  const maxBytes = request.maxBytes ?? DEFAULT_READ_MAX_BYTES;
  const waitMs = request.waitMs ?? 0;
  const streamedHint = request.streamed ? '' : " (larger through the read function's streamed URL: endpoints function-urls or both)";
  checkInt(
    'maxRecords',
    maxRecords,
    1,
    request.streamed ? MAX_STREAMED_READ_MAX_RECORDS : MAX_READ_MAX_RECORDS,
    maxRecords > MAX_READ_MAX_RECORDS ? streamedHint : '',
  );
  checkInt(
    'maxBytes',
    maxBytes,
    1,
    request.streamed ? MAX_STREAMED_READ_MAX_BYTES : MAX_READ_MAX_BYTES,
    maxBytes > MAX_READ_MAX_BYTES ? streamedHint : '',
  );
  checkInt('waitMs', waitMs, 0, MAX_WAIT_MS);
  return { maxRecords, maxBytes, waitMs };
}

function checkInt(name: string, value: number, min: number, max: number, hint = ''): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(`${name} must be a whole number from ${min} to ${max}${hint}; got ${value}`);
  }
}
