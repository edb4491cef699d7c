/**
 * What a tailing consumer costs while it waits (issue 14): a push connection (docs/push.md)
 * against a long-poll loop per partition, per month, from the prices (bench/cost/prices.ts) and
 * the requests each makes, counted from the code: a ping is one message each way, one
 * invocation of the push function and its reads (the connection item, the heads); a
 * long-poll is one HTTP request and one read-function invocation held for its wait, which
 * polls the head meanwhile (lib/reading/reader.ts: every 25 ms at first, doubling to 500 ms).
 * bench/cost/cost-report.ts puts the section in docs/cost.md; `npx tsx bench/cost/push-cost.ts` prints it.
 */
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_PUSH_QUIET_MS,
  LONG_POLL_MAX_INTERVAL_MS,
  LONG_POLL_MIN_INTERVAL_MS,
  PUSH_MAX_CONNECTION_MS,
  PUSH_PING_INTERVAL_MS,
} from '../../lib/core/constants.js';
import { HOURS_PER_MONTH, PRICES } from './prices.js';

const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
const MS_PER_MONTH = MINUTES_PER_MONTH * 60_000;
/** The push function's memory (infra/strata-log.ts) and its modelled time per ping: a GetItem and a BatchGetItem at 6 ms each plus ~8 ms of its own. */
export const PUSH_FUNCTION_GB = 0.25;
export const PING_MS = 20;
/** The read function's memory (infra/strata-log.ts) and the client's default long-poll wait. */
const READ_FUNCTION_GB = 1;
const LONG_POLL_WAIT_MS = 10_000;
/** A subscribe or disconnect: the function's time, ms (a few writes at 6 ms). */
const SESSION_MS = 30;

const usd = (x: number) => (x >= 100 ? `$${x.toFixed(0)}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(3)}`);
const _count = (x: number) => Math.round(x).toLocaleString('en-US');

/** Head reads one long-poll makes while it waits: its backoff from 25 ms doubling to 500 ms. */
export function headPollsPerWait(waitMs: number): number {
  let polls = 1;
  let elapsed = 0;
  for (let interval = LONG_POLL_MIN_INTERVAL_MS; elapsed < waitMs; interval = Math.min(interval * 2, LONG_POLL_MAX_INTERVAL_MS)) {
    elapsed += interval;
    polls++;
  }
  return polls;
}

/** One idle push connection subscribed to `partitions` partitions, a month. */
export function idlePushMonthly(partitions: number, pingIntervalMs = PUSH_PING_INTERVAL_MS) {
  const pings = MS_PER_MONTH / pingIntervalMs;
  const reconnects = MS_PER_MONTH / PUSH_MAX_CONNECTION_MS;
  const connectionMinutes = MINUTES_PER_MONTH * PRICES.webSocketConnectionMinute.usd;
  const lambda = (ms: number) => PRICES.lambdaRequest.usd + (ms / 1000) * PUSH_FUNCTION_GB * PRICES.lambdaArmGbSecond.usd;
  // A ping: in and out; the connection item (a consistent read) and the heads (eventually consistent, ≤ 4 KB each: half a unit).
  const perPing = 2 * PRICES.webSocketMessage.usd + lambda(PING_MS) + (1 + partitions / 2) * PRICES.dynamoReadRequestUnit.usd;
  // A reconnect: $connect, subscribe (in and out), $disconnect; the connection and subscription items written, then deleted.
  const perReconnect =
    2 * PRICES.webSocketMessage.usd +
    3 * lambda(SESSION_MS) +
    2 * (1 + partitions) * PRICES.dynamoWriteRequestUnit.usd +
    (1 + partitions) * PRICES.dynamoReadRequestUnit.usd;
  const total = connectionMinutes + pings * perPing + reconnects * perReconnect;
  return { pings, reconnects, connectionMinutes, pingUsd: pings * perPing, reconnectUsd: reconnects * perReconnect, total };
}

/** One partition's long-poll loop of an idle consumer, a month (today's client without push). */
export function idleLongPollMonthly(waitMs = LONG_POLL_WAIT_MS) {
  const polls = MS_PER_MONTH / waitMs;
  const perPoll =
    PRICES.httpApiRequest.usd +
    PRICES.lambdaRequest.usd +
    (waitMs / 1000) * READ_FUNCTION_GB * PRICES.lambdaArmGbSecond.usd +
    headPollsPerWait(waitMs) * PRICES.dynamoReadRequestUnit.usd;
  return { polls, perPoll, total: polls * perPoll, concurrency: 1 };
}

/** The markdown section for docs/cost.md. */
export function pushCostSection(): string[] {
  const longPoll = idleLongPollMonthly();
  const rows = [1, 4, 16, 64].map((p) => {
    const push = idlePushMonthly(p);
    return `| ${p} | ${usd(push.connectionMinutes)} | ${usd(push.pingUsd)} | ${usd(push.reconnectUsd)} | **${usd(push.total)}** | 0 | ${usd(longPoll.total * p)} | ${p} |`;
  });
  const busyMessages = (MS_PER_MONTH / DEFAULT_PUSH_QUIET_MS) * PRICES.webSocketMessage.usd;
  return [
    '## Tailing: push or long-poll',
    '',
    'What a consumer costs while it waits at the high watermark, per month (issue 14). With push (docs/push.md) it holds one',
    `WebSocket and pings every ${PUSH_PING_INTERVAL_MS / 60_000} minutes (one message each way, one ${PING_MS} ms invocation of the ${PUSH_FUNCTION_GB * 1024} MB push`,
    'function, a consistent read of its connection item and an eventually consistent one per subscribed head); API Gateway closes it every 2 hours and it',
    "reconnects and subscribes again. Without push each partition's loop holds a 10 s long-poll: a 1 GB read function for the",
    `whole wait, its HTTP request, and ${headPollsPerWait(LONG_POLL_WAIT_MS)} head reads while it waits (lib/reading/reader.ts). Counted from the code, at the prices below.`,
    '',
    '| partitions subscribed | connection-minutes | pings | reconnects | **push, a month** | Lambda held | long-poll, a month | Lambda held |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- **Aim: an idle subscribed consumer costs at most $0.10 a month per connection.** One connection on one partition: ${usd(idlePushMonthly(1).total)};`,
    `  on 16 partitions ${usd(idlePushMonthly(16).total)} (the pings read every subscribed head). A long-poll loop costs ${usd(longPoll.total)} per partition and holds`,
    "  one unit of the account's Lambda concurrency for good; a push connection holds none between pings.",
    '- Moving data adds one message per notification per connection: at most one per partition per quiet interval',
    `  (${DEFAULT_PUSH_QUIET_MS} ms), so a partition appended to without pause costs a connection at most ${usd(busyMessages)} a month in messages.`,
    '  A notification of an append of up to 16 KiB carries the records, so the consumer reads nothing for it; a larger one costs',
    "  the consumer's read (as a long-poll's answer would).",
    "- The append path pays for the fan-out: a consistent Query of the partition's subscribers per append (1 read unit,",
    `  ${usd(PRICES.dynamoReadRequestUnit.usd * 1e6)} per million appends), and with subscribers a write unit per notification for the quiet marker.`,
    '',
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(pushCostSection().join('\n'));
