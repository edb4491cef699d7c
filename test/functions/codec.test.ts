import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBytes,
  offsetsQuerySchema,
  partitionAppendSchema,
  partitionParam,
  readQuerySchema,
  toJsonReadResult,
  toJsonRecord,
  toLookupTarget,
  toPartitionAppend,
  topicAppendSchema,
  toReadRequest,
  toTopicAppend,
} from '../../functions/shared/codec.js';
import { NotUtf8Error, ValidationError } from '../../lib/core/errors.js';
import type { StoredRecord } from '../../lib/core/record.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const T0 = 1_700_000_000_000;

function stored(partial: Partial<StoredRecord>): StoredRecord {
  return { offset: 42, timestamp: T0, key: null, value: null, headers: [], ...partial };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('decodeBytes', () => {
  describe('base64', () => {
    it.each([
      ['aGVsbG8h', 'hello!'],
      ['aGVsbG8=', 'hello'],
      ['aGk=', 'hi'],
      ['aA==', 'h'],
    ])('decodes the padded standard base64 %j', (text, expected) => {
      expect(decodeBytes(text, 'base64', 'value')).toEqual(utf8(expected));
    });

    it('decodes the + and / characters of the standard alphabet', () => {
      expect(decodeBytes('+/8=', 'base64', 'value')).toEqual(bytes(0xfb, 0xff));
    });

    it('decodes bytes that are not UTF-8', () => {
      expect(decodeBytes('/wD+', 'base64', 'value')).toEqual(bytes(0xff, 0x00, 0xfe));
    });

    it('decodes the empty string to empty bytes, not null', () => {
      const result = decodeBytes('', 'base64', 'value');

      expect(result).toBeInstanceOf(Uint8Array);
      expect(result).toHaveLength(0);
    });

    it('returns a plain Uint8Array, not a Buffer', () => {
      expect(Object.getPrototypeOf(decodeBytes('aGk=', 'base64', 'value'))).toBe(Uint8Array.prototype);
    });

    it.each([
      ['URL-safe - and _', '-_8='],
      ['URL-safe - in a longer text', 'ab-d'],
      ['missing padding (2 chars)', 'aA'],
      ['missing padding (3 chars)', 'aGk'],
      ['short padding', 'aA='],
      ['too much padding', 'aGVsbG8=='],
      ['only padding', '===='],
      ['padding in the middle', 'aGk=aGk='],
      ['a single character', 'a'],
      ['an inner space', 'aGVs bG8='],
      ['a leading space', ' aGk='],
      ['a trailing newline', 'aGk=\n'],
      ['a line break inside', 'aGVs\nbG8='],
      ['a tab', 'aGk=\t'],
      ['punctuation', '!!!!'],
      ['non-ASCII', 'héllo=='],
      ['a data URL', 'data:text/plain;base64,aGk='],
    ])('rejects %s with a ValidationError naming the field', (_what, text) => {
      const err = thrown(() => decodeBytes(text, 'base64', 'records[3].value'));

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('VALIDATION');
      expect((err as ValidationError).status).toBe(400);
      expect((err as ValidationError).message).toBe('records[3].value is not valid base64 (standard alphabet, padded)');
    });
  });

  describe('utf8', () => {
    it('encodes text as UTF-8 bytes', () => {
      expect(decodeBytes('héllo €', 'utf8', 'value')).toEqual(bytes(0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x20, 0xe2, 0x82, 0xac));
    });

    it('keeps base64-looking text as text', () => {
      expect(decodeBytes('aGk=', 'utf8', 'value')).toEqual(utf8('aGk='));
    });

    it('encodes the empty string to empty bytes, not null', () => {
      expect(decodeBytes('', 'utf8', 'value')).toEqual(new Uint8Array(0));
    });

    it('keeps whitespace and characters outside the BMP', () => {
      expect(decodeBytes(' a\n😀', 'utf8', 'value')).toEqual(bytes(0x20, 0x61, 0x0a, 0xf0, 0x9f, 0x98, 0x80));
    });
  });

  it.each(['utf8', 'base64'] as const)('maps null and undefined to null in %s', (encoding) => {
    expect(decodeBytes(null, encoding, 'key')).toBeNull();
    expect(decodeBytes(undefined, encoding, 'key')).toBeNull();
  });
});

describe('toJsonRecord', () => {
  it('carries the offset and timestamp', () => {
    const json = toJsonRecord(stored({ offset: 9_007_199_254_740_990, timestamp: 123 }), 'utf8');

    expect(json.offset).toBe(9_007_199_254_740_990);
    expect(json.timestamp).toBe(123);
  });

  it('encodes key, value and header values in base64', () => {
    const record = stored({
      key: utf8('k1'),
      value: bytes(0xff, 0x00, 0xfe),
      headers: [{ key: 'trace', value: bytes(0x80) }],
    });

    expect(toJsonRecord(record, 'base64')).toEqual({
      offset: 42,
      timestamp: T0,
      key: 'azE=',
      value: '/wD+',
      headers: { trace: 'gA==' },
    });
  });

  it('encodes only the bytes of a view into a larger buffer', () => {
    const buffer = utf8('XXhelloYY');
    const view = buffer.subarray(2, 7);

    expect(toJsonRecord(stored({ value: view }), 'base64').value).toBe('aGVsbG8=');
    expect(toJsonRecord(stored({ value: view }), 'utf8').value).toBe('hello');
  });

  it('round-trips any bytes through base64 (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 50 }), (value, key) => {
        const json = toJsonRecord(stored({ key, value, headers: [{ key: 'h', value }] }), 'base64');

        expect(decodeBytes(json.value, 'base64', 'value')).toEqual(value);
        expect(decodeBytes(json.key, 'base64', 'key')).toEqual(key);
        expect(decodeBytes(json.headers.h, 'base64', 'header')).toEqual(value);
      }),
    );
  });

  it('decodes UTF-8 key, value and header values as text', () => {
    const record = stored({
      key: utf8('user-1'),
      value: utf8('{"total":"9 €"}'),
      headers: [
        { key: 'source', value: utf8('web') },
        { key: 'lang', value: utf8('日本語') },
      ],
    });

    expect(toJsonRecord(record, 'utf8')).toEqual({
      offset: 42,
      timestamp: T0,
      key: 'user-1',
      value: '{"total":"9 €"}',
      headers: { source: 'web', lang: '日本語' },
    });
  });

  it('round-trips any text through utf8 (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (text) => {
        const value = decodeBytes(text, 'utf8', 'value');

        expect(toJsonRecord(stored({ value }), 'utf8').value).toBe(text);
      }),
    );
  });

  it.each([
    ['key', stored({ key: bytes(0xff), value: utf8('ok') })],
    ['value', stored({ key: utf8('ok'), value: bytes(0xc3, 0x28) })],
    ['header', stored({ value: utf8('ok'), headers: [{ key: 'h', value: bytes(0xe2, 0x82) }] })],
  ])('throws NotUtf8Error for a %s that is not UTF-8 in utf8 mode', (field, record) => {
    const err = thrown(() => toJsonRecord(record, 'utf8'));

    expect(err).toBeInstanceOf(NotUtf8Error);
    expect((err as NotUtf8Error).code).toBe('NOT_UTF8');
    expect((err as NotUtf8Error).status).toBe(400);
    expect((err as NotUtf8Error).offset).toBe(42);
    expect((err as NotUtf8Error).details).toEqual({ offset: 42 });
    expect((err as NotUtf8Error).message).toContain(`the ${field} of the record at offset 42`);
    expect((err as NotUtf8Error).message).toContain('encoding=base64');
  });

  it.each([
    ['an encoded surrogate', bytes(0xed, 0xa0, 0x80)],
    ['an overlong encoding of "/"', bytes(0xc0, 0xaf)],
    ['a lone continuation byte', bytes(0x80)],
    ['a code point above U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80)],
  ])('refuses %s rather than mangle it', (_what, value) => {
    expect(() => toJsonRecord(stored({ value }), 'utf8')).toThrow(NotUtf8Error);
  });

  it('returns the same bytes in base64 that utf8 mode refuses', () => {
    expect(toJsonRecord(stored({ value: bytes(0xff) }), 'base64').value).toBe('/w==');
  });

  it.each(['utf8', 'base64'] as const)('maps a null key, value and header value to null in %s', (encoding) => {
    const json = toJsonRecord(stored({ key: null, value: null, headers: [{ key: 'h', value: null }] }), encoding);

    expect(json.key).toBeNull();
    expect(json.value).toBeNull();
    expect(json.headers).toEqual({ h: null });
  });

  it.each(['utf8', 'base64'] as const)('maps empty bytes to the empty string, not null, in %s', (encoding) => {
    const json = toJsonRecord(stored({ key: new Uint8Array(0), value: new Uint8Array(0) }), encoding);

    expect(json.key).toBe('');
    expect(json.value).toBe('');
  });

  it('returns an empty headers object for a record without headers', () => {
    expect(toJsonRecord(stored({ value: utf8('v') }), 'utf8').headers).toEqual({});
  });

  // Regression: `headers[h.key] = ...` on a plain object ran the __proto__ setter, so a
  // header named "__proto__" disappeared from the response.
  it('keeps a header named __proto__ in the JSON response (regression)', () => {
    const json = toJsonRecord(stored({ value: utf8('v'), headers: [{ key: '__proto__', value: utf8('x') }] }), 'utf8');

    expect(JSON.parse(JSON.stringify(json)).headers).toEqual(JSON.parse('{"__proto__":"x"}'));
  });
});

