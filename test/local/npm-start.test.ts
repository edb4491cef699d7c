/**
 * `npm start` as a user runs it: a real process with its own data directory. It must
 * print its URL, keep every acknowledged record across a SIGKILL (which orphans the
 * DynamoDB Local child), stop cleanly on Ctrl-C, and say what to install without Java.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort, isProcessAlive } from '../../local/emulators.js';
import { apiClient } from '../support/local-stack.js';

const START_TIMEOUT_MS = 45_000;
const dirs: string[] = [];
const children: ChildProcess[] = [];

/** Stops a leftover `npm start` gracefully (SIGTERM stops its DynamoDB Local too), then by force. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

afterAll(async () => {
  for (const child of children) await stopChild(child);
  for (const dir of dirs) {
    // A DynamoDB Local orphaned by the SIGKILL (if the test failed before the restart reaped it).
    const pidfile = join(dir, 'dynamodb', 'dynamodb-local.pid');
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, 'utf8'));
      if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  }
});

function start(dataDir: string, port: number, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: process.cwd(),
    env: { ...env, STRATA_DATA_DIR: dataDir, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not become ready:\n${output}`)), START_TIMEOUT_MS);
    child.stdout!.on('data', () => {
      const match = /Strata is running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited, output: () => output };
}

describe('npm start', () => {
  it('keeps every acknowledged record across a SIGKILL and restarts on the same data', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-start-'));
    dirs.push(dataDir);
    const first = start(dataDir, await findFreePort());
    const url = await first.ready;
    const api = apiClient(url);
    expect((await api('POST', '/v1/topics', { name: 'durable', partitions: 2 })).status).toBe(201);
    const acked: { partition: number; offset: number; value: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const values = [`v${i}a`, `v${i}b`];
      const res = await api('POST', '/v1/topics/durable/records', { records: values.map((value) => ({ value })) });
      expect(res.status).toBe(200);
      for (const [k, o] of (res.body.offsets as { partition: number; offset: number }[]).entries()) acked.push({ ...o, value: values[k]! });
    }
    first.child.kill('SIGKILL');
    await first.exited;

    const second = start(dataDir, await findFreePort());
    const api2 = apiClient(await second.ready);
    for (const partition of [0, 1]) {
      const page = await api2('GET', `/v1/topics/durable/partitions/${partition}/records?offset=0&maxRecords=1000`);
      const stored = new Map(page.body.records.map((r: { offset: number; value: string }) => [r.offset, r.value]));
      for (const a of acked.filter((x) => x.partition === partition)) expect(stored.get(a.offset)).toBe(a.value);
    }

    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('Stopped');
    expect(existsSync(join(dataDir, 'dynamodb', 'dynamodb-local.pid'))).toBe(false);
    // Two starts of the whole stack (two JVMs, the server compiled by tsx twice): about 10 s
    // alone, over 30 s once on a fresh-clone run while another job shared the 2 cores.
  }, 90_000);

  it('refuses a STRATA_DYNAMODB_ENDPOINT that is not an http(s) URL, saying what one looks like', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-endpoint-'));
    dirs.push(dataDir);
    const run = start(dataDir, await findFreePort(), { ...process.env, STRATA_DYNAMODB_ENDPOINT: 'localhost:8000' });
    await expect(run.ready).rejects.toThrow(
      /STRATA_DYNAMODB_ENDPOINT must be an http\(s\) URL of a running DynamoDB, e\.g\. http:\/\/127\.0\.0\.1:8000; got 'localhost:8000'/,
    );
    expect(await run.exited).toBe(1);
  });

  it('says what to install when Java is missing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-nojava-'));
    dirs.push(dataDir);
    const run = start(dataDir, await findFreePort(), { ...process.env, PATH: '/nonexistent' });
    await expect(run.ready).rejects.toThrow(/Java 17/);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/install/i);
  });
});
