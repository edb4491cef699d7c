/**
 * The staging tier's pure parts: which store a staged object is read from and deleted
 * in, the directory-bucket listing that the emulators cannot exercise (ContinuationToken
 * pages, any order), and the functions' environment.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../../functions/shared/env.js';
import { translate } from '../../../lib/aws/errors.js';
import { S3ObjectStore } from '../../../lib/aws/s3-object-store.js';
import type { ObjectStore } from '../../../lib/ports/object-store.js';
import { StagedStores } from '../../../lib/staging/tier.js';

/** An in-memory store that records what was deleted from it. */
function memoryStore(keys: string[] = []): ObjectStore & { deleted: string[] } {
  const objects = new Set(keys);
  const deleted: string[] = [];
  return {
    deleted,
    put: async (key) => void objects.add(key),
    get: async (key) => {
      if (!objects.has(key)) throw translate(Object.assign(new Error(`no ${key}`), { name: 'NoSuchKey' }), `get ${key}`);
      return new Uint8Array([1]);
    },
    list: async (prefix) => [...objects].filter((k) => k.startsWith(prefix)).map((key) => ({ key, size: 1, lastModified: 0 })),
    delete: async (ks) => {
      for (const k of ks) {
        objects.delete(k);
        deleted.push(k);
      }
      return [];
    },
  };
}

describe('StagedStores', () => {
  it('sends new staged batches to the staging store and names it, or to the main store without a name', () => {
    const main = memoryStore();
    const staging = memoryStore();
    expect(new StagedStores(main, { objects: staging }).forWrites()).toEqual({ objects: staging, store: 'staging' });
    expect(new StagedStores(main, { objects: staging, writes: false }).forWrites()).toEqual({ objects: main });
    expect(new StagedStores(main, undefined).forWrites()).toEqual({ objects: main });
    expect(new StagedStores(undefined, undefined).forWrites()).toBeUndefined();
  });

  it('reads an object from the store its item names: the main one when it names none', () => {
    const main = memoryStore();
    const staging = memoryStore();
    const stores = new StagedStores(main, { objects: staging, writes: false });
    expect(stores.of({ key: 'a', bytes: 1 })).toBe(main);
    expect(stores.of({ key: 'b', bytes: 1, store: 'staging' })).toBe(staging);
    expect(() => new StagedStores(main, undefined).of({ key: 'b', bytes: 1, store: 'staging' })).toThrow(
      /in the staging store, but none is configured/,
    );
  });

  it('deletes each staged object from its own store', async () => {
    const main = memoryStore(['m1', 'm2']);
    const staging = memoryStore(['s1']);
    const failed = await new StagedStores(main, { objects: staging }).delete([
      { key: 'm1', bytes: 1 },
      { key: 's1', bytes: 1, store: 'staging' },
      { key: 'm2', bytes: 1 },
    ]);
    expect(failed).toEqual([]);
    expect(main.deleted).toEqual(['m1', 'm2']);
    expect(staging.deleted).toEqual(['s1']);
  });
});

describe('S3ObjectStore listing of a directory bucket', () => {
  /** A client answering ListObjectsV2 in pages, as a directory bucket does: unordered, by ContinuationToken. */
  function pagedClient(pages: string[][]): { client: S3Client; inputs: Record<string, unknown>[] } {
    const inputs: Record<string, unknown>[] = [];
    const client = {
      send: async (command: { input: Record<string, unknown> }) => {
        inputs.push(command.input);
        const page = command.input.ContinuationToken === undefined ? 0 : Number(command.input.ContinuationToken);
        const last = page === pages.length - 1;
        return {
          Contents: pages[page]!.map((Key) => ({ Key, Size: 1, LastModified: new Date(0) })),
          IsTruncated: !last,
          ...(last ? {} : { NextContinuationToken: String(page + 1) }),
        };
      },
    } as unknown as S3Client;
    return { client, inputs };
  }

  it('pages by ContinuationToken for a --x-s3 name and keeps every key whatever their order', async () => {
    const { client, inputs } = pagedClient([['topics/t/z', 'topics/t/a'], ['topics/t/m']]);
    const listed = await new S3ObjectStore(client, 'strata-1--use1-az4--x-s3').list('topics/t/');
    expect(listed.map((o) => o.key).sort()).toEqual(['topics/t/a', 'topics/t/m', 'topics/t/z']);
    expect(inputs.map((i) => [i.StartAfter, i.ContinuationToken])).toEqual([
      [undefined, undefined],
      [undefined, '1'],
    ]);
  });

  it('pages by StartAfter for a general purpose bucket (and s3rver)', async () => {
    const inputs: Record<string, unknown>[] = [];
    const client = {
      send: async (command: { input: Record<string, unknown> }) => {
        inputs.push(command.input);
        return command.input.StartAfter === undefined
          ? { Contents: [{ Key: 'topics/t/a' }], IsTruncated: true }
          : { Contents: [{ Key: 'topics/t/b' }], IsTruncated: false };
      },
    } as unknown as S3Client;
    const listed = await new S3ObjectStore(client, 'strata-segments').list('topics/t/');
    expect(listed.map((o) => o.key)).toEqual(['topics/t/a', 'topics/t/b']);
    expect(inputs[1]).toMatchObject({ StartAfter: 'topics/t/a' });
  });
});

describe('the functions environment for the staging tier', () => {
  const base = { STRATA_TABLE_NAME: 't', STRATA_BUCKET_NAME: 'b' };

  it('reads the staging bucket and the drain switch', () => {
    expect(readEnv({ ...base, STRATA_STAGING_BUCKET: 'x--use1-az4--x-s3' })).toMatchObject({ stagingBucketName: 'x--use1-az4--x-s3' });
    expect(readEnv({ ...base, STRATA_STAGING_BUCKET: 'x--use1-az4--x-s3', STRATA_STAGING_WRITES: 'false' })).toMatchObject({
      stagingWrites: false,
    });
    expect(readEnv(base).stagingBucketName).toBeUndefined();
  });

  it('refuses a drain switch that is not true or false', () => {
    expect(() => readEnv({ ...base, STRATA_STAGING_WRITES: 'no' })).toThrow(/STRATA_STAGING_WRITES must be 'true' or 'false'/);
  });
});
