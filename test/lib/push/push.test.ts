/**
 * The push path through the local stack: the WebSocket endpoint on the server's port,
 * the push function's handler behind it, the append path's fan-out, and the client
 * consumer waiting on it instead of long-polling (docs/push.md).
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Strata } from '../../../client/index.js';
import { PushChannel } from '../../../client/push.js';
import type { ConnectionPoster } from '../../../lib/push/fanout.js';
import type { PushDiscovery, PushMessage } from '../../../lib/push/protocol.js';
import { localDynamoClient } from '../../../local/emulators.js';
import type { LocalStack } from '../../../local/stack.js';
import { startTestStack } from '../../support/local-stack.js';

/** A raw client of the push endpoint: frames received, in order. */
async function socket(url: string): Promise<{
  ws: WebSocket;
  frames: PushMessage[];
  next: (type: string, timeoutMs?: number) => Promise<PushMessage>;
  send: (frame: unknown) => void;
}> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/push`);
  const frames: PushMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as PushMessage);
    waiters.splice(0).forEach((w) => {
      w();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let seen = 0;
  const next = async (type: string, timeoutMs = 5000): Promise<PushMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (seen < frames.length) {
        const frame = frames[seen++]!;
        if (frame.type === type) return frame;
      }
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { ws, frames, next, send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)) };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fetch that counts reads by whether they long-polled. */
function countingFetch(): { fetch: typeof fetch; reads: { polled: number; immediate: number } } {
  const reads = { polled: 0, immediate: 0 };
  return {
    reads,
    fetch: (input, init) => {
      const url = new URL(String(input));
      if (url.pathname.endsWith('/records') && (init?.method ?? 'GET') === 'GET') {
        if (Number(url.searchParams.get('waitMs') ?? 0) > 0) reads.polled++;
        else reads.immediate++;
      }
      return fetch(input, init);
    },
  };
}

/**
 * A WebSocket server that answers each frame with what `answer` returns (nothing when
 * undefined), and the discovery document of it for a PushChannel.
 */
async function fakePushServer(answer: (frame: { action: string; id: string }) => object | undefined, pingIntervalMs: number) {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (ws) => {
    ws.on('message', (data) => {
      const reply = answer(JSON.parse(String(data)) as { action: string; id: string });
      if (reply) ws.send(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const discovery: PushDiscovery = {
    url: `ws://127.0.0.1:${port}`,
    protocol: 'strata.push.v1',
    pingIntervalMs,
    maxConnectionMs: 60_000,
    quietMs: 50,
    signed: false,
  };
  const stop = async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, discovery, stop };
}

/** A `subscribed` answer to `frame` for partition 0 of topic t. */
const subscribedTo = (frame: { id: string }) => ({
  type: 'subscribed',
  id: frame.id,
  topic: 't',
  watermarks: [{ topic: 't', partition: 0, highWatermark: 0 }],
});

