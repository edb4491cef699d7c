/**
 * The JSON shapes of HTTP API v1 and their conversion to and from the engine's types.
 * Bytes travel as UTF-8 text or base64 per the request's `encoding`; zod rejects
 * anything else with a message that names the field.
 */
import * as z from 'zod';
import {
  MAX_HEADER_KEY_BYTES,
  MAX_HEADERS_PER_RECORD,
  MAX_PRODUCER_ID_LENGTH,
  MAX_RESPONSE_BODY_BYTES,
  MAX_STREAMED_READ_MAX_BYTES,
  MAX_STREAMED_READ_MAX_RECORDS,
  MAX_WAIT_MS,
} from '../../lib/core/constants.js';
import { NotUtf8Error, ResponseTooLargeError, ValidationError } from '../../lib/core/errors.js';
import type { StoredRecord } from '../../lib/core/record.js';
import type { ReadRequest } from '../../lib/reading/read-request.js';
import type { ReadResult } from '../../lib/reading/reader.js';
import type { AppendRecordInput, AppendRequest, PartitionAppendRequest } from '../../lib/sequencing/appender.js';
import type { JsonReadRecord, JsonReadResult } from '../../lib/wire/api.js';

export const ENCODINGS = ['utf8', 'base64'] as const;
export type Encoding = (typeof ENCODINGS)[number];

