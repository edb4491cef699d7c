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
import { ACK_POLICIES, type AckPolicy, type AcksModelResult, POLICY_TITLES, runAcksModel, TAIL_ITEM_BYTES } from '../model/acks-all.js';
import type { ReportTable } from '../report/report.js';
import { PARTITION_READ_UNITS_PER_SEC, PARTITION_WRITE_UNITS_PER_SEC } from './contention-report.js';
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
        readUnitsPerAck: mean((r) => r.readUnitsPerAck),
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
      title: 'Tail items read by the looks per acknowledgement, and their read units (model)',
      columns: ['policy', ...levels.map((k) => `K=${k}`)],
      rows: LOOKING.map((policy) => [
        POLICY_TITLES[policy],
        ...levels.map((k) => {
          const point = find(result, policy, k);
          return point ? `${formatNumber(point.itemsReadPerAck, 1)} (${formatNumber(point.readUnitsPerAck, 1)} RRU)` : '–';
        }),
      ]),
      notes: [
        `Each look is one Query over the reservations between what the writer knows held and its own, an item each: its read units are their bytes rounded up to 4 KB, at least one (items of ${formatNumber(TAIL_ITEM_BYTES)} bytes: a 1 KiB record's), half that for an append's first look, which reads eventually consistent (the model has no replica lag: such a lag costs the look after it, consistent).`,
      ],
    },
  ];
}

/**
 * The round trip the projection onto AWS takes (ms): the contention suite's latency model
 * adds 6 ms to each call, and DynamoDB documents single-digit-millisecond answers inside
 * a region; an assumption, not a measurement.
 */
export const AWS_ROUND_TRIP_MS = 10;
/**
 * Write units per append, raw and reserving alike: the head's update (1) and a 1 KiB
 * record's tail item (1 per KB of TAIL_ITEM_BYTES, rounded up: 2); measured 3.0–3.06 in
 * the contention suite.
 */
const WRITE_UNITS_PER_APPEND = 1 + Math.ceil(TAIL_ITEM_BYTES / 1024);

type Bound = 'round trips' | 'writes' | 'reads';

/**
 * Appends a second on one partition on AWS, by the model's acknowledgements a round trip
 * at AWS_ROUND_TRIP_MS, capped by what one DynamoDB partition serves (its tail items
 * share the head's partition until DynamoDB splits the key range): the write units of
 * each append, and the read units of its looks.
 */
export function projectOnAws(point: Pick<AcksModelResult, 'acksPerRoundTrip' | 'readUnitsPerAck'>): { perSec: number; bound: Bound } {
  const limits: [Bound, number][] = [
    ['round trips', (point.acksPerRoundTrip * 1000) / AWS_ROUND_TRIP_MS],
    ['writes', PARTITION_WRITE_UNITS_PER_SEC / WRITE_UNITS_PER_APPEND],
    ['reads', point.readUnitsPerAck > 0 ? PARTITION_READ_UNITS_PER_SEC / point.readUnitsPerAck : Number.POSITIVE_INFINITY],
  ];
  const [bound, perSec] = limits.reduce((least, limit) => (limit[1] < least[1] ? limit : least));
  return { perSec, bound };
}

/** The projection onto AWS: each policy's appends a second over the raw primitive's, and what bounds it. */
export function awsProjectionTable(result: AcksModelSuiteResult): ReportTable {
  const levels = result.config.levels;
  const rows = ACK_POLICIES.map((policy) => [
    POLICY_TITLES[policy],
    ...levels.map((k) => {
      const point = find(result, policy, k);
      const raw = find(result, 'raw', k);
      if (!point || !raw) return '–';
      const projected = projectOnAws(point);
      const cell = policy === 'raw' ? formatNumber(projected.perSec, 0) : formatRatio(projected.perSec / projectOnAws(raw).perSec);
      return `${cell} (${projected.bound})`;
    }),
  ]);
  return {
    title: `Projected onto one DynamoDB partition at a ${AWS_ROUND_TRIP_MS} ms round trip: appends a second (raw), over raw (the others), and what bounds them (model)`,
    columns: ['policy', ...levels.map((k) => `K=${k}`)],
    rows,
    notes: [
      `Each policy's acknowledgements a round trip above at a ${AWS_ROUND_TRIP_MS} ms round trip, capped by one partition's ${formatNumber(PARTITION_WRITE_UNITS_PER_SEC)} write units a second (${WRITE_UNITS_PER_APPEND} per 1 KiB append: the head's update and the tail item) and ${formatNumber(PARTITION_READ_UNITS_PER_SEC)} read units a second (the looks' read units above). "Perfect knowledge" reads nothing: it is the bound of the round trips alone.`,
      "Before DynamoDB splits the partition's key range for heat, which would move tail items away from the head; the head item alone takes at most 1,000 write units a second whatever the split.",
    ],
  };
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
      tables: [...acksModelTables(result), awsProjectionTable(result)],
    };
  },
});
