/**
 * CPU per append of one writer process, by contention mode: where the engine's time goes
 * beside the raw primitive's, and DynamoDB Local's CPU for the same appends (its own
 * process: what a loaded two-core machine shares with the writers, and what DynamoDB's
 * servers spend on AWS). One process, one request at a time, no latency model: what one
 * Lambda environment spends on an append. A probe, not a suite: it prints.
 *
 * The modes take turns in rounds, each round in another order, and each figure is the
 * median over the rounds (bench/harness/cpu-rounds.ts).
 *
 *     npx tsx bench/probes/append-cpu.ts [appends per round] [mode,mode,...] [rounds] [single|batch]
 *     node --cpu-prof --import tsx bench/probes/append-cpu.ts 3000 engine-write-first 1   (a profile of one mode)
 */
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { type CpuSample, cpuRounds, medianOf } from '../harness/cpu-rounds.js';
import { ResourceMeter } from '../harness/resources.js';
import { BATCH_SHAPE, type ContentionAppender, contentionMode, SINGLE_RECORD_SHAPE } from '../suites/contention-modes.js';

const appends = Number(process.argv[2] ?? 1000);
const modes = (process.argv[3] ?? 'raw,engine-write-first,engine-reserve').split(',');
const rounds = Number(process.argv[4] ?? 5);
const shape = process.argv[5] === 'batch' ? BATCH_SHAPE : SINGLE_RECORD_SHAPE;
const TABLE = 'append-cpu';
/** Appends before the first round, per mode: the first ones compile the code. */
const WARM_UP = 500;

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const meter = new ResourceMeter();
  const writers = new Map<string, ContentionAppender>();
  for (const name of modes) {
    const mode = contentionMode(name);
    const scope = { tableName: TABLE, scope: `${name}-${Date.now()}`, shape, deadlineMs: 10_000 };
    await mode.prepare?.(dynamo, scope);
    const writer = await mode.open(dynamo, scope);
    for (let i = 0; i < WARM_UP; i++) await writer.append();
    writers.set(name, writer);
  }
  const samples = await cpuRounds({
    names: modes,
    rounds,
    units: appends,
    meter,
    async run(name) {
      const writer = writers.get(name)!;
      for (let n = 0; n < appends; n++) await writer.append();
    },
  });
  const raw = samples.get('raw');
  const total = (s: CpuSample[]) => medianOf(s, 'writer') + medianOf(s, 'dynamo');
  console.log(`${shape.name} records, ${rounds} rounds of ${appends} appends per mode, medians`);
  console.log('| mode | CPU ms per append (writer) | DynamoDB Local CPU ms per append | both | both over raw | wall ms per append |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, s] of samples) {
    console.log(
      `| ${name} | ${medianOf(s, 'writer').toFixed(3)} | ${medianOf(s, 'dynamo').toFixed(3)} | ${total(s).toFixed(3)} | ${raw ? `${(total(s) / total(raw)).toFixed(2)}×` : '–'} | ${medianOf(s, 'wall').toFixed(2)} |`,
    );
  }
} finally {
  await dynamoLocal.stop();
}
