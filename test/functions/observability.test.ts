/**
 * What the functions tell CloudWatch and X-Ray about each request (issue 16, items 4 and
 * 5): per-topic metrics of appends and reads with the consumer lag, the UnexpectedErrors
 * metric that leaves 503 RETRY out, and the Lambda context on the logger. Tracing itself
 * is off here, as in the local stack (no AWS_EXECUTION_ENV).
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpHandler } from '../../functions/shared/dispatch.js';
import { json } from '../../functions/shared/http.js';
import { createObservability, recordCommit, TOPIC_METRICS, TopicMetrics, withReadPosition } from '../../functions/shared/observability.js';
import { tracer } from '../../functions/shared/tracing.js';
import { InternalError, RetryableError } from '../../lib/core/errors.js';

const READ = 'GET /v1/topics/{topic}/partitions/{partition}/records';

function event(routeKey: string, topic = 'orders') {
  return {
    routeKey,
    rawPath: '/',
    pathParameters: { topic, partition: '0' },
    requestContext: { http: { method: 'GET' } },
    headers: {},
  } as never;
}

/** An Observability whose per-topic counters and single metrics are recorded. */
function recorded() {
  const obs = createObservability('read');
  const topics = { add: vi.fn(), max: vi.fn(), publish: vi.fn() };
  obs.topics = topics as unknown as TopicMetrics;
  const single = { addMetric: vi.fn() };
  vi.spyOn(obs.metrics, 'singleMetric').mockReturnValue(single as never);
  return { obs, topics, single };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('per-topic metrics', () => {
  it('count the records and bytes a read answered and keep the largest lag behind the high watermark', async () => {
    const { obs, topics } = recorded();
    const handler = createHttpHandler(
      { [READ]: async () => withReadPosition(json(200, { records: [1, 2, 3] }), { records: 3, nextOffset: 10, highWatermark: 15 }) },
      obs,
    );
    const response = await handler(event(READ));
    expect(topics.add).toHaveBeenCalledWith('orders', TOPIC_METRICS.readRecords, 3);
    expect(topics.add).toHaveBeenCalledWith('orders', TOPIC_METRICS.readBytes, Buffer.byteLength(response.body!));
    expect(topics.max).toHaveBeenCalledWith('orders', TOPIC_METRICS.consumerLag, 5);
    expect(topics.publish).toHaveBeenCalledOnce();
    // The position rides on the answer under a symbol: nothing of it is sent.
    expect(JSON.stringify(response)).not.toContain('highWatermark');
  });

  it('count nothing for an answer without a read position (a describe, an error)', async () => {
    const { obs, topics } = recorded();
    const handler = createHttpHandler({ 'GET /v1/topics/{topic}': async () => json(200, {}) }, obs);
    await handler(event('GET /v1/topics/{topic}'));
    expect(topics.add).not.toHaveBeenCalled();
    expect(topics.max).not.toHaveBeenCalled();
  });

  it("sum each group commit's records and bytes into its topic", () => {
    const { obs, topics } = recorded();
    recordCommit(obs, {
      ref: { topic: 'clicks', topicId: 't', partition: 2 },
      appends: 2,
      records: 7,
      bytes: 700,
      attempts: 1,
      conflicts: 0,
      durationMs: 4,
    });
    expect(topics.add).toHaveBeenCalledWith('clicks', TOPIC_METRICS.appendedRecords, 7);
    expect(topics.add).toHaveBeenCalledWith('clicks', TOPIC_METRICS.appendedBytes, 700);
  });

  it('are off with topicMetrics false', () => {
    expect(createObservability('append', { topicMetrics: false }).topics).toBeUndefined();
    expect(createObservability('append').topics).toBeInstanceOf(TopicMetrics);
  });

  it('publish one EMF record per topic, with dimensions service and topic, summing counters and keeping maxima', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    });
    const topics = new TopicMetrics('read');
    topics.add('orders', TOPIC_METRICS.readRecords, 3);
    topics.add('orders', TOPIC_METRICS.readRecords, 4);
    topics.max('orders', TOPIC_METRICS.consumerLag, 9);
    topics.max('orders', TOPIC_METRICS.consumerLag, 2);
    topics.add('views', TOPIC_METRICS.readBytes, 100);
    topics.publish();
    vi.mocked(process.stdout.write).mockRestore();
    const records = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('_aws'))
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(2);
    const orders = records.find((r) => r.topic === 'orders')!;
    expect(orders._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'topic']]);
    expect(orders).toMatchObject({ service: 'read', topic: 'orders', TopicReadRecords: 7, TopicConsumerLag: 9 });
    expect(records.find((r) => r.topic === 'views')).toMatchObject({ TopicReadBytes: 100 });
    // Published and cleared: a second publish emits nothing.
    lines.length = 0;
    topics.publish();
    expect(lines).toEqual([]);
  });
});

describe('the UnexpectedErrors metric', () => {
  it('counts a 500 but not the 503 RETRY of a contended append', async () => {
    const { obs, single } = recorded();
    vi.spyOn(obs.logger, 'error').mockImplementation(() => undefined);
    const handler = createHttpHandler(
      {
        'POST /v1/topics/{topic}/records': async () => {
          throw new RetryableError('could not commit before the deadline', 1);
        },
        'PATCH /v1/topics/{topic}': async () => {
          throw new InternalError('a bug');
        },
      },
      obs,
    );
    expect((await handler(event('POST /v1/topics/{topic}/records'))).statusCode).toBe(503);
    expect(single.addMetric).not.toHaveBeenCalled();
    expect((await handler(event('PATCH /v1/topics/{topic}'))).statusCode).toBe(500);
    expect(single.addMetric).toHaveBeenCalledWith('UnexpectedErrors', 'Count', 1);
  });
});

describe('the Lambda context', () => {
  it('is added to the logger on each invocation that has one (request id, cold start on every line)', async () => {
    const { obs } = recorded();
    const addContext = vi.spyOn(obs.logger, 'addContext');
    const handler = createHttpHandler({ 'GET /v1/topics': async () => json(200, {}) }, obs);
    const context = {
      awsRequestId: 'req-1',
      functionName: 'read',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn',
      memoryLimitInMB: '1024',
    } as Context;
    await handler(event('GET /v1/topics'), context);
    expect(addContext).toHaveBeenCalledWith(context);
    await handler(event('GET /v1/topics'));
    expect(addContext).toHaveBeenCalledOnce();
  });

  it('leaves tracing off outside Lambda (the local stack, the tests), with no X-Ray daemon', () => {
    expect(tracer.isTracingEnabled()).toBe(false);
  });
});
