/**
 * The rounds of the CPU probes (bench/probes/*-cpu.ts). The forms take turns, each round
 * in another order (round r starts at form r), and each figure is the median over the
 * rounds: the machine's drift (other work, the JVM's compiler and collector) falls on
 * every form alike instead of on whichever ran last.
 *
 *     round 0: a b c    round 1: b c a    round 2: c a b    …   → median per form
 */
import { performance } from 'node:perf_hooks';
import type { ResourceMeter } from './resources.js';
import { summarize } from './stats.js';

/** One form's figures in one round, in ms per unit of its work (an append, a call, a put). */
export interface CpuSample {
  /** This process's CPU. */
  writer: number;
  /** DynamoDB Local's CPU (NaN when the meter found no DynamoDB Local of this process). */
  dynamo: number;
  wall: number;
}

export interface CpuRounds<N extends string> {
  names: readonly N[];
  rounds: number;
  /** Units of work one `run` does: the samples are per unit. */
  units: number;
  meter: ResourceMeter;
  /** The measured work of one form in one round. */
  run(name: N, round: number): Promise<void>;
  /** Unmeasured preparation before each `run` (items its calls need, say). */
  before?(name: N, round: number): Promise<void>;
}

/** Every form's samples, one a round, in the order of `names`. */
export async function cpuRounds<N extends string>(spec: CpuRounds<N>): Promise<Map<N, CpuSample[]>> {
  const samples = new Map(spec.names.map((name) => [name, [] as CpuSample[]]));
  for (let round = 0; round < spec.rounds; round++) {
    for (let i = 0; i < spec.names.length; i++) {
      const name = spec.names[(round + i) % spec.names.length]!;
      await spec.before?.(name, round);
      const cpu = process.cpuUsage();
      const stop = spec.meter.start();
      const started = performance.now();
      await spec.run(name, round);
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      samples.get(name)!.push({
        writer: (used.user + used.system) / 1000 / spec.units,
        dynamo: (stop().dynamoCores * wall) / spec.units,
        wall: wall / spec.units,
      });
    }
  }
  return samples;
}

/** The median of one figure over a form's rounds. */
export function medianOf(samples: readonly CpuSample[], figure: keyof CpuSample): number {
  return summarize(samples.map((s) => s[figure])).p50;
}