describe('readQuerySchema', () => {
  it('defaults to utf8 and leaves absent numbers undefined', () => {
    expect(readQuerySchema.parse({})).toEqual({ encoding: 'utf8' });
  });

  it('parses every number from its query string text', () => {
    const query = readQuerySchema.parse({ offset: '42', maxRecords: '10', maxBytes: '1024', waitMs: '500', encoding: 'base64' });

    expect(query).toEqual({ offset: 42, maxRecords: 10, maxBytes: 1024, waitMs: 500, encoding: 'base64' });
  });

  it('accepts 0 and leading zeros', () => {
    expect(readQuerySchema.parse({ offset: '0', waitMs: '007' })).toEqual({ offset: 0, waitMs: 7, encoding: 'utf8' });
  });

  it.each([
    ['offset', '9007199254740991'],
    ['maxRecords', '10000'],
    ['maxBytes', String(5 * 1024 * 1024)],
    ['waitMs', '20000'],
  ])('accepts %s at its maximum %s', (field, value) => {
    expect(readQuerySchema.parse({ [field]: value })).toEqual({ [field]: Number(value), encoding: 'utf8' });
  });

  it.each([
    ['offset', '9007199254740992'],
    ['offset', '9999999999999999'],
    ['offset', '12345678901234567'],
    // The streamed bounds: a buffered answer's smaller ones are the engine's (reader tests).
    ['maxRecords', '1000001'],
    ['maxBytes', String(64 * 1024 * 1024 + 1)],
    ['waitMs', '20001'],
  ])('rejects %s above its maximum (%s)', (field, value) => {
    expect(readQuerySchema.safeParse({ [field]: value }).success).toBe(false);
  });

  describe.each(['offset', 'maxRecords', 'maxBytes', 'waitMs'])('%s', (field) => {
    it.each(['-1', '1.5', '1e3', '', ' 1', '1 ', '0x10', '+1', 'abc', 'NaN', 'Infinity'])('rejects %j', (value) => {
      const result = readQuerySchema.safeParse({ [field]: value });

      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([field]);
    });
  });

  it('rejects an unknown encoding', () => {
    expect(readQuerySchema.safeParse({ encoding: 'hex' }).success).toBe(false);
  });

  it.each([{ partition: '0' }, { limit: '10' }, { offset: '1', foo: '' }])('rejects unknown parameters %j', (query) => {
    const result = readQuerySchema.safeParse(query);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it('turns into a read request with only the given fields', () => {
    expect(toReadRequest(readQuerySchema.parse({ offset: '5' }))).toEqual({ offset: 5 });
    expect(toReadRequest(readQuerySchema.parse({ maxRecords: '1', maxBytes: '2', waitMs: '0' }))).toEqual({
      maxRecords: 1,
      maxBytes: 2,
      waitMs: 0,
    });
    expect(toReadRequest(readQuerySchema.parse({}))).toEqual({});
  });
});

describe('offsetsQuerySchema', () => {
  it.each(['earliest', 'latest', '0', '1700000000000'])('accepts at=%s', (at) => {
    expect(offsetsQuerySchema.parse({ at })).toEqual({ at });
  });

  it.each(['', 'EARLIEST', 'Latest', 'now', '-1', '1.5', '1e3', ' latest', '12345678901234567'])('rejects at=%j', (at) => {
    expect(offsetsQuerySchema.safeParse({ at }).success).toBe(false);
  });

  it('requires at', () => {
    const result = offsetsQuerySchema.safeParse({});

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['at']);
  });

  it('rejects unknown parameters', () => {
    expect(offsetsQuerySchema.safeParse({ at: 'latest', partition: '1' }).success).toBe(false);
  });

  it('turns at into a lookup target', () => {
    expect(toLookupTarget('earliest')).toBe('earliest');
    expect(toLookupTarget('latest')).toBe('latest');
    expect(toLookupTarget('1700000000000')).toBe(1_700_000_000_000);
    expect(toLookupTarget('0')).toBe(0);
  });
});

describe('topicAppendSchema', () => {
  it('accepts a minimal body and defaults the encoding to utf8', () => {
    expect(topicAppendSchema.parse({ records: [{ value: 'v' }] })).toEqual({ records: [{ value: 'v' }], encoding: 'utf8' });
  });

  it('accepts a full body', () => {
    const body = {
      records: [
        { key: 'k', value: null, headers: { a: 'b', n: null }, timestamp: T0, partition: 2 },
        { key: null, value: 'v2' },
      ],
      encoding: 'utf8',
      producer: { producerId: '7f9c0e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6', epoch: 0, sequences: { '0': 0, '2': 15 } },
    };

    // Headers become an ordered list of [name, value] pairs.
    const expected = {
      ...body,
      records: [
        {
          ...body.records[0],
          headers: [
            ['a', 'b'],
            ['n', null],
          ],
        },
        body.records[1],
      ],
    };
    expect(topicAppendSchema.parse(body)).toEqual(expected);
  });

  it('accepts an empty records array', () => {
    expect(topicAppendSchema.safeParse({ records: [] }).success).toBe(true);
  });

  it.each([
    ['an unknown top-level field', { records: [], expectedOffset: 0 }],
    ['an unknown record field', { records: [{ value: 'v', offset: 1 }] }],
    ['an unknown producer field', { records: [], producer: { producerId: 'p', epoch: 0, sequences: {}, sequence: 0 } }],
  ])('rejects %s', (_what, body) => {
    const result = topicAppendSchema.safeParse(body);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it.each([
    ['records missing', {}, ['records']],
    ['records not an array', { records: { value: 'v' } }, ['records']],
    ['a record without value', { records: [{ key: 'k' }] }, ['records', 0, 'value']],
    ['a number value', { records: [{ value: 1 }] }, ['records', 0, 'value']],
    ['an object value', { records: [{ value: { a: 1 } }] }, ['records', 0, 'value']],
    ['a number key', { records: [{ key: 7, value: 'v' }] }, ['records', 0, 'key']],
    ['a number header value', { records: [{ value: 'v', headers: { h: 1 } }] }, ['records', 0, 'headers', 0, 1]],
    ['headers as a list of strings', { records: [{ value: 'v', headers: ['h', 'v'] }] }, ['records', 0, 'headers', 0]],
    ['a string timestamp', { records: [{ value: 'v', timestamp: '1' }] }, ['records', 0, 'timestamp']],
    ['a negative timestamp', { records: [{ value: 'v', timestamp: -1 }] }, ['records', 0, 'timestamp']],
    ['a fractional partition', { records: [{ value: 'v', partition: 1.5 }] }, ['records', 0, 'partition']],
    ['a negative partition', { records: [{ value: 'v', partition: -1 }] }, ['records', 0, 'partition']],
    ['an unknown encoding', { records: [], encoding: 'hex' }, ['encoding']],
    ['a negative epoch', { records: [], producer: { producerId: 'p', epoch: -1, sequences: {} } }, ['producer', 'epoch']],
    ['a producerId with a space', { records: [], producer: { producerId: 'a b', epoch: 0, sequences: {} } }, ['producer', 'producerId']],
    ['an empty producerId', { records: [], producer: { producerId: '', epoch: 0, sequences: {} } }, ['producer', 'producerId']],
    [
      'a producerId over 128 characters',
      { records: [], producer: { producerId: 'p'.repeat(129), epoch: 0, sequences: {} } },
      ['producer', 'producerId'],
    ],
    [
      'a sequence keyed by a non-number',
      { records: [], producer: { producerId: 'p', epoch: 0, sequences: { zero: 0 } } },
      ['producer', 'sequences', 'zero'],
    ],
    [
      'a negative sequence',
      { records: [], producer: { producerId: 'p', epoch: 0, sequences: { '0': -1 } } },
      ['producer', 'sequences', '0'],
    ],
  ])('rejects %s', (_what, body, path) => {
    const result = topicAppendSchema.safeParse(body);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it('accepts a producerId of exactly 128 characters', () => {
    const body = { records: [], producer: { producerId: 'p'.repeat(128), epoch: 0, sequences: {} } };

    expect(topicAppendSchema.safeParse(body).success).toBe(true);
  });

  it('accepts 64 headers and rejects 65', () => {
    const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, 'v']));

    expect(topicAppendSchema.safeParse({ records: [{ value: 'v', headers: headers(64) }] }).success).toBe(true);
    expect(topicAppendSchema.safeParse({ records: [{ value: 'v', headers: headers(65) }] }).success).toBe(false);
  });

  it('rejects an empty header name', () => {
    expect(topicAppendSchema.safeParse({ records: [{ value: 'v', headers: { '': 'v' } }] }).success).toBe(false);
  });

  it('converts a base64 body into records with decoded bytes', () => {
    const body = topicAppendSchema.parse({
      records: [{ key: 'azE=', value: '/wD+', headers: { h: 'gA==', n: null }, partition: 1, timestamp: 5 }, { value: null }],
      encoding: 'base64',
      producer: { producerId: 'p', epoch: 2, sequences: { '1': 4 } },
    });

    expect(toTopicAppend(body)).toEqual({
      records: [
        {
          key: utf8('k1'),
          value: bytes(0xff, 0x00, 0xfe),
          headers: [
            { key: 'h', value: bytes(0x80) },
            { key: 'n', value: null },
          ],
          partition: 1,
          timestamp: 5,
        },
        { key: null, value: null, headers: [] },
      ],
      producer: { producerId: 'p', epoch: 2, sequences: { '1': 4 } },
    });
  });

  it('names the record and field of invalid base64 when converting', () => {
    const body = topicAppendSchema.parse({
      records: [{ value: 'aGk=' }, { value: 'dg==', headers: { trace: 'no pe' } }],
      encoding: 'base64',
    });

    expect(() => toTopicAppend(body)).toThrow(
      new ValidationError('records[1].headers.trace is not valid base64 (standard alphabet, padded)'),
    );
  });

  // Regression: JSON.parse makes "__proto__" an own key, and copying it by assignment
  // went through the __proto__ setter, silently dropping the header.
  it('keeps a header named __proto__ (regression: it was silently dropped)', () => {
    const result = topicAppendSchema.safeParse(JSON.parse('{"records":[{"value":"v","headers":{"__proto__":"x","a":"b"}}]}'));
    expect(result.success).toBe(true);
    if (!result.success) return;

    expect(toTopicAppend(result.data).records[0]!.headers?.map((h) => h.key)).toEqual(['__proto__', 'a']);
  });
});

describe('partitionAppendSchema', () => {
  it('accepts expectedOffset and a single producer sequence', () => {
    const body = { records: [{ value: 'v' }], producer: { producerId: 'p:1', epoch: 3, sequence: 9 }, expectedOffset: 100 };

    expect(partitionAppendSchema.parse(body)).toEqual({ ...body, encoding: 'utf8' });
  });

  it.each([
    ['per-partition sequences', { records: [], producer: { producerId: 'p', epoch: 0, sequences: { '0': 0 } } }],
    ['an unknown top-level field', { records: [], partition: 0 }],
    ['an unknown record field', { records: [{ value: 'v', extra: true }] }],
  ])('rejects %s', (_what, body) => {
    expect(partitionAppendSchema.safeParse(body).success).toBe(false);
  });

  it.each([
    ['a string expectedOffset', { records: [], expectedOffset: '3' }, ['expectedOffset']],
    ['a negative expectedOffset', { records: [], expectedOffset: -1 }, ['expectedOffset']],
    ['an expectedOffset above 2^53 - 1', { records: [], expectedOffset: 2 ** 53 }, ['expectedOffset']],
    ['a fractional sequence', { records: [], producer: { producerId: 'p', epoch: 0, sequence: 0.5 } }, ['producer', 'sequence']],
    ['a missing sequence', { records: [], producer: { producerId: 'p', epoch: 0 } }, ['producer', 'sequence']],
    ['a record without value', { records: [{}] }, ['records', 0, 'value']],
  ])('rejects %s', (_what, body, path) => {
    const result = partitionAppendSchema.safeParse(body);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it('converts into a partition append, keeping expectedOffset 0', () => {
    const body = partitionAppendSchema.parse({ records: [{ key: 'k', value: 'v' }], expectedOffset: 0 });

    expect(toPartitionAppend(body)).toEqual({ records: [{ key: utf8('k'), value: utf8('v'), headers: [] }], expectedOffset: 0 });
  });

  it('leaves producer and expectedOffset out when absent', () => {
    const converted = toPartitionAppend(partitionAppendSchema.parse({ records: [{ value: 'v' }] }));

    expect(Object.keys(converted)).toEqual(['records']);
  });
});

describe('partitionParam', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    ['1023', 1023],
    ['0042', 42],
  ])('parses %j as %d', (text, expected) => {
    expect(partitionParam(text)).toBe(expected);
  });

  it.each([undefined, '', '-1', '1.0', '1e2', 'abc', ' 1', '1 ', '0x1', '12345', '99999999999999999999'])(
    'rejects %j with a ValidationError',
    (value) => {
      const err = thrown(() => partitionParam(value));

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toMatch(/^partition must be a whole number \(0 to the topic's partitions - 1\); got '/);
    },
  );

  it('quotes at most 40 characters of the bad value', () => {
    const err = thrown(() => partitionParam('x'.repeat(100))) as ValidationError;

    expect(err.message).toBe(`partition must be a whole number (0 to the topic's partitions - 1); got '${'x'.repeat(40)}'`);
  });

  it('quotes a missing value as undefined', () => {
    expect(() => partitionParam(undefined)).toThrow("got 'undefined'");
  });
});

describe('headers', () => {
  it('accepts [name, value] pairs so that a name may repeat, in order', () => {
    const body = topicAppendSchema.parse({
      records: [
        {
          value: 'v',
          headers: [
            ['a', '1'],
            ['a', '2'],
            ['b', null],
          ],
        },
      ],
    });
    const headers = toTopicAppend(body).records[0]!.headers!;
    expect(headers.map((h) => [h.key, h.value === null ? null : new TextDecoder().decode(h.value)])).toEqual([
      ['a', '1'],
      ['a', '2'],
      ['b', null],
    ]);
  });

  it('rejects a lone surrogate in utf8 text instead of storing U+FFFD', () => {
    const body = topicAppendSchema.parse(JSON.parse('{"records":[{"value":"\\ud800"}]}'));
    expect(() => toTopicAppend(body)).toThrow(/lone surrogate/);
  });
});

describe('read responses fit in a Lambda response', () => {
  const record = (offset: number, value: string) => ({
    offset,
    timestamp: 0,
    key: null,
    value: new TextEncoder().encode(value),
    headers: [],
  });
  const result = (records: ReturnType<typeof record>[]) => ({
    topicId: 't1',
    records,
    nextOffset: 10,
    highWatermark: 10,
    logStartOffset: 0,
  });

  it('keeps the records that fit and continues from the first one left out', () => {
    const records = [record(3, 'a'.repeat(300)), record(5, 'b'.repeat(300)), record(8, 'c'.repeat(300))];
    const json = toJsonReadResult(result(records), 'utf8', 1000);
    expect(json.records.map((r) => r.offset)).toEqual([3, 5]);
    expect(json.nextOffset).toBe(8);
    expect(JSON.stringify(JSON.stringify(json)).length).toBeLessThanOrEqual(1000 + 2);
    expect(toJsonReadResult(result(records), 'utf8').nextOffset).toBe(10);
  });

  it('counts the escaping Lambda adds around the body', () => {
    const quoted = [record(0, '"'.repeat(300)), record(1, '"'.repeat(300))];
    // Each value is 300 quotes: 600 bytes as JSON, 1,200 once the body is itself a JSON string.
    expect(toJsonReadResult(result(quoted), 'utf8', 1500).records).toHaveLength(1);
  });

  it('answers 413 RESPONSE_TOO_LARGE when the first record alone does not fit', () => {
    expect(() => toJsonReadResult(result([record(7, 'x'.repeat(2000))]), 'base64', 1000)).toThrow(
      expect.objectContaining({ code: 'RESPONSE_TOO_LARGE', status: 413, offset: 7 }),
    );
  });
});
