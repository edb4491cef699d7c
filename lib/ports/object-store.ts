/**
 * The port through which the engine reaches its objects (segments, staged batches). The
 * adapter is lib/aws/s3-object-store.ts; tests wrap it to inject faults.
 */
/** S3, as the engine needs it: segments and staged batches. */
export interface ObjectStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** Bytes [start, end] inclusive, or the whole object. */
  get(key: string, range?: { start: number; end: number }): Promise<Uint8Array>;
  list(prefix: string): Promise<{ key: string; size: number; lastModified: number }[]>;
  /**
   * Deletes the objects (a key already gone counts as deleted) and returns the keys it
   * could not delete, which are still there: S3's DeleteObjects answers 200 for the
   * request and reports failures per key.
   */
  delete(keys: string[]): Promise<string[]>;
}
