/**
 * CPU per append of one writer process, by contention mode: where the engine's time goes
 * beside the raw primitive's, and DynamoDB Local's CPU for the same appends (its own
 * process: what a loaded two-core machine shares with the writers, and what DynamoDB's
 * servers spend on AWS). One process, one request at a time, no latency model: what one
 * Lambda environment spends on an append. A probe, not a suite: it prints.
 *
 *     npx tsx bench/probes/append-cpu.ts [appends per mode] [mode,mode,...]
 *     node --cpu-prof --import tsx bench/probes/append-cpu.ts 3000 engine-write-first   (a profile of one mode)
 */
import { performance } from 'node:perf_hooks';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { ResourceMeter } from '../harness/resources.js';
import { contentionMode, SINGLE_RECORD_SHAPE } from '../suites/contention-modes.js';

const appends = Number(process.argv[2] ?? 2000);
const modes = (process.argv[3] ?? 'raw,engine-write-first,engine-reserve').split(',');
const TABLE = 'append-cpu';

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const meter = new ResourceMeter();
  console.log('| mode | appends | CPU ms per append (this process) | DynamoDB Local CPU ms per append | wall ms per append |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const name of modes) {
    const mode = contentionMode(name);
    const scope = { tableName: TABLE, scope: `${name}-${Date.now()}`, shape: SINGLE_RECORD_SHAPE, deadlineMs: 10_000 };
    await mode.prepare?.(dynamo, scope);
    const writer = await mode.open(dynamo, scope);
    // Warm: the first appends compile the code.
    for (let i = 0; i < Math.min(500, appends); i++) await writer.append();
    const cpu = process.cpuUsage();
    const stop = meter.start();
    const started = performance.now();
    for (let i = 0; i < appends; i++) await writer.append();
    const used = process.cpuUsage(cpu);
    const wall = performance.now() - started;
    const dynamoMs = (stop().dynamoCores * wall) / appends;
    console.log(
      `| ${name} | ${appends} | ${((used.user + used.system) / 1000 / appends).toFixed(3)} | ${dynamoMs.toFixed(3)} | ${(wall / appends).toFixed(2)} |`,
    );
  }
} finally {
  await dynamoLocal.stop();
}