const encodingSchema = z.enum(ENCODINGS, { message: 'encoding is "utf8" or "base64"' }).default('utf8');
const nonNegativeInt = (name: string) =>
  z
    .number({ message: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be ≥ 0`)
    .max(Number.MAX_SAFE_INTEGER, `${name} must be at most 2^53 - 1`);

const bytesField = z.string({ message: 'must be a string (UTF-8 text or base64, per encoding) or null' }).nullable();

/**
 * Headers as a JSON object `{"name": "value"}`, or as `[["name", "value"], …]` pairs when
 * a name repeats (Kafka allows that). Both become an ordered list of pairs; taking the
 * object's entries before zod sees it keeps a header literally named `__proto__`.
 */
const headersSchema = z.preprocess(
  (h) => (h !== null && typeof h === 'object' && !Array.isArray(h) ? Object.entries(h) : h),
  z
    .array(z.tuple([z.string().min(1, 'header names cannot be empty').max(MAX_HEADER_KEY_BYTES), bytesField]), {
      message: 'headers is an object of name → value, or an array of [name, value] pairs',
    })
    .max(MAX_HEADERS_PER_RECORD, `at most ${MAX_HEADERS_PER_RECORD} headers`),
);

const recordSchema = z
  .object({
    key: bytesField.optional(),
    value: bytesField,
    headers: headersSchema.optional(),
    timestamp: nonNegativeInt('timestamp').optional(),
    partition: nonNegativeInt('partition').optional(),
  })
  .strict();

const producerIdSchema = z
  .string()
  .regex(
    new RegExp(`^[a-zA-Z0-9._:-]{1,${MAX_PRODUCER_ID_LENGTH}}$`),
    `producerId is 1 to ${MAX_PRODUCER_ID_LENGTH} characters from a-z, A-Z, 0-9, ".", "_", ":" and "-" (a UUID works)`,
  );

export const topicAppendSchema = z
  .object({
    records: z.array(recordSchema, { message: 'records must be an array of records' }),
    encoding: encodingSchema,
    producer: z
      .object({
        producerId: producerIdSchema,
        epoch: nonNegativeInt('epoch'),
        sequences: z.record(z.string().regex(/^\d+$/, 'sequences are keyed by partition number'), nonNegativeInt('sequence')),
      })
      .strict()
      .optional(),
  })
  .strict();

export const partitionAppendSchema = z
  .object({
    records: z.array(recordSchema, { message: 'records must be an array of records' }),
    encoding: encodingSchema,
    producer: z
      .object({ producerId: producerIdSchema, epoch: nonNegativeInt('epoch'), sequence: nonNegativeInt('sequence') })
      .strict()
      .optional(),
    expectedOffset: nonNegativeInt('expectedOffset').optional(),
  })
  .strict();

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes of a key, value or header value as sent. */
export function decodeBytes(text: string | null | undefined, encoding: Encoding, field: string): Uint8Array | null {
  if (text === null || text === undefined) return null;
  if (encoding === 'utf8') {
    if (!text.isWellFormed())
      throw new ValidationError(`${field} has a lone surrogate (\\ud800-\\udfff), which is not text; send the bytes with encoding=base64`);
    return encoder.encode(text);
  }
  // Decoding is lenient (it skips bad characters); re-encoding and comparing makes it
  // strict at a tenth of the cost of a regular expression over the whole string.
  const decoded = Buffer.from(text, 'base64');
  if (decoded.toString('base64') !== text) {
    throw new ValidationError(`${field} is not valid base64 (standard alphabet, padded)`);
  }
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

function toRecordInputs(records: z.infer<typeof recordSchema>[], encoding: Encoding): AppendRecordInput[] {
  return records.map((r, i) => ({
    key: decodeBytes(r.key, encoding, `records[${i}].key`),
    value: decodeBytes(r.value, encoding, `records[${i}].value`),
    headers: (r.headers ?? []).map(([key, value]) => ({
      key,
      value: decodeBytes(value, encoding, `records[${i}].headers.${key}`),
    })),
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
  }));
}

export function toTopicAppend(body: z.infer<typeof topicAppendSchema>): AppendRequest {
  return {
    records: toRecordInputs(body.records, body.encoding),
    ...(body.producer ? { producer: body.producer } : {}),
  };
}

export function toPartitionAppend(body: z.infer<typeof partitionAppendSchema>): PartitionAppendRequest {
  return {
    records: toRecordInputs(body.records, body.encoding),
    ...(body.producer ? { producer: body.producer } : {}),
    ...(body.expectedOffset !== undefined ? { expectedOffset: body.expectedOffset } : {}),
  };
}

const queryInt = (name: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `${name} must be a whole number from 0 to ${max}`)
    .transform(Number)
    .refine((n) => n <= max, `${name} must be at most ${max}`)
    .optional();

export const readQuerySchema = z
  .object({
    offset: queryInt('offset', Number.MAX_SAFE_INTEGER),
    // The streamed bounds here; the engine holds a buffered answer to the smaller ones.
    maxRecords: queryInt('maxRecords', MAX_STREAMED_READ_MAX_RECORDS),
    maxBytes: queryInt('maxBytes', MAX_STREAMED_READ_MAX_BYTES),
    waitMs: queryInt('waitMs', MAX_WAIT_MS),
    encoding: encodingSchema,
  })
  .strict();

export function toReadRequest(query: z.infer<typeof readQuerySchema>): ReadRequest {
  const request: ReadRequest = {};
  if (query.offset !== undefined) request.offset = query.offset;
  if (query.maxRecords !== undefined) request.maxRecords = query.maxRecords;
  if (query.maxBytes !== undefined) request.maxBytes = query.maxBytes;
  if (query.waitMs !== undefined) request.waitMs = query.waitMs;
  return request;
}

export const offsetsQuerySchema = z
  .object({
    at: z
      .string({ message: 'at is required: earliest, latest, or a timestamp in ms' })
      .regex(/^(earliest|latest|\d{1,16})$/, 'at is earliest, latest, or a timestamp in ms since the epoch'),
  })
  .strict();

export function toLookupTarget(at: string): 'earliest' | 'latest' | number {
  return at === 'earliest' || at === 'latest' ? at : Number(at);
}

/** Encodes bytes for a response; utf8 refuses bytes that are not UTF-8 rather than mangle them. */
function encodeBytes(bytes: Uint8Array | null, encoding: Encoding, offset: number, field: 'key' | 'value' | 'header'): string | null {
  if (bytes === null) return null;
  if (encoding === 'base64') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new NotUtf8Error(offset, field);
  }
}

export function toJsonRecord(record: StoredRecord, encoding: Encoding): JsonReadRecord {
  // fromEntries defines own properties, so a header named `__proto__` survives.
  const headers: Record<string, string | null> = Object.fromEntries(
    record.headers.map((h) => [h.key, encodeBytes(h.value, encoding, record.offset, 'header')]),
  );
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: encodeBytes(record.key, encoding, record.offset, 'key'),
    value: encodeBytes(record.value, encoding, record.offset, 'value'),
    headers,
  };
}

/**
 * A read's JSON response, cut to fit in a Lambda response: records are kept in order while
 * the body stays within `maxBodyBytes` (counted as Lambda will carry it: the body is a JSON
 * string inside the invocation's JSON, so quotes and backslashes count twice); the read
 * then continues from the first record left out. The first record always goes, or 413.
 */
export function toJsonReadResult(result: ReadResult, encoding: Encoding, maxBodyBytes = MAX_RESPONSE_BODY_BYTES): JsonReadResult {
  const envelope: JsonReadResult = {
    topicId: result.topicId,
    records: [],
    nextOffset: result.nextOffset,
    highWatermark: result.highWatermark,
    logStartOffset: result.logStartOffset,
  };
  let bytes = carriedBytes(JSON.stringify(envelope));
  for (const record of result.records) {
    const json = toJsonRecord(record, encoding);
    const size = carriedBytes(JSON.stringify(json)) + 1;
    if (bytes + size > maxBodyBytes) {
      if (envelope.records.length === 0) throw new ResponseTooLargeError(record.offset, size, maxBodyBytes);
      envelope.nextOffset = record.offset;
      break;
    }
    envelope.records.push(json);
    bytes += size;
  }
  return envelope;
}

/**
 * Bytes of batches one binary read may answer: its frame travels base64-encoded in the
 * Lambda response (4 characters per 3 bytes, none escaped), and the frame's header
 * (at most 309 bytes, for the longest topic id) comes out of the same budget.
 */
export const MAX_FRAME_BATCH_BYTES = Math.floor(MAX_RESPONSE_BODY_BYTES / 4) * 3 - 320;

/** Bytes of a JSON text once carried inside another JSON string (quotes and backslashes escaped). */
function carriedBytes(text: string): number {
  let escapes = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) escapes++;
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i + 1)) escapes++;
  return Buffer.byteLength(text) + escapes;
}

export const groupCommitSchema = z
  .object({
    offsets: z.array(
      z
        .object({
          topic: z.string().min(1, 'topic is required'),
          partition: nonNegativeInt('partition'),
          offset: nonNegativeInt('offset'),
          metadata: z.string().nullable().optional(),
          /** The incarnation the positions were read from (a read's `topicId`): refused if the topic was re-created since. */
          topicId: z.string().min(1, 'topicId must not be empty').optional(),
        })
        .strict(),
      { message: 'offsets must be an array of {topic, partition, offset, metadata?, topicId?}' },
    ),
    /** A member's commit: fenced by the generation its assignment came with. */
    memberId: z.string().min(1).optional(),
    generation: nonNegativeInt('generation').optional(),
  })
  .strict()
  .refine((b) => (b.memberId === undefined) === (b.generation === undefined), {
    message: 'memberId and generation go together: send both (a group member) or neither (an unfenced commit)',
    path: ['generation'],
  });

export const groupFetchQuerySchema = z.object({ topic: z.string().min(1).optional() }).strict();

/** A path parameter that must be a partition number. */
export function partitionParam(value: string | undefined): number {
  if (value === undefined || !/^\d{1,4}$/.test(value)) {
    throw new ValidationError(`partition must be a whole number (0 to the topic's partitions - 1); got '${String(value).slice(0, 40)}'`);
  }
  return Number(value);
}
