/**
 * What every command of the CLI shares: the global options, the client they configure,
 * the parsers of option values, and the error for bad usage (exit code 2).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type ReadFormat, type SigningService, Strata, type StrataOptions } from '../client/index.js';

/** A problem with what the user gave us (not with the server). */
export class UsageError extends Error {}

export interface GlobalOptions {
  url: string;
  appendUrl?: string;
  readUrl?: string;
  region?: string;
  service?: SigningService;
  readFormat: ReadFormat;
  json?: boolean;
  progress: boolean;
}

export const DEFAULT_URL = 'http://127.0.0.1:4510';

/** The client for a command, from the global options, and those options. */
export function client(cmd: Command): { strata: Strata; g: GlobalOptions } {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  return { strata: new Strata(clientOptions(g)), g };
}

/**
 * The client's options from the global flags: `--append-url` and `--read-url` (the
 * function URLs of a stack deployed with them) together replace `--url`.
 */
export function clientOptions(
  g: Pick<GlobalOptions, 'url' | 'appendUrl' | 'readUrl' | 'region' | 'service' | 'readFormat'>,
): StrataOptions {
  if ((g.appendUrl === undefined) !== (g.readUrl === undefined)) {
    throw new UsageError(
      '--append-url and --read-url go together: a stack with function URLs has one for each function (its AppendUrl and ReadUrl outputs)',
    );
  }
  const url = g.appendUrl !== undefined && g.readUrl !== undefined ? { appendUrl: g.appendUrl, readUrl: g.readUrl } : g.url;
  return { url, readFormat: g.readFormat, ...(g.region ? { region: g.region } : {}), ...(g.service ? { service: g.service } : {}) };
}

/** A parser of a whole-number option value, at least `min`. */
export function int(name: string, min = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return Number(value);
  };
}

/** A time given as ms since the epoch or as an ISO date, in ms. */
export function parseTime(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`'${value}' is not a time: give ms since the epoch or an ISO date (2026-01-31T12:00:00Z)`);
  return ms;
}
