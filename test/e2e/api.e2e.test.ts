/**
 * The HTTP API contract against a running Strata: a stack deployed with `npx cdk deploy`
 * or `npm run deploy:local` (LocalStack), or `npm start`. Configured by the environment
 * (test/e2e/target.ts); skips itself when STRATA_E2E_URL is not set.
 *
 *   STRATA_E2E_URL=https://abc123.execute-api.eu-west-1.amazonaws.com npm run test:e2e
 *   STRATA_E2E_URL=http://127.0.0.1:4510 npm run test:e2e
 *   STRATA_E2E_APPEND_URL=https://a1….lambda-url.eu-west-1.on.aws STRATA_E2E_READ_URL=https://r1….lambda-url.eu-west-1.on.aws npm run test:e2e
 *
 * Against function URLs every request of the contract goes to its function's URL, and
 * the reads (binary ones included) come from the read function's streamed URL.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Strata } from '../../client/index.js';
import { BATCHES_MEDIA_TYPE, readFrame } from '../../lib/format/batch-frame.js';
import { describeHttpContract } from '../support/http-contract.js';
import { type ApiClient, apiClient } from '../support/local-stack.js';
import { routedFetch, signedFetch } from './sigv4.js';
import { readTarget } from './target.js';

const target = readTarget();

const where = target?.functionUrls ? `function URLs ${target.functionUrls.appendUrl} and ${target.functionUrls.readUrl}` : target?.url;

describe.skipIf(!target)(`Strata at ${where ?? '(STRATA_E2E_URL not set)'}`, () => {
  let api: ApiClient;

  beforeAll(async () => {
    const t = target!;
    if (t.auth === 'sigv4') {
      const credentials = fromNodeProviderChain();
      try {
        await credentials();
      } catch (err) {
        throw new Error(
          `STRATA_E2E_AUTH is sigv4 but no AWS credentials were found (${(err as Error).message}); ` +
            'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or STRATA_E2E_AUTH=none for an open endpoint',
        );
      }
      const signed = signedFetch(credentials, t.region, t.service);
      // Routed first, signed last: the signature names the host the request goes to.
      api = apiClient(t.url, t.functionUrls ? routedFetch(t.functionUrls, signed) : signed);
    } else {
      api = apiClient(t.url, t.functionUrls ? routedFetch(t.functionUrls) : fetch);
    }
    const probe = await api('GET', '/v1/topics');
    if (probe.status !== 200) {
      const allowed = t.service === 'lambda' ? 'lambda:InvokeFunctionUrl and lambda:InvokeFunction (grantInvokeUrl)' : 'execute-api:Invoke';
      throw new Error(
        `GET ${t.url}/v1/topics answered ${probe.status} ${JSON.stringify(probe.body)}; is this a Strata API, and are the credentials allowed ${allowed}?`,
      );
    }
  });

  it.runIf(target?.enforcesIam)('refuses unsigned requests (IAM authorization on every route)', async () => {
    for (const [method, path] of [
      ['GET', '/v1/topics'],
      ['POST', '/v1/topics'],
      ['GET', '/v2/everything'],
    ] as const) {
      const res = await fetch(`${target!.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it('answers a binary read (application/vnd.strata.batches) with the records of the JSON read, and its errors as JSON', async () => {
    const t = target!;
    const strata = new Strata({
      url: t.functionUrls ?? t.url,
      ...(t.auth === 'sigv4' ? { credentials: fromNodeProviderChain(), region: t.region, service: t.service } : { sign: false }),
    });
    const topic = `${t.prefix}binary`;
    await strata.createTopic(topic, { partitions: 1 });
    try {
      await strata.append(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from([i, 0, 255]), headers: { h: `${i}` } })),
        { partition: 0 },
      );
      await strata.append(topic, [{ value: 'second batch' }, { key: 'tomb', value: null }], { partition: 0 });
      const view = (r: Awaited<ReturnType<Strata['read']>>) => ({
        ...r,
        records: r.records.map((x) => ({ ...x, headers: { ...x.headers } })),
      });
      for (const offset of [0, 4, 10, 12]) {
        const binary = await strata.read(topic, 0, { offset, format: 'batches' });
        const json = await strata.read(topic, 0, { offset, format: 'json' });
        expect(view(binary)).toEqual(view(json));
      }
      // The frame itself: the batch holding offset 4 is sent whole, from offset 0.
      const raw = await strata.transport.requestBytes('GET', `/v1/topics/${encodeURIComponent(topic)}/partitions/0/records`, {
        query: { offset: 4 },
        accept: BATCHES_MEDIA_TYPE,
      });
      expect(raw.contentType).toBe(BATCHES_MEDIA_TYPE);
      expect(readFrame(raw.body)).toMatchObject({ startOffset: 4, nextOffset: 12, highWatermark: 12, batchCount: 2 });
      await expect(strata.read(topic, 0, { offset: 99 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', status: 416 });
    } finally {
      await strata.deleteTopic(topic);
    }
  });

  it('pushes: a consumer waiting at the high watermark is notified of an append and hands it over (skipped without a push endpoint)', async (ctx) => {
    const t = target!;
    const strata = new Strata({
      url: t.functionUrls ?? t.url,
      ...(t.auth === 'sigv4' ? { credentials: fromNodeProviderChain(), region: t.region, service: t.service } : { sign: false }),
    });
    const discovery = await strata.pushDiscovery();
    if (!discovery) return ctx.skip();
    // Signed on AWS; the local stack's endpoint takes any connection (signed requests or not).
    expect(discovery).toMatchObject({ protocol: 'strata.push.v1' });
    if (t.enforcesIam) expect(discovery.signed).toBe(true);
    const topic = `${t.prefix}push`;
    await strata.createTopic(topic, { partitions: 1 });
    const consumer = strata.subscribe(topic, { partitions: [0], fromOffset: 'latest' });
    try {
      const iterator = consumer[Symbol.asyncIterator]();
      const next = iterator.next();
      const deadline = Date.now() + 20_000;
      while (!(consumer.pushChannel?.subscribed(0) && consumer.pushChannel.waiting(0))) {
        if (Date.now() > deadline) throw new Error(`the consumer did not subscribe at ${discovery.url} within 20 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await strata.append(topic, [{ value: 'pushed' }], { partition: 0 });
      const record = await next;
      expect(record.value?.value?.toString()).toBe('pushed');
      expect(consumer.pushChannel!.received.moved).toBeGreaterThanOrEqual(1);
    } finally {
      await consumer.close();
      await strata.deleteTopic(topic);
    }
  });

  describeHttpContract(() => api, { prefix: target?.prefix ?? '' });
});
