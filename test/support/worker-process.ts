/**
 * One append worker process (test/support/append-worker.ts) and its plumbing, shared by
 * the multi-process checker and the chaos suite's append workers: spawn with a config
 * and a fault profile, read its protocol lines, keep the tail of its stderr, and judge
 * its exit once its stdout has ended (so every line it wrote is in).
 *
 *     spawnWorkerProcess(config, profile) ──▶ node --import tsx append-worker.ts
 *        STRATA_MP_WORKER = config              stdout: one JSON event a line ──▶ onEvent
 *        STRATA_CHAOS = profile + seed          stderr: kept (last 4,000 chars) ──▶ onStderr
 *                                               exit + stdout closed ──▶ onExit(expected?)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChaosSpec } from '../../local/chaos.js';
import { WORKER_CONFIG_ENV, type WorkerConfig, type WorkerEvent } from './worker-protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: the workers run from there. */
export const REPO_ROOT = path.resolve(here, '../..');
const WORKER_ENTRY = path.join(here, 'append-worker.ts');
/** The tail of a worker's stderr kept for the report of an unexpected exit. */
const STDERR_TAIL_CHARS = 4_000;

/** What the runner knows of one worker process; `P` is what it keeps per request in flight. */
export interface WorkerProcess<P> {
  name: string;
  slot: number;
  /** When it was spawned (ms since the epoch). */
  spawnedAt: number;
  child: ChildProcess;
  ready: boolean;
  stopping: boolean;
  killedBy: 'parent' | 'stop' | undefined;
  crashPoint: string | undefined;
  pending: Map<number, P>;
  stderr: string;
  errors: string[];
  exited: Promise<void>;
}

export interface SpawnOptions<P> {
  config: WorkerConfig;
  /** Per-call fault rates (local/chaos.ts); none: the worker runs without faults. */
  faults?: Partial<ChaosSpec>;
  /** Where the worker's fault middleware logs what it injected. */
  faultLog: string;
  /** Extra environment for the worker. */
  env?: NodeJS.ProcessEnv;
  onEvent(w: WorkerProcess<P>, event: WorkerEvent): void;
  /** Every chunk of stderr (the tail is kept in `w.stderr` anyway). */
  onStderr?(chunk: Buffer): void;
  /**
   * The worker exited and its stdout ended. `expected`: killed by the runner with
   * SIGKILL, crashed at a crash point, or stopped cleanly; otherwise `why` says what it wrote.
   */
  onExit(w: WorkerProcess<P>, outcome: { expected: boolean; why: string }): void;
}

export function spawnWorkerProcess<P>(slot: number, options: SpawnOptions<P>): WorkerProcess<P> {
  const { config } = options;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) };
  if (options.faults && Object.keys(options.faults).length > 0) {
    env.STRATA_CHAOS = JSON.stringify({ ...options.faults, seed: config.seed, logFile: options.faultLog });
  } else {
    delete env.STRATA_CHAOS;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const w: WorkerProcess<P> = {
    name: config.name,
    slot,
    spawnedAt: Date.now(),
    child,
    ready: false,
    stopping: false,
    killedBy: undefined,
    crashPoint: undefined,
    pending: new Map(),
    stderr: '',
    errors: [],
    exited: Promise.resolve(),
  };
  child.stdin!.on('error', () => undefined);
  child.stderr!.on('data', (d: Buffer) => {
    w.stderr = (w.stderr + d.toString()).slice(-STDERR_TAIL_CHARS);
    options.onStderr?.(d);
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let event: WorkerEvent;
    try {
      event = JSON.parse(line) as WorkerEvent;
    } catch {
      w.errors.push(`not a protocol line: ${line.slice(0, 200)}`);
      return;
    }
    options.onEvent(w, event);
  });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  );
  const drained = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  w.exited = Promise.all([exit, drained]).then(([[code, signal]]) => {
    const expected = (w.killedBy !== undefined && signal === 'SIGKILL') || w.crashPoint !== undefined || (code === 0 && w.stopping);
    const why = `${w.name} exited with ${signal ?? code}: ${[...w.errors, w.stderr.trim()].join(' | ').slice(-1_500)}`;
    options.onExit(w, { expected, why });
  });
  return w;
}