describe('push', () => {
  let stack: LocalStack;
  let strata: Strata;
  let dropping = false;

  beforeAll(async () => {
    const wrapPoster = (poster: ConnectionPoster): ConnectionPoster => ({
      post: (id, message) => (dropping ? Promise.resolve('sent' as const) : poster.post(id, message)),
    });
    stack = await startTestStack({ push: { quietMs: 50, pingIntervalMs: 300, wrapPoster } });
    strata = new Strata({ url: stack.url });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('tells where the push endpoint is', async () => {
    const discovery = await strata.pushDiscovery();
    expect(discovery).toMatchObject({
      url: `ws://127.0.0.1:${stack.port}/v1/push`,
      protocol: 'strata.push.v1',
      signed: false,
      quietMs: 50,
      pingIntervalMs: 300,
    });
  });

  it('answers PUSH_NOT_CONFIGURED when the stack has no push endpoint', async () => {
    const bare = await startTestStack({ push: false });
    try {
      const response = await fetch(`${bare.url}/v1/push`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PUSH_NOT_CONFIGURED');
      expect(await new Strata({ url: bare.url }).pushDiscovery()).toBeUndefined();
    } finally {
      await bare.stop();
    }
  });

  it('notifies a subscriber that an append moved the high watermark, and the read finds it', async () => {
    await strata.createTopic('push-basic', { partitions: 2 });
    const client = await socket(stack.url);
    client.send({ action: 'subscribe', id: 's1', topic: 'push-basic', partitions: [1] });
    expect(await client.next('subscribed')).toEqual({
      type: 'subscribed',
      id: 's1',
      topic: 'push-basic',
      watermarks: [{ topic: 'push-basic', partition: 1, highWatermark: 0 }],
    });
    await strata.append('push-basic', [{ value: 'a' }, { value: 'b' }], { partition: 1 });
    const moved = await client.next('moved');
    expect(moved).toMatchObject({ type: 'moved', topic: 'push-basic', partition: 1, highWatermark: 2, quietMs: 50 });
    // Small appends carry their records: a binary read's frame from the append's first offset.
    const pushed = new Strata({ url: stack.url }).frameResult('push-basic', 1, Buffer.from((moved as { frame: string }).frame, 'base64'));
    expect(pushed.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
    expect(pushed.nextOffset).toBe(2);
    const read = await strata.read('push-basic', 1, { offset: 0 });
    expect(read.records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    // A large append is announced without its records. It goes after the quiet interval:
    // an append inside it is held back (the client's trailing read finds it, docs/push.md),
    // and would send no frame (regression: the test failed when the read above took under 50 ms).
    await new Promise((r) => setTimeout(r, (moved as { quietMs: number }).quietMs + 50));
    await strata.append('push-basic', [{ value: 'x'.repeat(20_000) }], { partition: 1 });
    const large = await client.next('moved');
    expect(large).toMatchObject({ highWatermark: 3 });
    expect('frame' in large).toBe(false);
    // Partition 0 has no subscriber on this connection.
    await strata.append('push-basic', [{ value: 'c' }], { partition: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(client.frames.filter((f) => f.type === 'moved')).toHaveLength(2);
    client.ws.close();
  });

  it('answers bad frames with an error frame and subscribes nothing', async () => {
    await strata.createTopic('push-errors', { partitions: 1 });
    const client = await socket(stack.url);
    client.send('not json');
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_JSON' });
    client.send({ action: 'listen', topic: 'push-errors' });
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_ACTION' });
    client.send({ action: 'subscribe', id: 'x', topic: 'no-such-topic', partitions: [0] });
    expect(await client.next('error')).toMatchObject({ id: 'x', code: 'TOPIC_NOT_FOUND' });
    client.send({ action: 'subscribe', topic: 'push-errors', partitions: [0, 3] });
    expect(await client.next('error')).toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('partitions 3 do not exist') });
    client.send({ action: 'subscribe', topic: 'push-errors', partitions: [0], extra: 1 });
    expect(await client.next('error')).toMatchObject({ code: 'VALIDATION' });
    client.send({ action: 'ping' });
    expect(await client.next('pong')).toEqual({ type: 'pong', watermarks: [] });
    client.ws.close();
  });

  it('notifies every subscriber of a partition, at most once per quiet interval each, and a consumer still gets every record', async () => {
    await strata.createTopic('push-many', { partitions: 1 });
    const clients = await Promise.all(Array.from({ length: 12 }, () => socket(stack.url)));
    for (const c of clients) c.send({ action: 'subscribe', topic: 'push-many', partitions: [0] });
    await Promise.all(clients.map((c) => c.next('subscribed')));
    const consumer = strata.subscribe('push-many', { fromOffset: 'earliest' });
    const got: string[] = [];
    const consuming = (async () => {
      for await (const record of consumer) {
        got.push(record.value!.toString());
        if (got.length === 40) break;
      }
    })();
    await until(() => consumer.pushChannel?.subscribed(0) === true);
    const started = Date.now();
    for (let i = 0; i < 40; i++) await strata.append('push-many', [{ value: `r${i}` }], { partition: 0 });
    await consuming;
    const elapsed = Date.now() - started;
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
    await new Promise((r) => setTimeout(r, 100));
    for (const c of clients) {
      const moved = c.frames.filter((f) => f.type === 'moved');
      expect(moved.length).toBeGreaterThan(0);
      // One per 50 ms quiet interval at most (plus the first).
      expect(moved.length).toBeLessThanOrEqual(Math.ceil((elapsed + 100) / 50) + 1);
      c.ws.close();
    }
  });

  it('lets a caught-up consumer wait without long-polling, and delivers what is appended', async () => {
    await strata.createTopic('push-consumer', { partitions: 2 });
    const counting = countingFetch();
    const client = new Strata({ url: stack.url, fetch: counting.fetch });
    const consumer = client.subscribe('push-consumer', { fromOffset: 'earliest', waitMs: 5000 });
    const got: string[] = [];
    const consuming = (async () => {
      for await (const record of consumer) {
        got.push(`${record.partition}:${record.value!.toString()}`);
        if (got.length === 3) break;
      }
    })();
    await until(() => consumer.pushChannel?.subscribed(0) === true && consumer.pushChannel.usable(1));
    // Caught up and subscribed: no read is sent while nothing happens.
    await new Promise((r) => setTimeout(r, 300));
    const before = { ...counting.reads };
    await new Promise((r) => setTimeout(r, 700));
    expect(counting.reads.polled).toBe(before.polled);
    expect(counting.reads.immediate - before.immediate).toBeLessThanOrEqual(4); // the pings' watermarks may wake a read
    await strata.append('push-consumer', [
      { value: 'x', partition: 0 },
      { value: 'y', partition: 1 },
    ]);
    await strata.append('push-consumer', [{ value: 'z' }], { partition: 1 });
    await consuming;
    expect(got.sort()).toEqual(['0:x', '1:y', '1:z']);
    expect(consumer.pushChannel!.received.moved).toBeGreaterThan(0);
  });

  it('hands a caught-up consumer the records a notification carried, without a read', async () => {
    await strata.createTopic('push-inline', { partitions: 1 });
    const counting = countingFetch();
    const consumer = new Strata({ url: stack.url, fetch: counting.fetch }).subscribe('push-inline', { fromOffset: 'earliest' });
    const iterator = consumer[Symbol.asyncIterator]();
    const first = iterator.next();
    await until(() => consumer.pushChannel?.subscribed(0) === true && consumer.pushChannel.waiting(0));
    const reads = counting.reads.immediate + counting.reads.polled;
    await strata.append('push-inline', [{ value: 'inline' }], { partition: 0 });
    const record = await first;
    // Handed over before the trailing read quietMs later.
    expect(counting.reads.immediate + counting.reads.polled).toBe(reads);
    expect(record.value).toMatchObject({ offset: 0, partition: 0 });
    expect(record.value!.value!.toString()).toBe('inline');
    await consumer.close();
  });

  it('delivers by the ping fallback when notifications are lost', async () => {
    await strata.createTopic('push-lost', { partitions: 1 });
    const consumer = strata.subscribe('push-lost', { fromOffset: 'earliest' });
    const got: string[] = [];
    const consuming = (async () => {
      for await (const record of consumer) {
        got.push(record.value!.toString());
        if (got.length === 2) break;
      }
    })();
    // Waiting on the channel, not in a long-poll the in-process wake-up would end.
    await until(() => consumer.pushChannel?.subscribed(0) === true && consumer.pushChannel.waiting(0));
    dropping = true;
    try {
      await strata.append('push-lost', [{ value: 'one' }, { value: 'two' }], { partition: 0 });
      await consuming;
    } finally {
      dropping = false;
    }
    expect(got).toEqual(['one', 'two']);
    expect(consumer.pushChannel!.received.moved).toBe(0);
    expect(consumer.pushChannel!.received.pong).toBeGreaterThan(0);
  });

  it('resumes after the server drops the connection, and loses nothing appended meanwhile', async () => {
    await strata.createTopic('push-resume', { partitions: 1 });
    // While the connection is down the loop long-polls; one that started just before the
    // reconnect holds the loop for its whole wait (10 s by default, as long as `until`
    // waits below), so the fallback polls here are short.
    const consumer = strata.subscribe('push-resume', { fromOffset: 'earliest', waitMs: 500 });
    const got: string[] = [];
    const consuming = (async () => {
      for await (const record of consumer) {
        got.push(record.value!.toString());
        if (got.length === 20) break;
      }
    })();
    await until(() => consumer.pushChannel?.subscribed(0) === true);
    for (let i = 0; i < 10; i++) await strata.append('push-resume', [{ value: `a${i}` }], { partition: 0 });
    for (const id of stack.push!.connectionIds) stack.push!.disconnect(id);
    // Appended while the connection is down: the loops long-poll meanwhile.
    for (let i = 0; i < 5; i++) await strata.append('push-resume', [{ value: `b${i}` }], { partition: 0 });
    await until(() => consumer.pushChannel!.connects >= 2 && consumer.pushChannel!.subscribed(0));
    await until(() => consumer.pushChannel!.waiting(0));
    for (let i = 5; i < 10; i++) await strata.append('push-resume', [{ value: `b${i}` }], { partition: 0 });
    await consuming;
    expect(got).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)]);
  });

  it('regression: a failed ping made the channel start over on a new connection (a storm of reconnects under load)', async () => {
    // Looked for after a chaos run (2026-12-03) whose healed server was flooded with push
    // requests: every ping the server answered with a retryable error (its store failed
    // for a moment) closed the connection and opened a new one, with its disconnect,
    // connect and subscription, all store writes, and under load more pings failed.
    // A ping's error is now ignored; a refused subscription still starts over, backing off.
    let refuseSubscriptions = false;
    const { server, discovery, stop } = await fakePushServer((frame) => {
      const retry = { type: 'error', id: frame.id, code: 'RETRY', message: 'the store is unavailable; retry' };
      return frame.action === 'ping' || refuseSubscriptions ? retry : subscribedTo(frame);
    }, 20);
    const channel = new PushChannel(discovery, 't', { minReconnectMs: 10, maxReconnectMs: 2_000 });
    try {
      channel.start([0]);
      await until(() => channel.received.error >= 10);
      expect(channel.connects).toBe(1);
      expect(channel.subscribed(0)).toBe(true);
    } finally {
      channel.close();
    }
    // Subscriptions refused again and again: the reconnects back off.
    refuseSubscriptions = true;
    const refused = new PushChannel(discovery, 't', { minReconnectMs: 10, maxReconnectMs: 2_000 });
    try {
      refused.start([0]);
      // One connection at a time (the next test shows why).
      let most = 0;
      const sampling = setInterval(() => (most = Math.max(most, server.clients.size)), 5);
      await new Promise((r) => setTimeout(r, 600));
      clearInterval(sampling);
      expect(refused.connects).toBeGreaterThan(1);
      expect(refused.connects).toBeLessThan(20);
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      refused.close();
      await stop();
    }
  });

  it('regression: reconnects after refused subscriptions left ping timers running, each pinging on the new connection', async () => {
    // A refused subscription's error frame closed the socket and scheduled a reconnect,
    // and the socket's close event scheduled a second: two sockets opened, the second's
    // ping timer replaced the first's without stopping it. Every refusal could double the
    // timers; pings grew without bound on one channel (looked for after a chaos run whose
    // healed server was flooded with push requests, 2026-12-03).
    let refusals = 5;
    let pings = 0;
    const { server, discovery, stop } = await fakePushServer((frame) => {
      if (frame.action === 'ping') {
        pings++;
        return { type: 'pong', id: frame.id, watermarks: [] };
      }
      return refusals-- > 0 ? { type: 'error', id: frame.id, code: 'RETRY', message: 'retry' } : subscribedTo(frame);
    }, 50);
    const channel = new PushChannel(discovery, 't', { minReconnectMs: 20, maxReconnectMs: 40 });
    try {
      channel.start([0]);
      await until(() => channel.subscribed(0));
      await new Promise((r) => setTimeout(r, 100));
      pings = 0;
      await new Promise((r) => setTimeout(r, 500));
      // One timer: about 10 pings in 500 ms.
      expect(pings).toBeLessThanOrEqual(13);
      expect(server.clients.size).toBe(1);
    } finally {
      channel.close();
      await stop();
    }
  });

  it('stops trying, and lets the loops long-poll, when the endpoint refuses the connection', async () => {
    let upgrades = 0;
    const refusing = createServer((_req, res) => res.end());
    refusing.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const { port } = refusing.address() as AddressInfo;
    const reasons: string[] = [];
    const channel = new PushChannel(
      {
        url: `ws://127.0.0.1:${port}/v1/push`,
        protocol: 'strata.push.v1',
        pingIntervalMs: 1000,
        maxConnectionMs: 60_000,
        quietMs: 50,
        signed: false,
      },
      'refused',
      { onDown: (reason) => reasons.push(reason), minReconnectMs: 10, maxReconnectMs: 20 },
    );
    try {
      channel.start([0]);
      expect(channel.usable(0)).toBe(true);
      await until(() => !channel.usable(0));
      await new Promise((r) => setTimeout(r, 300));
      expect(upgrades).toBe(1);
      expect(channel.connects).toBe(0);
      expect(reasons.join()).toContain('refused the connection (403)');
    } finally {
      channel.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it("removes a connection's subscriptions when it disconnects", async () => {
    await strata.createTopic('push-cleanup', { partitions: 3 });
    const client = await socket(stack.url);
    client.send({ action: 'subscribe', topic: 'push-cleanup', partitions: [0, 1, 2] });
    await client.next('subscribed');
    const dynamo = localDynamoClient(stack.dynamoEndpoint);
    const subscribers = async (partition: number) =>
      (
        await dynamo.send(
          new QueryCommand({
            TableName: stack.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `W#push-cleanup#${partition}` } },
          }),
        )
      ).Items?.filter((i) => i.sk!.S!.startsWith('C#')).length ?? 0;
    expect(await subscribers(2)).toBe(1);
    client.send({ action: 'unsubscribe', topic: 'push-cleanup', partitions: [2] });
    await client.next('unsubscribed');
    expect(await subscribers(2)).toBe(0);
    client.ws.close();
    await until(async () => (await subscribers(0)) === 0 && (await subscribers(1)) === 0);
  });
});
