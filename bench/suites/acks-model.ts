/**
 * The acks=all model (bench/model/acks-all.ts) as a suite: what the promise itself
 * allows K reserving writers against the raw primitive, and what the look as built and
 * two other ways of looking reach, with the round trips spread as in the dilated suite.
 * A model, not a measurement: it shows the ceiling the measured suites are judged
 * against (issue 13).
 */
import { seededRandom } from '../../local/chaos.js';
import { jitterForTail } from '../harness/latency-model.js';
import { formatNumber, formatRatio } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import { ACK_POLICIES, type AckPolicy, type AcksModelResult, POLICY_TITLES, runAcksModel } from '../model/acks-all.js';
import type { ReportTable } from '../report/report.js';
import { DILATED_TAIL } from './dilated.js';

export interface AcksModelSuiteOptions {
  levels: number[];
  /** Model time per point, in round trips. */
  roundTrips: number;
  seeds: number;
}

export interface AcksModelSuiteResult {
  config: AcksModelSuiteOptions & { sigma: number };
  /** Means over the seeds, per policy and K. */
  points: AcksModelResult[];
}

const SIGMA = jitterForTail(DILATED_TAIL);

export function runAcksModelSuite(options: AcksModelSuiteOptions, log: (line: string) => void): AcksModelSuiteResult {
  const points: AcksModelResult[] = [];
  for (const writers of options.levels) {
    for (const policy of ACK_POLICIES) {
      const runs = Array.from({ length: options.seeds }, (_, seed) =>
        runAcksModel({ writers, policy, sigma: SIGMA, roundTrips: options.roundTrips, random: seededRandom(seed + 1) }),
      );
      const mean = (f: (r: AcksModelResult) => number) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
      const point = {
        writers,
        policy,
        acksPerRoundTrip: mean((r) => r.acksPerRoundTrip),
        p50RoundTrips: mean((r) => r.p50RoundTrips),
        looksPerAck: mean((r) => r.looksPerAck),
        itemsReadPerAck: mean((r) => r.itemsReadPerAck),
      };
      points.push(point);
      log(
        `  K=${writers} ${policy}: ${formatNumber(point.acksPerRoundTrip, 2)} acks a round trip, p50 ${formatNumber(point.p50RoundTrips, 2)}`,
      );
    }
  }
  return { config: { ...options, sigma: SIGMA }, points };
}

/** The policies that learn their prefix by looks. */
const LOOKING: AckPolicy[] = ['look', 'look-fixed', 'look-quarter'];

const find = (result: AcksModelSuiteResult, policy: AckPolicy, writers: number) =>
  result.points.find((p) => p.policy === policy && p.writers === writers);

/**
 * One row per policy: over raw at each K, then p50 and looks per ack at the largest K;
 * then the tail items the looking policies read per ack at each K.
 */
export function acksModelTables(result: AcksModelSuiteResult): ReportTable[] {
  const levels = result.config.levels;
  const top = levels.at(-1)!;
  const rows = ACK_POLICIES.map((policy) => {
    const cells = levels.map((k) => {
      const point = find(result, policy, k);
      const raw = find(result, 'raw', k);
      return point && raw ? formatRatio(point.acksPerRoundTrip / raw.acksPerRoundTrip) : '–';
    });
    const atTop = find(result, policy, top);
    return [
      POLICY_TITLES[policy],
      ...cells,
      atTop ? formatNumber(atTop.p50RoundTrips, 2) : '–',
      atTop ? formatNumber(atTop.looksPerAck, 2) : '–',
    ];
  });
  const oracleShort = levels.filter((k) => {
    const oracle = find(result, 'oracle', k);
    const raw = find(result, 'raw', k);
    return oracle && raw && oracle.acksPerRoundTrip / raw.acksPerRoundTrip < 0.8;
  });
  return [
    {
      title: 'acks=all in round trips: acknowledgements over the raw primitive at K writers (model)',
      columns: ['policy', ...levels.map((k) => `K=${k}`), `p50 at K=${top} (round trips)`, `looks per ack at K=${top}`],
      rows,
      notes: [
        oracleShort.length === 0
          ? `With perfect knowledge of the writers before it, acks=all keeps at least 0.8× the primitive at every K modelled.`
          : `Even with perfect knowledge of the writers before it, acks=all falls under 0.8× the primitive at K=${oracleShort.join(', ')}.`,
      ],
    },
    {
      title: 'Tail items read by the looks per acknowledgement (model)',
      columns: ['policy', ...levels.map((k) => `K=${k}`)],
      rows: LOOKING.map((policy) => [
        POLICY_TITLES[policy],
        ...levels.map((k) => {
          const point = find(result, policy, k);
          return point ? formatNumber(point.itemsReadPerAck, 1) : '–';
        }),
      ]),
      notes: [
        'Each look is one consistent Query over the reservations between what the writer knows held and its own, an item each: its read units are their bytes (1 KiB records: about 1 read unit per 3.6 items, rounded up per Query).',
      ],
    },
  ];
}

export const acksModelSuite = defineSuite({
  name: 'acks-model',
  title: 'What acks=all allows: a model of the round trips (issue 13)',
  measures: 'a discrete-event model of K writers: acks=all (perfect knowledge, the look as built, others) against the raw primitive',
  full: { levels: [1, 2, 4, 8, 16, 32, 64], roundTrips: 20_000, seeds: 3 },
  quick: { levels: [2, 8, 32], roundTrips: 2_000, seeds: 1 },
  start: 'acks-model: K writers, round trips only',
  measure: async (options, ctx) => runAcksModelSuite(options, ctx.log),
  render(result) {
    const { config } = result;
    return {
      intro: [
        `Model (bench/model/acks-all.ts): each call takes a log-normal of median one round trip (σ ${config.sigma.toFixed(2)}: p99 ${DILATED_TAIL}× p50, as the dilated suite), half out and half back; no CPU. ${formatNumber(config.roundTrips)} round trips per point, mean of ${config.seeds} seed(s).`,
      ],
      tables: acksModelTables(result),
    };
  },
});
