/**
 * The local stack for HTTP tests: the same server as `npm start`, on a free port, over
 * the emulators of the global setup with a fresh table and bucket.
 */
import { inject } from 'vitest';
import { FAST_RETRY } from '../../lib/core/retry.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.js';
import { freshBucket, freshTable } from './aws.js';

export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({
    dynamoEndpoint: inject('dynamoEndpoint'),
    s3Endpoint: inject('s3Endpoint'),
    tableName: await freshTable(),
    bucketName: await freshBucket(),
    port: 0,
    ...options,
    engine: { retry: FAST_RETRY, ...options.engine },
  });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export type ApiClient = (method: string, path: string, body?: unknown, init?: { raw?: string }) => Promise<ApiResponse>;

/** A minimal JSON client of the API for tests; `fetchImpl` may sign requests (test/e2e). */
export function apiClient(baseUrl: string, fetchImpl: typeof fetch = fetch): ApiClient {
  return async (method, path, body, init = {}) => {
    const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
}
