/**
 * The client's binary read against answers made by hand: it decodes what the server
 * frames, drops records outside [startOffset, nextOffset), cuts to maxRecords, and
 * refuses a corrupt answer (a batch's CRC, the header's CRC, a truncated body, offsets
 * out of order) with CorruptDataError instead of returning records.
 */
import { describe, expect, it } from 'vitest';
import { Strata } from '../../client/index.js';
import { CorruptDataError } from '../../lib/core/errors.js';
import { BATCHES_MEDIA_TYPE, encodeFrame, type FrameHeader } from '../../lib/format/batch-frame.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const HEADER: FrameHeader = { topicId: 'topic-id-1', startOffset: 3, nextOffset: 20, highWatermark: 20, logStartOffset: 0 };

/** Two batches: offsets 0–9 (k0…k9) and 10–19, the second gzip. */
function batches(): Uint8Array[] {
  const records = (from: number) =>
    Array.from({ length: 10 }, (_, i) => ({
      key: utf8(`k${from + i}`),
      value: utf8(`v${from + i}`),
      headers: [{ key: 'h', value: utf8('x') }],
      timestamp: 1_700_000_000_000 + i,
    }));
  return [encodeBatch(records(0), { baseOffset: 0 }), encodeBatch(records(10), { baseOffset: 10, compression: 'gzip' })];
}

/** A client whose every request is answered with `body` as `contentType`; records the Accept headers sent. */
function clientAnswering(body: Uint8Array | string, contentType = BATCHES_MEDIA_TYPE, options: { readFormat?: 'json' | 'batches' } = {}) {
  const accepts: string[] = [];
  const fetchImpl = (async (_url: URL, init: RequestInit) => {
    accepts.push((init.headers as Record<string, string>).accept!);
    return new Response(typeof body === 'string' ? body : Buffer.from(body), { status: 200, headers: { 'content-type': contentType } });
  }) as unknown as typeof fetch;
  return { strata: new Strata({ url: 'http://127.0.0.1:1', fetch: fetchImpl, ...options }), accepts };
}

describe('client binary read', () => {
  it('decodes the frame, dropping the records below startOffset, and asks for batches by default', async () => {
    const { strata, accepts } = clientAnswering(encodeFrame(HEADER, batches()));
    const page = await strata.read('t', 0, { offset: 3 });
    expect(accepts[0]).toMatch(/^application\/vnd\.strata\.batches/);
    expect(page.records.map((r) => r.offset)).toEqual(Array.from({ length: 17 }, (_, i) => i + 3));
    expect(page.records[0]!.key!.toString()).toBe('k3');
    expect(page.records[16]!.value!.toString()).toBe('v19');
    expect(page.records[5]!.headers.h!.toString()).toBe('x');
    expect(page).toMatchObject({ topicId: 'topic-id-1', nextOffset: 20, highWatermark: 20, logStartOffset: 0 });
  });

  it('drops records at or past nextOffset and cuts to maxRecords, continuing after the last record kept', async () => {
    const { strata } = clientAnswering(encodeFrame({ ...HEADER, nextOffset: 15, highWatermark: 15 }, batches()));
    expect((await strata.read('t', 0, { offset: 3 })).records.map((r) => r.offset).at(-1)).toBe(14);
    const cut = await strata.read('t', 0, { offset: 3, maxRecords: 4 });
    expect(cut.records.map((r) => r.offset)).toEqual([3, 4, 5, 6]);
    expect(cut.nextOffset).toBe(7);
  });

  it('detects a corrupted batch CRC', async () => {
    const frame = encodeFrame(HEADER, batches());
    frame[frame.byteLength - 3]! ^= 0x01; // inside the second batch's records
    const { strata } = clientAnswering(frame);
    await expect(strata.read('t', 0, { offset: 3 })).rejects.toThrow(CorruptDataError);
    await expect(strata.read('t', 0, { offset: 3 })).rejects.toThrow(/fails its CRC32C/);
  });

  it('detects a corrupted header, a body cut at a batch boundary, and batches out of order', async () => {
    const header = encodeFrame(HEADER, batches());
    header[20]! ^= 0x01; // nextOffset
    await expect(clientAnswering(header).strata.read('t', 0)).rejects.toThrow(/header fails its CRC32C/);

    const [first, second] = batches();
    const whole = encodeFrame(HEADER, [first!, second!]);
    await expect(clientAnswering(whole.subarray(0, whole.byteLength - second!.byteLength)).strata.read('t', 0)).rejects.toThrow(
      CorruptDataError,
    );

    const reordered = encodeFrame(HEADER, [second!, first!]);
    await expect(clientAnswering(reordered).strata.read('t', 0)).rejects.toThrow(/not above the previous batch/);

    const outside = encodeFrame({ ...HEADER, startOffset: 10 }, [first!, second!]);
    await expect(clientAnswering(outside).strata.read('t', 0)).rejects.toThrow(/outside the read/);
  });

  it('reads JSON when asked to, and accepts a JSON answer to a binary request (a server without binary reads)', async () => {
    const json = JSON.stringify({
      topicId: 'x',
      records: [{ offset: 0, timestamp: 1, key: null, value: Buffer.from('v').toString('base64'), headers: {} }],
      nextOffset: 1,
      highWatermark: 1,
      logStartOffset: 0,
    });
    const asked = clientAnswering(json, 'application/json', { readFormat: 'json' });
    expect((await asked.strata.read('t', 0)).records[0]!.value!.toString()).toBe('v');
    expect(asked.accepts[0]).toBe('application/json');
    const fallback = clientAnswering(json, 'application/json; charset=utf-8');
    expect((await fallback.strata.read('t', 0)).records[0]!.value!.toString()).toBe('v');
  });
});
