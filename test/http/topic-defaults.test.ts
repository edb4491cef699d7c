/**
 * A deployment's defaults for new topics (StrataLog `topicDefaults`, the functions'
 * STRATA_TOPIC_DEFAULTS): a topic created without a setting gets the deployment's, one
 * that names it keeps its own, and a malformed request is still rejected as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../functions/shared/env.js';
import { MAX_APPEND_DEADLINE_MS } from '../../lib/core/constants.js';
import { LogEngine } from '../../lib/engine.js';
import type { LogStore } from '../../lib/ports/log-store.js';
import type { LocalStack } from '../../local/stack.js';
import { type ApiClient, apiClient, startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack({ engine: { topicDefaults: { retentionMs: 3_600_000, compression: 'gzip' } } });
  api = apiClient(stack.url);
});
afterAll(async () => stack?.stop());

describe('topic defaults of a deployment', () => {
  it('apply to a topic created without those settings', async () => {
    const res = await api('POST', '/v1/topics', { name: 'plain', partitions: 1 });
    expect(res.status).toBe(201);
    expect(res.body.config).toMatchObject({ retentionMs: 3_600_000, compression: 'gzip', cleanupPolicy: 'delete' });
  });

  it('give way to the settings a create request names', async () => {
    const res = await api('POST', '/v1/topics', { name: 'own', config: { retentionMs: 1000 } });
    expect(res.body.config).toMatchObject({ retentionMs: 1000, compression: 'gzip' });
  });

  it('leave a malformed config to validation', async () => {
    const res = await api('POST', '/v1/topics', { name: 'bad', config: 'weekly' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
  });
});

describe('STRATA_TOPIC_DEFAULTS', () => {
  const base = { STRATA_TABLE_NAME: 't', STRATA_BUCKET_NAME: 'b' };

  it('is read as a JSON object of topic settings', () => {
    expect(readEnv({ ...base, STRATA_TOPIC_DEFAULTS: '{"retentionMs":60000}' }).topicDefaults).toEqual({ retentionMs: 60000 });
  });

  it('fails the cold start with the variable and the field named', () => {
    expect(() => readEnv({ ...base, STRATA_TOPIC_DEFAULTS: 'retention=1d' })).toThrow(/STRATA_TOPIC_DEFAULTS must be a JSON object/);
    expect(() => readEnv({ ...base, STRATA_TOPIC_DEFAULTS: '{"retention":1}' })).toThrow(
      /STRATA_TOPIC_DEFAULTS has invalid topic settings/,
    );
    expect(() => readEnv({ ...base, STRATA_TOPIC_DEFAULTS: '{"cleanupPolicy":"sometimes"}' })).toThrow(/cleanupPolicy/);
  });
});

describe('STRATA_APPEND_DEADLINE_MS', () => {
  const base = { STRATA_TABLE_NAME: 't', STRATA_BUCKET_NAME: 'b' };

  it('is read in ms up to MAX_APPEND_DEADLINE_MS', () => {
    expect(readEnv({ ...base, STRATA_APPEND_DEADLINE_MS: '20000' }).appendDeadlineMs).toBe(20_000);
    expect(readEnv({ ...base, STRATA_APPEND_DEADLINE_MS: String(MAX_APPEND_DEADLINE_MS) }).appendDeadlineMs).toBe(MAX_APPEND_DEADLINE_MS);
  });

  // Past the bound, a commit in doubt could be re-sent after a flush moved the tail item
  // that proves it was applied, outside the window in which DynamoDB answers it itself.
  it('refuses a deadline past the bound at cold start (regression: appliedEarlier stopped working)', () => {
    expect(() => readEnv({ ...base, STRATA_APPEND_DEADLINE_MS: String(MAX_APPEND_DEADLINE_MS + 1) })).toThrow(
      /STRATA_APPEND_DEADLINE_MS must be a whole number from 1 to 60000/,
    );
    expect(() => readEnv({ ...base, STRATA_APPEND_DEADLINE_MS: '900000' })).toThrow(/from 1 to/);
    expect(() => new LogEngine({ store: {} as LogStore, appendDeadlineMs: 900_000 })).toThrow(
      /append deadline must be a whole number of ms from 1 to 60000/,
    );
  });
});
