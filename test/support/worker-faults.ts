/**
 * Faults of a worker process itself, beside the SDK faults of local/chaos.ts: an AWS
 * round-trip latency on every SDK attempt, and named points where the process SIGKILLs
 * itself or pauses. A point is a name and a probability per passage; three families:
 *
 *     worker:afterSend, worker:beforeResult   the worker's own request loop
 *     sdk:<Command>:before | :after            around one SDK attempt (inside the SDK's
 *                                              retries), e.g. sdk:TransactWriteItemsCommand:after
 *     engine:<hook>                            a hook the engine calls (engineHooks)
 *
 * A kill is announced on stdout first ({"t":"crash"}), written synchronously, so the
 * parent can tell it from a crash of the harness.
 *
 *     worker          SDK attempt                    DynamoDB
 *     append ──────▶ [sleep ½ latency]
 *                    sdk:X:before? ✗ killed          (nothing sent)
 *                    next(args) ──────────────────▶ applied
 *                    sdk:X:after?  ✗ killed ◀──────  answer never heard
 *                    [sleep ½ latency] ──▶ engine
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { StallSpec, WorkerEvent } from './worker-protocol.js';

/** Decides at named points whether the process dies, pauses or goes on. */
export class CrashPoints {
  constructor(
    private readonly crashes: Record<string, number>,
    private readonly stalls: Record<string, StallSpec>,
    private readonly random: () => number,
    private readonly emit: (event: WorkerEvent) => void,
  ) {}

  /** True when some point of this name is configured (so callers can skip the middleware). */
  has(point: string): boolean {
    return point in this.crashes || point in this.stalls;
  }

  /** Names of the configured points that start with `prefix`. */
  named(prefix: string): string[] {
    return [...new Set([...Object.keys(this.crashes), ...Object.keys(this.stalls)])].filter((p) => p.startsWith(prefix));
  }

  /** Passes the point: maybe dies here (never returns), maybe pauses, else returns at once. */
  async pass(point: string): Promise<void> {
    const crash = this.crashes[point];
    if (crash !== undefined && this.random() < crash) this.die(point);
    const stall = this.stalls[point];
    if (stall !== undefined && this.random() < stall.probability) {
      const ms = stall.ms[0] + Math.floor(this.random() * (stall.ms[1] - stall.ms[0] + 1));
      this.emit({ t: 'stall', point, ms });
      await sleep(ms);
    }
  }

  /** SIGKILL, as a Lambda environment dies: no finally block, no flush of anything. */
  die(point: string): never {
    this.emit({ t: 'crash', point });
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is not delivered synchronously on every platform; make sure nothing runs on.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
  }

  /**
   * The hooks an engine can call by name (`engine:<hook>` points), to be passed through
   * the EngineOptions field the configuration names.
   */
  engineHooks(): Record<string, () => Promise<void>> {
    return Object.fromEntries(this.named('engine:').map((point) => [point.slice('engine:'.length), () => this.pass(point)]));
  }
}

type Stack = DynamoDBClient['middlewareStack'];

/**
 * Adds the latency model and the `sdk:` points to both clients, once per SDK attempt:
 * inside the SDK's retry loop and outside its deserializer (so `:after` means the service
 * answered success), as AWS's round trip is paid.
 */
export function installWorkerMiddleware(
  clients: { dynamo: DynamoDBClient; s3: S3Client },
  latencyMs: [number, number],
  points: CrashPoints,
  random: () => number,
): void {
  const half = () => (latencyMs[0] + random() * (latencyMs[1] - latencyMs[0])) / 2;
  const install = (stack: Stack) =>
    stack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const before = `sdk:${command}:before`;
        const after = `sdk:${command}:after`;
        await sleep(half());
        if (points.has(before)) await points.pass(before);
        try {
          const result = await next(args);
          if (points.has(after)) await points.pass(after);
          return result;
        } finally {
          await sleep(half());
        }
      },
      { step: 'deserialize', name: 'strataWorkerMiddleware', priority: 'high' },
    );
  install(clients.dynamo.middlewareStack);
  install(clients.s3.middlewareStack as unknown as Stack);
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
