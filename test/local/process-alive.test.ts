/**
 * `isProcessAlive`, which `npm start` relies on before it opens the data of a DynamoDB
 * Local it stopped: a process whose main thread has exited while another thread runs on
 * (as a JVM's does while it shuts down) shows a zombie leader in /proc/<pid>/stat, yet is
 * still running.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../local/emulators.js';

/** python3 ends its main thread (pthread_exit) and keeps a second one running for 3 s. */
const MAIN_THREAD_EXITS_FIRST = `
import ctypes, threading, time, sys
def later():
    time.sleep(3)
threading.Thread(target=later).start()
print("ready", flush=True)
ctypes.CDLL(None).pthread_exit(None)
`;
const hasPython = process.platform === 'linux' && spawnSync('python3', ['--version']).status === 0;

describe('isProcessAlive', () => {
  it('is false for a process that exited and true for this one', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    expect(isProcessAlive(child.pid!)).toBe(false);
    expect(isProcessAlive(process.pid)).toBe(true);
  });

  it.skipIf(!hasPython)('counts a process whose main thread exited first as running until its last thread ends', async () => {
    const child = spawn('python3', ['-c', MAIN_THREAD_EXITS_FIRST], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    await once(child.stdout!, 'data');
    await sleep(300);
    // The leader is a zombie now, but the second thread still sleeps.
    expect(isProcessAlive(child.pid!)).toBe(true);
    await exited;
    expect(isProcessAlive(child.pid!)).toBe(false);
  });
});
