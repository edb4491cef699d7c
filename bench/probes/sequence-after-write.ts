/**
 * A trial of sequencing after the write (docs/design.md, "Sequencing after the write: the
 * head as the index"): the contention suite's workers, single 1 KiB records, the raw
 * primitive, `head-index-raw` (the trial by hand, bench/suites/contention-modes.ts), the
 * engine with `sequencing: 'write-first'` and the reserving engine in the same run, through the AWS latency model. A probe, not a suite: it writes nothing
 * to docs/ or bench/results/, it prints.
 *
 *     npx tsx bench/probes/sequence-after-write.ts [K,K,...] [window seconds] [--batch] [--dilated] [--modes a,b,...] [--rounds N] [--faults json]
 *
 * `--rounds N`: every point N windows, the modes in a different order each round, pooled
 * (the contention suite's rounds). A mode named twice in `--modes` is measured as two points.
 *
 * `--faults <json>`: SDK faults in every worker's DynamoDB client, a local/chaos.ts spec
 * (e.g. `'{"attemptBefore":0.01,"commands":["UpdateItemCommand"]}'`).
 *
 * `--batch`: requests of 100 records of 1 KiB instead of one. `--dilated`: the dilated
 * suite's model (bench/suites/dilated.ts: every delay K times as long at K writers, spread
 * like a service's), the machine's CPU out of the way.
 */
import { parseArgs } from 'node:util';
import { chaosSpecSchema } from '../../local/chaos.js';
import { DEFAULT_LATENCY_MODEL } from '../harness/latency-model.js';
import { runContentionBench } from '../suites/contention.js';
import { BATCH_SHAPE, SINGLE_RECORD_SHAPE } from '../suites/contention-modes.js';
import { DILATED_MODEL, dilationAt } from '../suites/dilated.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    batch: { type: 'boolean', default: false },
    dilated: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'raw,head-index-raw,engine-write-first,engine-reserve' },
    rounds: { type: 'string', default: '1' },
    faults: { type: 'string' },
  },
});
const levels = (positionals[0] ?? '1,8,32').split(',').map(Number);
const windowMs = Number(positionals[1] ?? 4) * 1000;
const MODES = values.modes.split(',');

const result = await runContentionBench(
  {
    levels,
    shapes: [values.batch ? BATCH_SHAPE : SINGLE_RECORD_SHAPE],
    modes: MODES,
    warmupMs: 1000,
    durationMs: windowMs,
    rounds: Number(values.rounds),
    poolWarmupMs: 2000,
    ...(values.faults ? { faults: chaosSpecSchema.parse(JSON.parse(values.faults)) } : {}),
    ...(values.dilated ? { latencyModel: DILATED_MODEL, dilation: dilationAt } : { latencyModel: DEFAULT_LATENCY_MODEL }),
  },
  (line) => console.error(line),
);

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
console.log(
  `| mode | K | acks/s | over raw | p50 ms | p99 ms | calls/ack | WCU/ack | hottest item WCU/s | cores (workers + DDB Local) | head = acks |`,
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
// A mode named more than once is measured once per naming, in the order given (rounds that
// alternate with raw: `--modes raw,engine-write-first,raw,engine-write-first`); each
// point's ratio is over the mean of raw's points at its K.
for (const k of levels) {
  const raws = result.points.filter((p) => p.concurrency === k && p.mode === 'raw');
  const rawAcks = raws.reduce((sum, p) => sum + p.acksPerSec, 0) / raws.length;
  for (const p of result.points.filter((q) => q.concurrency === k)) {
    const { mode } = p;
    const ratio = p.acksPerSec / rawAcks;
    console.log(
      `| ${mode} | ${k} | ${f(p.acksPerSec, 0)} | ${f(ratio, 2)}× | ${f(p.latencyMs.p50)} | ${f(p.latencyMs.p99)} | ${f(p.callsPerAck, 2)} (${Object.entries(
        p.callsPerAckByOperation,
      )
        .map(([op, n]) => `${op} ${f(n, 2)}`)
        .join(', ')}) | ` +
        `${f(p.writeUnitsPerAck, 2)} | ${f(p.hottestItemUnitsPerSec, 0)} | ${f(p.workerCores, 2)} + ${f(p.dynamoCores, 2)} | ${p.verified ? 'yes' : `no: head ${p.storedRecords}, acked ${p.totalRecords}, failed ${p.failedRecords}`} |`,
    );
  }
}
