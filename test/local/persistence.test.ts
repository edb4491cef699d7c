/**
 * The persistent mode of DynamoDB Local as `npm start` uses it: data survives a crash
 * of the Java process, and a DynamoDB Local orphaned by a killed `npm start` is found
 * through its pidfile and stopped before a new one opens the same database.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DYNAMODB_LOCAL_PIDFILE,
  type DynamoDbLocal,
  ensureTable,
  isProcessAlive,
  localDynamoClient,
  startDynamoDbLocal,
} from '../../local/emulators.js';

const TABLE = 'strata-local';
const ITEM_KEY = { pk: { S: 'topic#orders' }, sk: { S: 'meta' } };
const EXIT_POLL_INTERVAL_MS = 50;
const EXIT_TIMEOUT_MS = 10_000;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Plays `npm start`: starts DynamoDB Local on the data directory given as its argument,
 * prints its pid and port, then idles until the test SIGKILLs it.
 */
const ORPHANING_PARENT_SCRIPT = `
  import { startDynamoDbLocal } from ${JSON.stringify(new URL('../../local/emulators.ts', import.meta.url).href)};
  const dynamo = await startDynamoDbLocal({ dataDir: process.argv[1] });
  console.log(JSON.stringify({ pid: dynamo.pid, port: dynamo.port }));
  setInterval(() => {}, 60_000);
`;
/** Outlives the test by far; the test kills it. */
const BYSTANDER_SECONDS = '60';

async function waitForExit(pid: number): Promise<void> {
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still alive`);
    await sleep(EXIT_POLL_INTERVAL_MS);
  }
}

describe('DynamoDB Local with a data directory', () => {
  let dataDir: string;
  const started: DynamoDbLocal[] = [];
  const start = async (port?: number) => {
    const instance = await startDynamoDbLocal({ dataDir, port });
    started.push(instance);
    return instance;
  };
  const pidFile = () => path.join(dataDir, DYNAMODB_LOCAL_PIDFILE);

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strata-test-ddb-'));
  });

  /** Processes a failed test could leave behind. */
  const strays: number[] = [];

  afterEach(async () => {
    await Promise.all(started.splice(0).map((instance) => instance.stop()));
    for (const pid of strays.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps written items across a SIGKILL of the Java process, once their commit has run', async () => {
    const first = await start();
    const client = localDynamoClient(first.endpoint);
    await ensureTable(client, TABLE);
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...ITEM_KEY, partitions: { N: '3' } } }));
    // DynamoDB Local answers a write before its SQLite commit runs on its queue; a read
    // waits behind that commit (docs/reliability.md, "DynamoDB Local answers before it commits").
    await client.send(new GetItemCommand({ TableName: TABLE, Key: ITEM_KEY, ConsistentRead: true }));
    client.destroy();

    process.kill(first.pid, 'SIGKILL');
    await waitForExit(first.pid);

    const second = await start();
    const reopened = localDynamoClient(second.endpoint);
    const { Item } = await reopened.send(new GetItemCommand({ TableName: TABLE, Key: ITEM_KEY, ConsistentRead: true }));
    reopened.destroy();
    expect(Item).toEqual({ ...ITEM_KEY, partitions: { N: '3' } });
  });

  it('stops the DynamoDB Local orphaned by a SIGKILLed parent, freeing its port', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', ORPHANING_PARENT_SCRIPT, dataDir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    strays.push(parent.pid as number);
    const parentExited = new Promise((resolve) => parent.once('exit', resolve));
    const [line] = await once(createInterface({ input: parent.stdout! }), 'line');
    const orphan = JSON.parse(line as string) as { pid: number; port: number };
    strays.push(orphan.pid);
    parent.kill('SIGKILL');
    await parentExited;
    expect(isProcessAlive(orphan.pid)).toBe(true);
    expect((await readFile(pidFile(), 'utf8')).trim()).toBe(String(orphan.pid));

    const replacement = await start(orphan.port);

    expect(isProcessAlive(orphan.pid)).toBe(false);
    expect((await readFile(pidFile(), 'utf8')).trim()).toBe(String(replacement.pid));
    const client = localDynamoClient(replacement.endpoint);
    await ensureTable(client, TABLE);
    client.destroy();

    await replacement.stop();
    await expect(readFile(pidFile(), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves alone a process that reuses the pid but is not DynamoDB Local', async () => {
    const bystander = spawn('sleep', [BYSTANDER_SECONDS], { stdio: 'ignore' });
    strays.push(bystander.pid as number);
    await writeFile(pidFile(), `${bystander.pid}\n`);

    await start();

    expect(isProcessAlive(bystander.pid as number)).toBe(true);
  });
});
