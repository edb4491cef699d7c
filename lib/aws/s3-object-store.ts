/**
 * The S3 adapter of the ObjectStore port. Segments and staged batches are immutable
 * objects, so plain PUT, ranged GET, list and batch delete are all the
 * engine needs; nothing depends on S3 conditional writes.
 *
 * The same adapter serves an S3 Express One Zone directory bucket (`name--azid--x-s3`,
 * the staging tier): the SDK's S3Client opens and renews its CreateSession credentials
 * itself for such names, and the four calls are the same. Two differences it handles:
 * directory buckets page listings only by ContinuationToken (not StartAfter), and list
 * keys in no particular order (callers never rely on the order).
 *
 * Every failure is thrown as a Strata error (errors.ts `translate`): a missing object as
 * ObjectMissingError, a throttle as ThrottledError, anything a retry may get past as
 * StorageUnavailableError.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../ports/object-store.js';
import { translate } from './errors.js';

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/** How a listing asks for its next page: StartAfter (general purpose buckets, s3rver) or ContinuationToken (directory buckets). */
export type ListPaging = 'start-after' | 'continuation-token';

/** The suffix of an S3 Express One Zone directory bucket's name. */
export const DIRECTORY_BUCKET_SUFFIX = '--x-s3';

export class S3ObjectStore implements ObjectStore {
  private readonly paging: ListPaging;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** Default: continuation-token for a directory bucket's name, start-after otherwise. */
    options: { paging?: ListPaging } = {},
  ) {
    this.paging = options.paging ?? (bucket.endsWith(DIRECTORY_BUCKET_SUFFIX) ? 'continuation-token' : 'start-after');
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.call(`S3 PutObject ${key}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body })));
  }

  /** The body is read inside the call: a connection that breaks while it streams fails the call as a network error would. */
  async get(key: string, range?: { start: number; end: number }): Promise<Uint8Array> {
    return this.call(`S3 GetObject ${key}`, async () => {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    });
  }

  /**
   * Pages with StartAfter (the last key seen) on general purpose buckets, and with
   * ContinuationToken on directory buckets, which do not take StartAfter (and whose pages
   * are not in key order). Both page alike on s3rver (the local emulator) once
   * local/emulators.ts has replaced the DES its continuation tokens need, which Node's
   * OpenSSL 3 refuses: without it every listing past one page answered 500, either way.
   */
  async list(prefix: string): Promise<{ key: string; size: number; lastModified: number }[]> {
    const objects: { key: string; size: number; lastModified: number }[] = [];
    let startAfter: string | undefined;
    let token: string | undefined;
    for (;;) {
      const out = await this.call(`S3 ListObjectsV2 ${prefix}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(startAfter ? { StartAfter: startAfter } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      const contents = out.Contents ?? [];
      for (const o of contents) {
        objects.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
      }
      if (!out.IsTruncated || contents.length === 0) return objects;
      if (this.paging === 'start-after') startAfter = contents.at(-1)!.Key!;
      else if (out.NextContinuationToken) token = out.NextContinuationToken;
      else return objects;
    }
  }

  /** Quiet DeleteObjects: the response lists only the keys S3 failed to delete (`Errors`). */
  async delete(keys: string[]): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const out = await this.call('S3 DeleteObjects', () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      for (const error of out.Errors ?? []) if (error.Key) failed.push(error.Key);
    }
    return failed;
  }

  /** Runs one call to S3 (`name`, for the message); its failure is thrown as a Strata error. */
  private async call<T>(name: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw translate(err, name);
    }
  }
}
