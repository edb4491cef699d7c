/**
 * Where the CPU goes during a measurement: this Node process (HTTP clients, server,
 * engine and SDK all share its one JavaScript thread), how busy that thread's event
 * loop is, and the DynamoDB Local JVM. On a small machine these say which side is the
 * bottleneck: an event loop near 100% means Node limits throughput, not DynamoDB Local.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { formatPercent } from './stats.js';

const DYNAMODB_LOCAL_JAR = 'DynamoDBLocal.jar';
/** Linux's usual USER_HZ, used when `getconf CLK_TCK` cannot be run. */
const DEFAULT_CLOCK_TICKS_PER_SECOND = 100;
/** Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name. */
const STAT_UTIME_INDEX = 11;
const STAT_STIME_INDEX = 12;
const STAT_PPID_INDEX = 1;

export interface ResourceUsage {
  /** CPU of this Node process (all its threads) in cores, e.g. 0.9 = 90% of one core. */
  nodeCores: number;
  /** Share of wall time the main event loop was busy (0..1). */
  nodeEventLoop: number;
  /** CPU of DynamoDB Local in cores; NaN where /proc is not available. */
  dynamoCores: number;
}

/** A table's CPU columns, filled by `resourceCells`: shares of one core, the event loop's busy share. */
export const RESOURCE_COLUMNS = ['Node CPU', 'event loop', 'DDB Local CPU'];

export function resourceCells(usage: ResourceUsage): string[] {
  return [formatPercent(usage.nodeCores), formatPercent(usage.nodeEventLoop), formatPercent(usage.dynamoCores)];
}

/** Resource use over several measurements, each weighted by how long it took. */
export function meanUsage(parts: readonly { ms: number; resources: ResourceUsage }[]): ResourceUsage {
  const ms = parts.reduce((sum, p) => sum + p.ms, 0);
  const weighted = (pick: (usage: ResourceUsage) => number) => parts.reduce((sum, p) => sum + pick(p.resources) * p.ms, 0) / ms;
  return {
    nodeCores: weighted((u) => u.nodeCores),
    nodeEventLoop: weighted((u) => u.nodeEventLoop),
    dynamoCores: weighted((u) => u.dynamoCores),
  };
}

interface Sample {
  wallMs: number;
  cpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
  javaTicks: number;
}

export class ResourceMeter {
  private readonly javaPid: number | undefined;
  private readonly ticksPerSecond: number;

  constructor() {
    this.javaPid = findDynamoDbLocalPid();
    this.ticksPerSecond = clockTicksPerSecond();
  }

  start(): () => ResourceUsage {
    const begin = this.sample();
    return () => {
      const end = this.sample();
      const wallSeconds = (end.wallMs - begin.wallMs) / 1000;
      const cpuMicros = end.cpu.user - begin.cpu.user + (end.cpu.system - begin.cpu.system);
      return {
        nodeCores: cpuMicros / 1e6 / wallSeconds,
        nodeEventLoop: performance.eventLoopUtilization(end.elu, begin.elu).utilization,
        dynamoCores: (end.javaTicks - begin.javaTicks) / this.ticksPerSecond / wallSeconds,
      };
    };
  }

  private sample(): Sample {
    return {
      wallMs: performance.now(),
      cpu: process.cpuUsage(),
      elu: performance.eventLoopUtilization(),
      javaTicks: this.javaPid === undefined ? Number.NaN : processTicks(this.javaPid),
    };
  }
}

/** The DynamoDB Local JVM that the local stack started as a child of this process. */
function findDynamoDbLocalPid(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      if (Number(fields[STAT_PPID_INDEX]) !== process.pid) continue;
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (commandLine.includes(DYNAMODB_LOCAL_JAR)) return Number(entry);
    } catch {
      // The process ended while we looked: not ours to measure.
    }
  }
  return undefined;
}

function processTicks(pid: number): number {
  try {
    const fields = statFields(pid);
    return Number(fields[STAT_UTIME_INDEX]) + Number(fields[STAT_STIME_INDEX]);
  } catch {
    return Number.NaN;
  }
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : DEFAULT_CLOCK_TICKS_PER_SECOND;
  } catch {
    return DEFAULT_CLOCK_TICKS_PER_SECOND;
  }
}
