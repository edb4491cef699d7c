/**
 * The CLI's exit codes, and what to tell the user for an error: 0 done; 1 the server
 * refused the request (the message says why and what to do); 2 bad usage or input; 3 the
 * server could not be reached or timed out; 4 the server failed (5xx).
 */
import { CommanderError } from 'commander';
import { type ErrorCode, StrataError } from '../client/index.js';
import { UsageError } from './options.js';

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, serverError: 4 } as const;

/** What to tell the user, and the exit code, for an error. */
export function describeError(err: unknown, url: string): { message: string; code: number } {
  if (err instanceof CommanderError) return { message: '', code: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof UsageError) return { message: err.message, code: EXIT.usage };
  if (err instanceof StrataError) {
    if (err.code === 'CONNECTION' || err.code === 'REQUEST_TIMEOUT') {
      return { message: `${err.message}\n  pass --url or set STRATA_URL to reach another server`, code: EXIT.unreachable };
    }
    const hint = HINTS[err.code as ErrorCode];
    const code = err.status >= 500 ? EXIT.serverError : EXIT.refused;
    return { message: `${err.code}: ${err.message}${hint ? `\n  ${hint}` : ''}`, code };
  }
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return { message: (err as Error).message, code: EXIT.usage };
  return { message: `unexpected error talking to ${url}: ${(err as Error)?.stack ?? String(err)}`, code: EXIT.serverError };
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  TOPIC_NOT_FOUND: 'list topics with: strata topics list; create one with: strata topics create NAME --partitions 3',
  TOPIC_EXISTS: 'describe it with: strata topics describe NAME',
  PARTITION_NOT_FOUND: 'see the partitions with: strata topics describe NAME',
  OFFSET_OUT_OF_RANGE: 'see the valid range with: strata offsets TOPIC',
  NOT_UTF8: 'print such records with --json (bytes that are not UTF-8 come as base64)',
  RECORD_TOO_LARGE: 'raise the limit with: strata topics config TOPIC maxRecordBytes=N',
  WRONG_FUNCTION: "that URL is the other function's: pass the AppendUrl output as --append-url and the ReadUrl output as --read-url",
};
