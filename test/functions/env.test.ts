/**
 * functions/shared/env.ts: the Lambda function names the functions invoke, read once at
 * cold start and refused with a message naming the variable when malformed.
 */
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../functions/shared/env.js';

const base = { STRATA_TABLE_NAME: 't', STRATA_BUCKET_NAME: 'b' };

describe('readEnv function names', () => {
  it("reads the function's own name from AWS_LAMBDA_FUNCTION_NAME, as Lambda sets it", () => {
    expect(readEnv({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'Strata-CompactFunction_1A2B' }).functionName).toBe('Strata-CompactFunction_1A2B');
    expect(readEnv(base).functionName).toBeUndefined();
  });

  it('takes the compact function as a name, a partial or full ARN, with or without a qualifier', () => {
    for (const name of [
      'strata-compact',
      '123456789012:function:strata-compact',
      'arn:aws:lambda:eu-west-1:123456789012:function:strata-compact',
      'arn:aws-cn:lambda:cn-north-1:123456789012:function:strata-compact:live',
      'strata-compact:$LATEST',
    ]) {
      expect(readEnv({ ...base, STRATA_COMPACT_FUNCTION_NAME: name }).compactFunctionName).toBe(name);
    }
  });

  it('refuses a malformed name, naming the variable', () => {
    expect(() => readEnv({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'has spaces' })).toThrow(
      /AWS_LAMBDA_FUNCTION_NAME must be a Lambda function name .*got 'has spaces'/,
    );
    expect(() => readEnv({ ...base, STRATA_COMPACT_FUNCTION_NAME: 'x'.repeat(65) })).toThrow(
      /STRATA_COMPACT_FUNCTION_NAME must be a Lambda function name/,
    );
    expect(() => readEnv({ ...base, STRATA_COMPACT_FUNCTION_NAME: 'arn:aws:s3:::bucket' })).toThrow(/STRATA_COMPACT_FUNCTION_NAME/);
  });
});

describe('readEnv sequencing', () => {
  it('takes each of the engine sequencings, and refuses anything else naming the ones it takes', () => {
    for (const sequencing of ['optimistic', 'reserve', 'write-first'] as const) {
      expect(readEnv({ ...base, STRATA_SEQUENCING: sequencing }).sequencing).toBe(sequencing);
    }
    expect(readEnv(base).sequencing).toBeUndefined();
    expect(() => readEnv({ ...base, STRATA_SEQUENCING: 'write_first' })).toThrow(
      /STRATA_SEQUENCING must be one of 'optimistic', 'reserve', 'write-first' .*got 'write_first'/,
    );
  });
});
