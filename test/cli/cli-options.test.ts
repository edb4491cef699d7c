/**
 * The CLI's connection flags become the client's options: `--append-url` with
 * `--read-url` (a stack's function URLs) instead of `--url`, and `--service`.
 */
import { describe, expect, it } from 'vitest';
import { clientOptions, describeError, EXIT } from '../../cli/main.js';
import { StrataError } from '../../client/index.js';

const base = { url: 'http://127.0.0.1:4510', readFormat: 'batches' as const };

describe('the CLI connection flags', () => {
  it('give the client the two function URLs when both are passed', () => {
    const options = clientOptions({
      ...base,
      appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws/',
      readUrl: 'https://r1.lambda-url.eu-west-1.on.aws/',
    });
    expect(options.url).toEqual({
      appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws/',
      readUrl: 'https://r1.lambda-url.eu-west-1.on.aws/',
    });
  });

  it('give the client --url otherwise, with the region and the signing service when named', () => {
    expect(clientOptions({ ...base, region: 'eu-west-1', service: 'lambda' })).toEqual({
      url: base.url,
      readFormat: 'batches',
      region: 'eu-west-1',
      service: 'lambda',
    });
  });

  it('refuse one function URL without the other, as a usage error', () => {
    let thrown: unknown;
    try {
      clientOptions({ ...base, appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws/' });
    } catch (err) {
      thrown = err;
    }
    expect(describeError(thrown, base.url)).toMatchObject({
      code: EXIT.usage,
      message: expect.stringMatching(/--append-url and --read-url go together/),
    });
  });

  it('hint at the swapped URLs for WRONG_FUNCTION', () => {
    const { message } = describeError(new StrataError('WRONG_FUNCTION', 421, 'POST /v1/topics is served by the append function'), base.url);
    expect(message).toMatch(/--append-url/);
  });
});
