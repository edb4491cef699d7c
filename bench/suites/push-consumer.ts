/**
 * The push benchmark's consumer, in a process of its own as a consumer is on AWS: the
 * client's Consumer on partition 0 of a topic, with the push channel or long-polls,
 * printing one JSON line per record it is handed (`{"offset":n,"at":ms}`, `at` on the
 * machine's shared high-resolution clock), and `{"ready":true}` once it waits at the
 * high watermark. With `--http-ms`, every HTTP request it sends pays that much more
 * (half before, half after): the AWS model's API Gateway hop.
 *
 *     tsx bench/suites/push-consumer.ts <url> <topic> <push|long-poll> [--http-ms N]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Strata } from '../../client/index.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'http-ms': { type: 'string', default: '0' } } });
const [url, topic, mode] = positionals;
if (!url || !topic || (mode !== 'push' && mode !== 'long-poll'))
  throw new Error('usage: push-consumer.ts <url> <topic> <push|long-poll> [--http-ms N]');
const httpMs = Number(values['http-ms']);
const now = () => performance.timeOrigin + performance.now();

const modelled: typeof fetch = async (input, init) => {
  if (httpMs > 0) await sleep(httpMs / 2);
  const response = await fetch(input, init);
  const body = await response.arrayBuffer();
  if (httpMs > 0) await sleep(httpMs / 2);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

const strata = new Strata({ url, fetch: modelled });
const consumer = strata.subscribe(topic, { partitions: [0], fromOffset: 'latest', push: mode === 'push', waitMs: 10_000 });
const iterator = consumer[Symbol.asyncIterator]();
let pending = iterator.next();
// Ready once caught up: subscribed and waiting on the channel, or a long-poll in flight.
void (async () => {
  for (;;) {
    const channel = consumer.pushChannel;
    if (mode === 'long-poll' || (channel?.subscribed(0) && channel.waiting(0))) break;
    await sleep(10);
  }
  await sleep(mode === 'long-poll' ? 200 : 0);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
})();
for (;;) {
  const next = await pending;
  if (next.done) break;
  process.stdout.write(`${JSON.stringify({ offset: next.value.offset, at: now() })}\n`);
  pending = iterator.next();
}
