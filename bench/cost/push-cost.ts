/**
 * What a tailing consumer costs while it waits (issue 14): a push connection (docs/push.md)
 * against a long-poll loop per partition, per month, from the prices (bench/cost/prices.ts) and
 * the requests each makes, counted from the code: a ping is one message each way, one
 * invocation of the push function and its reads (the connection item, the heads); a
 * long-poll is one HTTP request and one read-function invocation held for its wait, which
 * polls the head meanwhile (lib/reading/reader.ts: every 25 ms at first, doubling to 500 ms).
 * bench/cost/cost-report.ts puts the block in docs/cost.md, whose hand-written text explains
 * it; `npx tsx bench/cost/push-cost.ts` prints it.
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

/** docs/cost.md's tailing block: the settings and figures the section's hand-written text refers to, and the table. */
export function pushCostBlock(): string[] {
  const longPoll = idleLongPollMonthly();
  const rows = [1, 4, 16, 64].map((p) => {
    const push = idlePushMonthly(p);
    return `| ${p} | ${usd(push.connectionMinutes)} | ${usd(push.pingUsd)} | ${usd(push.reconnectUsd)} | **${usd(push.total)}** | 0 | ${usd(longPoll.total * p)} | ${p} |`;
  });
  const busyMessages = (MS_PER_MONTH / DEFAULT_PUSH_QUIET_MS) * PRICES.webSocketMessage.usd;
  return [
    `Push: a ping every ${PUSH_PING_INTERVAL_MS / 60_000} minutes, a ${PING_MS} ms invocation of the ${PUSH_FUNCTION_GB * 1024} MB push function; a reconnect every ${PUSH_MAX_CONNECTION_MS / 3_600_000} hours. Long-poll: a ${LONG_POLL_WAIT_MS / 1000} s wait in the ${READ_FUNCTION_GB} GB read function, ${headPollsPerWait(LONG_POLL_WAIT_MS)} head reads during it.`,
    '',
    '| partitions subscribed | connection-minutes | pings | reconnects | **push, a month** | Lambda held | long-poll, a month | Lambda held |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- An idle push connection on one partition: ${usd(idlePushMonthly(1).total)} a month; on 16 partitions ${usd(idlePushMonthly(16).total)}. A long-poll loop: ${usd(longPoll.total)} a month per partition.`,
    `- Quiet interval ${DEFAULT_PUSH_QUIET_MS} ms: a partition appended to without pause costs a connection at most ${usd(busyMessages)} a month in messages.`,
    `- The subscriber lookup on the append path: ${usd(PRICES.dynamoReadRequestUnit.usd * 1e6)} per million appends.`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(pushCostBlock().join('\n'));
