/**
 * `strata`: the command line of Strata. Every command talks to the HTTP API through the
 * client library (so it signs requests for AWS like any other client), prints tables for
 * people and JSON with `--json` for scripts.
 *
 * This file wires commander: the global options here, one file per command or command
 * group in `commands/`, what they share in `options.ts` and `output.ts`, and the exit
 * codes (0 done; 1 refused; 2 bad usage; 3 unreachable; 4 server failed) in `exit.ts`.
 */
import { Command, Option } from 'commander';
import { consumeCommand } from './commands/consume.js';
import { groupsCommand } from './commands/groups.js';
import { offsetsCommand } from './commands/offsets.js';
import { produceCommand } from './commands/produce.js';
import { topicsCommand } from './commands/topics.js';
import { describeError, EXIT } from './exit.js';
import { DEFAULT_URL, type GlobalOptions } from './options.js';

export { describeError, EXIT } from './exit.js';
export { clientOptions } from './options.js';

export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Command line of Strata, the serverless partitioned log')
    .version('0.1.0')
    .option('--url <url>', 'API URL (env STRATA_URL)', process.env.STRATA_URL ?? DEFAULT_URL)
    .option(
      '--append-url <url>',
      'the append function URL of a stack with function URLs (AppendUrl output; env STRATA_APPEND_URL); with --read-url, instead of --url',
      process.env.STRATA_APPEND_URL || undefined,
    )
    .option('--read-url <url>', 'the read function URL (ReadUrl output; env STRATA_READ_URL)', process.env.STRATA_READ_URL || undefined)
    .option('--region <region>', 'AWS region to sign requests for (default: from the URL or AWS_REGION)')
    .addOption(
      new Option(
        '--service <service>',
        'SigV4 service to sign for (default: lambda for function URLs, execute-api for API Gateway)',
      ).choices(['execute-api', 'lambda']),
    )
    .addOption(
      new Option('--read-format <format>', 'how reads travel: the stored record batches (binary, CRC-checked here) or JSON')
        .choices(['batches', 'json'])
        .default('batches'),
    )
    .option('--json', 'machine-readable JSON output')
    .option('--no-progress', 'never show a progress bar')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added so that they inherit it: usage errors throw
    // (exit code 2) instead of exiting from inside commander.
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  strata topics create orders --partitions 3
  seq 1 1000 | strata produce orders
  strata produce orders --file events.jsonl --format json
  strata consume orders --from earliest
  strata consume orders --group billing --follow
  strata offsets orders
  strata groups describe billing`,
    );

  topicsCommand(program);
  produceCommand(program);
  consumeCommand(program);
  offsetsCommand(program);
  groupsCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const url = (program.opts() as GlobalOptions).url ?? DEFAULT_URL;
    const { message, code } = describeError(err, url);
    if (message) process.stderr.write(`strata: ${message}\n`);
    return code;
  }
}
