/**
 * Contention with the machine out of the way (issue 13): the contention suite's run of the
 * write-first engine and the raw primitive, with every delay of the AWS latency model K
 * times as long at K writers ("time dilation") and spread like a real service's (p99 2.5×
 * p50).
 *
 * Why: on AWS every writer is a Lambda environment with a CPU of its own and DynamoDB
 * does not share it, so an append's CPU adds to its latency but never takes another
 * writer's. Here K workers and DynamoDB Local share two cores, and from K=4 the
 * contention suite measures those cores: the ratio of two modes is then the ratio of the
 * CPU they spend per append, whatever their round trips. Stretching the round trips K
 * times weighs the CPU K times less against them, as K times the cores would; what is
 * left is what the protocols wait for (round trips, and the writers before them), which
 * is what AWS would show until the head item's ~1,000 write units a second. The
 * acknowledgements a second, times the dilation, are the rate the same round trips would
 * give at the undilated model.
 */
import { DEFAULT_LATENCY_MODEL, describeLatencyModel, jitterForTail, type LatencyModel } from '../harness/latency-model.js';
import { formatMs, formatNumber, formatRatio } from '../harness/stats.js';
import { defineSuite, SECOND } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';
import { type ContentionBenchResult, runContentionBench, windowStretch } from './contention.js';
import { BATCH_SHAPE, SINGLE_RECORD_SHAPE } from './contention-modes.js';
import { AIMS, CANDIDATE_MODE, callsText, coresUsed, findPoint, PRIMITIVE_MODE, shapeTitle } from './contention-report.js';

/** The p99 over p50 of a call's latency in the dilated run's model. */
export const DILATED_TAIL = 2.5;

export const DILATED_MODEL: LatencyModel = Object.freeze({ ...DEFAULT_LATENCY_MODEL, jitter: jitterForTail(DILATED_TAIL) });

/** K writers get round trips K times as long. */
export const dilationAt = (k: number): number => k;

const DILATED_MODES = [CANDIDATE_MODE, PRIMITIVE_MODE];
const DILATED_SHAPES = [SINGLE_RECORD_SHAPE, BATCH_SHAPE];

export type DilatedSuiteResult = ContentionBenchResult;

/** One table per shape: the write-first engine against the raw primitive at each K, with the machine's load. */
export function dilatedTables(result: DilatedSuiteResult): ReportTable[] {
  const levels = [...new Set(result.points.map((p) => p.concurrency))].sort((a, b) => a - b);
  return DILATED_SHAPES.flatMap((shape) => {
    const rows: string[][] = [];
    const short: string[] = [];
    for (const k of levels) {
      const engine = findPoint(result.points, CANDIDATE_MODE, shape.name, k);
      const raw = findPoint(result.points, PRIMITIVE_MODE, shape.name, k);
      if (!engine || !raw) continue;
      const dilation = engine.dilation ?? 1;
      const ratio = engine.acksPerSec / raw.acksPerSec;
      if (!(ratio >= AIMS.minRawRatio)) short.push(`K=${k} (${formatRatio(ratio)})`);
      rows.push([
        String(k),
        `${formatNumber(dilation)}× (${formatNumber(result.config.latencyModel.perCallMs * dilation)} ms)`,
        formatNumber(engine.acksPerSec, 1),
        formatNumber(raw.acksPerSec, 1),
        `**${formatRatio(ratio)}**`,
        `${formatMs(engine.latencyMs.p50)} / ${formatMs(raw.latencyMs.p50)}`,
        formatRatio(engine.latencyMs.p99 / engine.latencyMs.p50),
        callsText(engine),
        String(engine.unavailable + engine.errors + engine.throttled),
        `${formatNumber(coresUsed(engine), 2)} / ${formatNumber(coresUsed(raw), 2)}`,
        engine.verified && raw.verified ? 'yes' : '**no**',
      ]);
    }
    const aim =
      short.length === 0
        ? `The write-first engine answers at least ${AIMS.minRawRatio}× the raw primitive's acknowledgements a second at every K measured.`
        : `Under ${AIMS.minRawRatio}× the raw primitive at ${short.join(', ')}.`;
    return [
      {
        title: `Dilated contention, ${shapeTitle(shape)}: write-first engine against the raw primitive`,
        columns: [
          'K',
          'dilation (per call)',
          'write-first acks/s',
          'raw acks/s',
          'write-first / raw',
          'p50 ms write-first / raw',
          'write-first p99/p50',
          'write-first DDB calls/ack',
          'write-first failed',
          'cores used write-first / raw (of 2)',
          'head = acks',
        ],
        rows,
        notes: [aim],
      },
    ];
  });
}

export const dilatedSuite = defineSuite({
  name: 'dilated',
  title: 'Contention with the machine out of the way: round trips K times as long (issue 13)',
  measures: 'the contention suite with the latency model K times as long at K writers, write-first engine against raw',
  /** Windows `durationMs` long up to K=8, longer beyond (windowStretch): enough round trips at every K. */
  full: { levels: [1, 2, 4, 8, 16, 32, 64], warmupMs: 2 * SECOND, durationMs: 8 * SECOND, poolWarmupMs: 2 * SECOND },
  quick: { levels: [2, 8, 32], warmupMs: 1 * SECOND, durationMs: 4 * SECOND, poolWarmupMs: 1 * SECOND },
  start: 'dilated: K processes on one partition, round trips K times as long',
  measure: (options, ctx) =>
    runContentionBench(
      { ...options, shapes: DILATED_SHAPES, modes: DILATED_MODES, latencyModel: DILATED_MODEL, dilation: dilationAt },
      ctx.log,
    ),
  render(result) {
    const { config } = result;
    const stretched = config.levels.filter((k) => windowStretch(dilationAt(k)) > 1);
    return {
      intro: [
        `Latency model at K=1 (bench/harness/latency-model.ts): ${describeLatencyModel(DILATED_MODEL)}; at K writers every delay is K times as long.`,
        `Windows of ${config.durationMs / SECOND} s after ${config.warmupMs / SECOND} s of warm-up per mode and K${stretched.length > 0 ? `, ${formatNumber(windowStretch(dilationAt(stretched[0]!)))}× to ${formatNumber(windowStretch(dilationAt(stretched.at(-1)!)))}× as long at K=${stretched.join(', ')}` : ''}; every worker warmed every mode for ${config.poolWarmupMs / SECOND} s first.`,
      ],
      tables: dilatedTables(result),
    };
  },
});
