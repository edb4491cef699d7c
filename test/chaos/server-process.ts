/**
 * The local stack as the chaos suite runs it: `local/start.ts` (what `npm start` runs) in
 * a separate process on a fixed port and data directory, killed with SIGKILL and started
 * again on the same data, each incarnation with its own STRATA_CHAOS fault profile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosSpec } from '../../local/chaos.js';

/** tsx and s3rver start in a few seconds; two cores under load take longer. */
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
/** How often the group members' push channels ping (STRATA_PUSH_PING_MS). */
export const CHAOS_PUSH_PING_MS = 2_000;

export interface ServerProcessOptions {
  dataDir: string;
  port: number;
  compactIntervalMs: number;
  /** Independent engines serving requests (STRATA_LOCAL_ENGINES); default 1. */
  engines?: number;
  /** The engines' sequencing (STRATA_SEQUENCING); the engine's default when absent. */
  sequencing?: 'optimistic' | 'reserve' | 'write-first';
  /** Where the server logs the offsets it seals (STRATA_VOID_LOG). */
  voidLog?: string;
  /**
   * The DynamoDB Local the run started (STRATA_DYNAMODB_ENDPOINT): every incarnation uses
   * it and none starts or stops one, so the server's SIGKILLs leave DynamoDB running as
   * they would on AWS (docs/reliability.md says why DynamoDB Local must not be restarted
   * under writers).
   */
  dynamoEndpoint: string;
  /**
   * A fixed s3rver port (STRATA_S3_PORT), the same for every incarnation, so processes
   * beside the server (the chaos run's append workers) keep their endpoint across
   * restarts; a free port picked per start when absent.
   */
  s3Port?: number;
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output = '';
  /** Incarnations started so far. */
  starts = 0;
  kills = 0;

  constructor(private readonly options: ServerProcessOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** s3rver's endpoint (with a fixed port only). */
  get s3Endpoint(): string {
    return `http://127.0.0.1:${this.options.s3Port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts an incarnation with the given fault profile (none: no STRATA_CHAOS); resolves once it serves. */
  async start(chaos: Partial<ChaosSpec> | undefined): Promise<void> {
    if (this.child) throw new Error('the server is already running');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STRATA_DATA_DIR: this.options.dataDir,
      PORT: String(this.options.port),
      STRATA_COMPACT_INTERVAL_MS: String(this.options.compactIntervalMs),
      STRATA_LOCAL_ENGINES: String(this.options.engines ?? 1),
      // The group members wait on the push endpoint: a notification the faults lose is
      // made up by the next ping's watermarks, every 2 s here (2 minutes as deployed).
      STRATA_PUSH_PING_MS: String(CHAOS_PUSH_PING_MS),
      ...(this.options.sequencing ? { STRATA_SEQUENCING: this.options.sequencing } : {}),
      ...(this.options.voidLog ? { STRATA_VOID_LOG: this.options.voidLog } : {}),
      STRATA_DYNAMODB_ENDPOINT: this.options.dynamoEndpoint,
      ...(this.options.s3Port ? { STRATA_S3_PORT: String(this.options.s3Port) } : {}),
      // Injected faults make the engine log errors by design; they go to server.log.
      POWERTOOLS_LOG_LEVEL: process.env.STRATA_CHAOS_SERVER_LOG_LEVEL ?? 'ERROR',
    };
    if (chaos) env.STRATA_CHAOS = JSON.stringify(chaos);
    else delete env.STRATA_CHAOS;
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      cwd: process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts += 1;
    this.output = '';
    const logFile = join(this.options.dataDir, 'server.log');
    appendFileSync(
      logFile,
      `--- start #${this.starts} pid ${child.pid} ${new Date().toISOString()} STRATA_CHAOS=${env.STRATA_CHAOS ?? ''}\n`,
    );
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
      appendFileSync(logFile, d);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${this.output}`)), START_TIMEOUT_MS);
      const onData = () => {
        if (this.output.includes('Strata is running at')) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${signal ?? code}) while starting:\n${this.output}`));
      });
    }).catch(async (err: unknown) => {
      await this.kill();
      throw err;
    });
  }

  /** SIGKILL: no cleanup runs (s3rver dies with the server; the run's DynamoDB Local runs on). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.kills += 1;
    appendFileSync(join(this.options.dataDir, 'server.log'), `--- SIGKILL #${this.kills} pid ${child.pid} ${new Date().toISOString()}\n`);
    child.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /** SIGTERM: a clean stop (emulators closed); SIGKILL if it hangs. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  lastOutput(): string {
    return this.output;
  }
}
