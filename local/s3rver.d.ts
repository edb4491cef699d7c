/**
 * s3rver ships no types; this declares only the part of its API the local stack and the
 * tests use (see node_modules/s3rver/lib/s3rver.js and its README).
 */
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  namespace S3rver {
    interface BucketConfig {
      name: string;
      /** Raw CORS or website configuration XML documents. */
      configs?: Array<string | Buffer>;
    }

    interface Options {
      /** Host or IP to bind to; s3rver's default is `localhost`. */
      address?: string;
      /** 0 binds a free port; `run()` resolves with the bound address. */
      port?: number;
      silent?: boolean;
      serviceEndpoint?: string;
      directory?: string;
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      vhostBuckets?: boolean;
      configureBuckets?: BucketConfig[];
    }
  }

  class S3rver {
    constructor(options?: S3rver.Options);
    /** Creates the configured buckets, then listens; resolves with the server's address. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    reset(): void;
  }

  export = S3rver;
}
