/**
 * Reads the log that local/chaos.ts appends to in the server processes: one line per
 * injected fault (`<ms> <pid> <service> <kind> <command>`) and the running call totals
 * of each process every second (`<ms> <pid> calls dynamodb=N s3=M`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CHAOS_KINDS, type ChaosKind, type ChaosService } from '../../local/chaos.js';

export interface FaultTally {
  /** Injected faults by service and kind (exact: each was written before it was thrown). */
  injected: Record<ChaosService, Record<ChaosKind, number>>;
  /** Injected faults by `service kind command`. */
  byCommand: Record<string, number>;
  /** SDK calls seen by the middleware (a lower bound: up to a second is lost at each SIGKILL). */
  calls: Record<ChaosService, number>;
}

export function readFaultLog(file: string): FaultTally {
  const zero = () => Object.fromEntries(CHAOS_KINDS.map((k) => [k, 0])) as Record<ChaosKind, number>;
  const tally: FaultTally = { injected: { dynamodb: zero(), s3: zero() }, byCommand: {}, calls: { dynamodb: 0, s3: 0 } };
  if (!existsSync(file)) return tally;
  const lastCalls = new Map<string, { dynamodb: number; s3: number }>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const parts = line.split(' ');
    if (parts.length < 4) continue;
    const [, pid, what, ...rest] = parts;
    if (what === 'calls') {
      const n = (name: string) => Number(rest.find((r) => r.startsWith(`${name}=`))?.slice(name.length + 1) ?? 0);
      lastCalls.set(pid!, { dynamodb: n('dynamodb'), s3: n('s3') });
      continue;
    }
    const service = what as ChaosService;
    const kind = rest[0] as ChaosKind;
    if (!(service in tally.injected) || !CHAOS_KINDS.includes(kind)) continue;
    tally.injected[service][kind] += 1;
    const key = `${service} ${kind} ${rest[1] ?? '?'}`;
    tally.byCommand[key] = (tally.byCommand[key] ?? 0) + 1;
  }
  for (const c of lastCalls.values()) {
    tally.calls.dynamodb += c.dynamodb;
    tally.calls.s3 += c.s3;
  }
  return tally;
}
