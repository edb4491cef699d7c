/**
 * StateMachine (lib/core/state-machine.ts): the driver of the lifecycles written as a
 * transition table (the sequencers' commits).
 */
import { describe, expect, it } from 'vitest';
import { StateMachine } from '../../../lib/core/state-machine.js';

type S = 'fresh' | 'sent' | 'done';
const machine = new StateMachine<S>('test commit', { fresh: ['sent'], sent: ['done', 'fresh'], done: [] });

describe('StateMachine', () => {
  it('runs each state’s handler, synchronous or not, until a final state’s handler returns', async () => {
    const seen: string[] = [];
    const final = await machine.run('fresh', seen, {
      fresh: (s) => {
        s.push('fresh');
        return 'sent';
      },
      sent: async (s) => {
        s.push('sent');
        return s.length < 3 ? 'fresh' : 'done';
      },
      done: (s) => {
        s.push('done');
        return undefined;
      },
    });
    expect(final).toBe('done');
    expect(seen).toEqual(['fresh', 'sent', 'fresh', 'sent', 'done']);
  });

  it('throws on a move the table does not allow', async () => {
    await expect(machine.run('fresh', null, { fresh: () => 'done', sent: () => 'done', done: () => undefined })).rejects.toThrow(
      "test commit: no transition from 'fresh' to 'done'",
    );
  });

  it('throws when a state that is not final names no next state', async () => {
    await expect(machine.run('fresh', null, { fresh: () => undefined, sent: () => 'done', done: () => undefined })).rejects.toThrow(
      "state 'fresh' is not final",
    );
  });

  it('passes a handler’s error to the caller unchanged', async () => {
    const boom = new Error('boom');
    await expect(
      machine.run('fresh', null, {
        fresh: () => 'sent',
        sent: async () => {
          throw boom;
        },
        done: () => undefined,
      }),
    ).rejects.toBe(boom);
  });
});
