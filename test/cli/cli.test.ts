/**
 * The `strata` binary as users run it: built with esbuild exactly as `npm run build`
 * builds it, spawned as a child process with pipes (not a terminal) against the local
 * stack.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../cli/build.js';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let bin: string;
// Under the repository so that the bundle's bare imports resolve from node_modules.
const workDir = join(process.cwd(), '.tmp', `cli-test-${process.pid}`);

beforeAll(async () => {
  await mkdir(workDir, { recursive: true });
  [stack, bin] = await Promise.all([startTestStack(), buildCli(workDir)]);
});
afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function strata(args: string[], options: { input?: Buffer | string; url?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--url', options.url ?? stack.url, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, STRATA_URL: '' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(options.input ?? '');
  });
}

const ESC = '\u001b[';

describe('strata CLI', () => {
  it('creates, lists, describes, configures and deletes topics, in text and JSON', async () => {
    const created = await strata(['topics', 'create', 'cli-topics', '--partitions', '3', '--config', 'retentionMs=3600000']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.toString()).toContain('created topic cli-topics with 3 partition(s)');
    const list = await strata(['--json', 'topics', 'list']);
    expect(JSON.parse(list.stdout.toString()).topics.map((t: { name: string }) => t.name)).toContain('cli-topics');
    const described = await strata(['topics', 'describe', 'cli-topics']);
    expect(described.stdout.toString()).toMatch(/PARTITION\s+LOG START\s+HIGH WATERMARK/);
    expect(described.stdout.toString()).toContain('retentionMs=3600000');
    const config = await strata(['--json', 'topics', 'config', 'cli-topics', 'cleanupPolicy=compact']);
    expect(JSON.parse(config.stdout.toString())).toMatchObject({ cleanupPolicy: 'compact', retentionMs: 3600000 });
    expect((await strata(['topics', 'delete', 'cli-topics'])).code).toBe(0);
  });

  it('produces a file and consumes it back byte-identical, with no progress bar in a pipe', async () => {
    expect((await strata(['topics', 'create', 'cli-bytes'])).code).toBe(0);
    // Lines of arbitrary bytes (not UTF-8), without newlines inside a line.
    const lines = Array.from({ length: 3000 }, (_, i) =>
      Buffer.concat([Buffer.from(`${i}:`), randomBytes(64 + (i % 200))]).map((b) => (b === 10 ? 11 : b)),
    );
    const file = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const path = join(workDir, 'input.bin');
    await writeFile(path, file);

    const produced = await strata(['produce', 'cli-bytes', '--file', path, '--batch-records', '500']);
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).toMatch(/^produced 3000 record\(s\), [\d.]+ MB in [\d.]+ s\n$/);
    expect(produced.stdout.length).toBe(0);

    const consumed = await strata(['consume', 'cli-bytes', '--from', 'earliest']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.equals(file)).toBe(true);
    expect(consumed.stderr).toBe('');
    // Binary batches by default; JSON when asked, with the same bytes out.
    const asJson = await strata(['--read-format', 'json', 'consume', 'cli-bytes', '--from', 'earliest']);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(asJson.stdout.equals(file)).toBe(true);
    // No escape sequences (the bar, cursor control) anywhere but in the data itself.
    expect(produced.stderr).not.toContain(ESC);
    expect(consumed.stderr).not.toContain(ESC);
    expect((await readFile(path)).equals(file)).toBe(true);
  });

  // `script` (util-linux) gives the child a pseudo-terminal, as a person's shell would.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('shows a progress bar with records/s and MB/s on a terminal', async () => {
    await strata(['topics', 'create', 'cli-tty']);
    const path = join(workDir, 'tty.txt');
    await writeFile(path, Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(''));
    const command = [process.execPath, bin, '--url', stack.url, 'produce', 'cli-tty', '--file', path].map((a) => `'${a}'`).join(' ');
    // Asynchronous: the server under test runs in this process.
    const run = await new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString() }));
    });
    expect(run.status, run.stdout).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal's ANSI escape sequences (ESC [ … letter)
    const screen = run.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '\n');
    expect(screen).toMatch(/produce cli-tty \[.*\] 100% \| 2000 records \| [\d,]+ rec\/s \| [\d.]+ MB\/s/);
    expect(screen).toContain('produced 2000 record(s)');
  });

  it('produces JSON lines with keys and headers, consumes as JSON from an offset, shows offsets', async () => {
    await strata(['topics', 'create', 'cli-json', '--partitions', '2']);
    const input = [
      '{"key":"a","value":"one","headers":{"h":"x"}}',
      '{"key":"b","value":{"n":2},"partition":1}',
      '',
      '{"value":"three","partition":0}',
    ].join('\n');
    const produced = await strata(['--json', 'produce', 'cli-json', '--format', 'json'], { input });
    expect(produced.code, produced.stderr).toBe(0);
    expect(JSON.parse(produced.stdout.toString())).toMatchObject({ topic: 'cli-json', records: 3 });
    const consumed = await strata(['--json', 'consume', 'cli-json', '--partition', '1']);
    const records = consumed.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.value)).toContain('{"n":2}');
    const offsets = await strata(['--json', 'offsets', 'cli-json']);
    const total = JSON.parse(offsets.stdout.toString()).offsets.reduce((n: number, o: { latest: number }) => n + o.latest, 0);
    expect(total).toBe(3);
    const limited = await strata(['consume', 'cli-json', '--max-records', '1']);
    expect(limited.stdout.toString().split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('consumes as a group, commits, and shows the group and its lag', async () => {
    await strata(['topics', 'create', 'cli-group', '--partitions', '2']);
    await strata(['produce', 'cli-group', '--key-separator', ':'], { input: 'k1:v1\nk2:v2\nk3:v3\nk4:v4\n' });
    const first = await strata(['consume', 'cli-group', '--group', 'cli-g']);
    expect(first.stdout.toString().split('\n').filter(Boolean).sort()).toEqual(['v1', 'v2', 'v3', 'v4']);
    const again = await strata(['consume', 'cli-group', '--group', 'cli-g']);
    expect(again.stdout.toString()).toBe('');
    const offsets = await strata(['--json', 'groups', 'offsets', 'cli-g']);
    const rows = JSON.parse(offsets.stdout.toString()).offsets;
    expect(rows.reduce((n: number, o: { offset: number }) => n + o.offset, 0)).toBe(4);
    expect(rows.every((o: { lag: number }) => o.lag === 0)).toBe(true);
    const reset = await strata([
      'groups',
      'commit',
      'cli-g',
      '--topic',
      'cli-group',
      '--partition',
      String(rows[0].partition),
      '--offset',
      '0',
    ]);
    expect(reset.code, reset.stderr).toBe(0);
    const replay = await strata(['consume', 'cli-group', '--group', 'cli-g']);
    expect(replay.stdout.toString().split('\n').filter(Boolean).length).toBe(rows[0].offset);
    const described = await strata(['groups', 'describe', 'cli-g']);
    expect(described.stdout.toString()).toContain('has no live members');
  });

  it('exits with a code and a message that says what to do', async () => {
    const missing = await strata(['topics', 'describe', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('TOPIC_NOT_FOUND');
    expect(missing.stderr).toContain('strata topics create');
    const usage = await strata(['topics', 'create', 'x', '--partitions', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('partitions must be a whole number');
    const badJson = await strata(['produce', 'whatever', '--format', 'json'], { input: 'not json\n' });
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('line 1 is not JSON');
    const bothPolicies = await strata(['produce', 'whatever', '--linger-ms', '5', '--latency-budget-ms', '100'], { input: 'a\n' });
    expect(bothPolicies.code).toBe(2);
    expect(bothPolicies.stderr).toContain('--linger-ms and --latency-budget-ms do not go together');
    const down = await strata(['topics', 'list'], { url: 'http://127.0.0.1:9' });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:9');
    const help = await strata(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain('Examples:');
  });
});
