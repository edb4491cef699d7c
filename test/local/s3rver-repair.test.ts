/**
 * Regression (chaos suite): a SIGKILL while s3rver wrote an object's metadata left a
 * truncated JSON file, and from then on s3rver answered 500 to every listing of the
 * partition's prefix, so garbage collection, and with it the partition's maintenance
 * pass, failed on every run after the restart. startS3rver now removes objects whose
 * PUT never finished before it serves a kept directory, as S3 never shows one.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { ensureBucket, findFreePort, localS3Client, removeIncompleteS3rverObjects, startS3rver } from '../../local/emulators.js';

const BUCKET = 'repair';
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs `use` against a fresh s3rver (startS3rver's, hardened) with the test bucket made. */
async function withS3rver(name: string, use: (s3: S3Client) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `strata-s3rver-${name}-`));
  dirs.push(dir);
  const server = await startS3rver({ directory: dir });
  const s3 = localS3Client(server.endpoint);
  try {
    await ensureBucket(s3, BUCKET);
    await use(s3);
  } finally {
    s3.destroy();
    await server.stop();
  }
}

const list = async (s3: S3Client) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'topics/' }))).Contents ?? []).map((o) => o.Key);
const file = (dir: string, key: string, suffix: string) =>
  join(dir, BUCKET, ...key.split('/').slice(0, -1), `${key.split('/').at(-1)}._S3rver_${suffix}`);

describe('s3rver directories kept across kills', () => {
  it('lose the objects whose PUT never finished, and s3rver lists and serves the rest again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-s3rver-repair-'));
    dirs.push(dir);
    const first = await startS3rver({ directory: dir });
    const s3 = localS3Client(first.endpoint);
    await ensureBucket(s3, BUCKET);
    for (const key of ['topics/t/0/a.seg', 'topics/t/0/b.seg', 'topics/t/0/c.seg']) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `bytes of ${key}` }));
    }
    s3.destroy();
    await first.stop();

    // As a kill leaves them: b's metadata cut short, c's never written, a's .md5 empty.
    const bMetadata = file(dir, 'topics/t/0/b.seg', 'metadata.json');
    await writeFile(bMetadata, (await readFile(bMetadata, 'utf8')).slice(0, 7));
    await rm(file(dir, 'topics/t/0/c.seg', 'metadata.json'));
    await writeFile(file(dir, 'topics/t/0/a.seg', 'object.md5'), '');

    // What s3rver alone makes of it: every listing of the prefix fails.
    const port = await findFreePort();
    const bare = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true });
    await bare.run();
    const bareClient = localS3Client(`http://127.0.0.1:${port}`);
    try {
      await expect(list(bareClient)).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    } finally {
      bareClient.destroy();
      await bare.close();
    }

    const second = await startS3rver({ directory: dir });
    const s3Again = localS3Client(second.endpoint);
    try {
      expect(await list(s3Again)).toEqual(['topics/t/0/a.seg']);
      const a = await s3Again.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'topics/t/0/a.seg' }));
      expect(await a.Body!.transformToString()).toBe('bytes of topics/t/0/a.seg');
    } finally {
      s3Again.destroy();
      await second.stop();
    }
    // Nothing left to remove the next time.
    expect(await removeIncompleteS3rverObjects(dir)).toEqual([]);
  });

  // Regression (CI): a DELETE removed a key's emptied directory while a PUT into it was
  // between its mkdir and its write; the ENOENT on s3rver's write stream had no listener
  // and took the test process down.
  it('take PUTs racing DELETEs in the same prefix without losing one', () =>
    withS3rver('race', async (s3) => {
      const key = (i: number) => `topics/r/0/staged/${i}.batch`;
      for (let i = 0; i < 300; i++) {
        await Promise.all([
          s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: `batch ${i}` })),
          i > 0 ? s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key(i - 1) })) : undefined,
        ]);
      }
      expect(await list(s3)).toEqual([key(299)]);
    }));

  // Regression (`npm run cost`, 2026-12-03): s3rver makes ListObjectsV2's continuation
  // tokens with DES, which Node's OpenSSL 3 refuses, so a listing with more than one page
  // of keys under its prefix answered 500, though the object store pages by StartAfter:
  // the cost model's 4,096 staged batches failed garbage collection.
  it('list more than one page of keys under a prefix', () =>
    withS3rver('pages', async (s3) => {
      const keys = Array.from({ length: 1_005 }, (_, i) => `topics/p/0/staged/${String(i).padStart(4, '0')}.batch`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }))));
      }
      for (const paging of ['start-after', 'continuation-token'] as const) {
        const listed = await new S3ObjectStore(s3, BUCKET, { paging }).list('topics/p/0/');
        expect(
          listed.map((o) => o.key),
          paging,
        ).toEqual(keys);
      }
    }));

  it('leave a directory that does not exist yet alone', async () => {
    expect(await removeIncompleteS3rverObjects(join(tmpdir(), 'strata-no-such-dir-', String(process.pid)))).toEqual([]);
  });
});
