import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CorruptDataError,
  InternalError,
  OffsetMismatchError,
  ProducerFencedError,
  RetryableError,
  StrataError,
  ThrottledError,
  TopicNotFoundError,
  ValidationError,
} from '../../../lib/core/errors.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  FAST_RETRY,
  isRetryable,
  isThrottle,
  mayHaveApplied,
  type RetryPolicy,
  sdkAttempts,
} from '../../../lib/core/retry.js';

/** The largest double below 1: what Math.random can return at most. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;
const RANDOMS = [0, 0.5, 0.999, ALMOST_ONE];

const ceilingOf = (policy: RetryPolicy, attempt: number): number => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('backoffDelay', () => {
  const policies: [string, RetryPolicy][] = [
    ['DEFAULT_RETRY', DEFAULT_RETRY],
    ['FAST_RETRY', FAST_RETRY],
    ['a policy with a large ceiling', { baseDelayMs: 3, maxDelayMs: 60_000, deadlineMs: 1 }],
  ];

  for (const [name, policy] of policies) {
    it(`stays within [0, min(max, base * 2^attempt)) for attempts 0-200 with ${name}`, () => {
      for (let attempt = 0; attempt <= 200; attempt++) {
        const ceiling = ceilingOf(policy, attempt);
        for (const r of RANDOMS) {
          const delay = backoffDelay(policy, attempt, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
        }
      }
    });
  }

  it('returns 0 when the random draw is 0', () => {
    expect(backoffDelay(DEFAULT_RETRY, 0, () => 0)).toBe(0);
    expect(backoffDelay(DEFAULT_RETRY, 50, () => 0)).toBe(0);
  });

  it('returns half the ceiling, rounded down, when the random draw is 0.5', () => {
    expect(backoffDelay(DEFAULT_RETRY, 0, () => 0.5)).toBe(2); // ceiling 5
    expect(backoffDelay(DEFAULT_RETRY, 1, () => 0.5)).toBe(5); // ceiling 10
    expect(backoffDelay(DEFAULT_RETRY, 3, () => 0.5)).toBe(20); // ceiling 40
    expect(backoffDelay(DEFAULT_RETRY, 6, () => 0.5)).toBe(160); // ceiling 320
    expect(backoffDelay(DEFAULT_RETRY, 7, () => 0.5)).toBe(250); // 640 capped at 500
  });

  it('returns one less than the ceiling when the random draw is just below 1', () => {
    expect(backoffDelay(DEFAULT_RETRY, 0, () => ALMOST_ONE)).toBe(4);
    expect(backoffDelay(DEFAULT_RETRY, 4, () => ALMOST_ONE)).toBe(79);
    expect(backoffDelay(DEFAULT_RETRY, 20, () => ALMOST_ONE)).toBe(499);
  });

  it('doubles the ceiling with each attempt until it reaches maxDelayMs', () => {
    const policy: RetryPolicy = { baseDelayMs: 10, maxDelayMs: 1_000, deadlineMs: 1 };
    const ceilings = Array.from({ length: 9 }, (_, attempt) => backoffDelay(policy, attempt, () => ALMOST_ONE) + 1);

    expect(ceilings).toEqual([10, 20, 40, 80, 160, 320, 640, 1_000, 1_000]);
  });

  it('does not overflow for huge attempt numbers', () => {
    for (const attempt of [1_000, 1_024, 1_025, 1e9, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Infinity]) {
      expect(backoffDelay(DEFAULT_RETRY, attempt, () => 0.5)).toBe(250);
      expect(backoffDelay(DEFAULT_RETRY, attempt, () => ALMOST_ONE)).toBe(499);
    }
  });

  it('keeps the delay finite for huge attempts even when maxDelayMs is unbounded', () => {
    const unbounded: RetryPolicy = { baseDelayMs: 1, maxDelayMs: Infinity, deadlineMs: 1 };

    const delay = backoffDelay(unbounded, 1e6, () => ALMOST_ONE);

    expect(Number.isFinite(delay)).toBe(true);
    expect(delay).toBe(2 ** 30 - 1);
  });

  it('uses Math.random when no random source is given', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);

    expect(backoffDelay(DEFAULT_RETRY, 2)).toBe(10); // ceiling 20
    expect(random).toHaveBeenCalledTimes(1);
  });

  it('stays within bounds for any attempt and any random draw in [0, 1) (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (attempt, r, baseDelayMs, maxDelayMs) => {
          const policy: RetryPolicy = { baseDelayMs, maxDelayMs, deadlineMs: 1 };
          const delay = backoffDelay(policy, attempt, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceilingOf(policy, attempt));
        },
      ),
    );
  });
});

describe('isRetryable and isThrottle', () => {
  describe('for StrataErrors', () => {
    it('classifies RetryableError as retryable but not a throttle', () => {
      const err = new RetryableError('deadline passed', 1);

      expect(isRetryable(err)).toBe(true);
      expect(isThrottle(err)).toBe(false);
    });

    it('classifies ThrottledError as retryable and a throttle', () => {
      const err = new ThrottledError('slow down');

      expect(isRetryable(err)).toBe(true);
      expect(isThrottle(err)).toBe(true);
    });

    it.each([
      ['ValidationError', new ValidationError('bad')],
      ['OffsetMismatchError', new OffsetMismatchError(3, 5)],
      ['ProducerFencedError', new ProducerFencedError('p', 1, 2)],
      ['TopicNotFoundError', new TopicNotFoundError('t')],
      ['CorruptDataError', new CorruptDataError('crc')],
      ['InternalError', new InternalError('bug')],
    ])('classifies %s as neither retryable nor a throttle', (_name, err) => {
      expect(isRetryable(err)).toBe(false);
      expect(isThrottle(err)).toBe(false);
    });

    it("trusts a StrataError's own retryable flag over its cause", () => {
      const err = new ValidationError('bad', { cause: { name: 'ThrottlingException' } });

      expect(isRetryable(err)).toBe(false);
      expect(isThrottle(err)).toBe(false);
    });

    it('classifies a StrataError by code, not by a throttle-looking name', () => {
      const err = new StrataError('OTHER', 400, 'x');
      err.name = 'ThrottlingException';

      expect(isThrottle(err)).toBe(false);
      expect(isRetryable(err)).toBe(false);
    });
  });

  describe('for AWS SDK and Node errors', () => {
    const throttles: [string, unknown][] = [
      ['ProvisionedThroughputExceededException', { name: 'ProvisionedThroughputExceededException' }],
      ['ThrottlingException', { name: 'ThrottlingException' }],
      ['RequestLimitExceeded', { name: 'RequestLimitExceeded' }],
      ['Throttling', { name: 'Throttling' }],
      ['SlowDown (S3)', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }],
      ['TooManyRequestsException', { name: 'TooManyRequestsException' }],
      ['HTTP 429', { name: 'Unknown', $metadata: { httpStatusCode: 429 } }],
    ];

    it.each(throttles)('classifies %s as a retryable throttle', (_name, err) => {
      expect(isThrottle(err)).toBe(true);
      expect(isRetryable(err)).toBe(true);
    });

    const transient: [string, unknown][] = [
      ['HTTP 503', { $metadata: { httpStatusCode: 503 } }],
      ['HTTP 500', { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }],
      ['HTTP 599 without a known name', { name: 'Whatever', $metadata: { httpStatusCode: 599 } }],
      ['$retryable set by the SDK', { $retryable: {} }],
      ['TimeoutError', { name: 'TimeoutError' }],
      ['RequestTimeout', { name: 'RequestTimeout' }],
      ['TransactionInProgressException', { name: 'TransactionInProgressException' }],
      ['ECONNRESET as a plain object', { code: 'ECONNRESET' }],
      ['ECONNRESET as a Node system error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
      ['ECONNREFUSED', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
      ['EPIPE', { code: 'EPIPE' }],
      ['ETIMEDOUT', { code: 'ETIMEDOUT' }],
      ['EAI_AGAIN', { code: 'EAI_AGAIN' }],
    ];

    it.each(transient)('classifies %s as retryable but not a throttle', (_name, err) => {
      expect(isRetryable(err)).toBe(true);
      expect(isThrottle(err)).toBe(false);
    });

    const permanent: [string, unknown][] = [
      ['ValidationException (400)', { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }],
      ['ConditionalCheckFailedException', { name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } }],
      ['ResourceNotFoundException', { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }],
      ['AccessDenied (403)', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }],
      ['HTTP 499', { $metadata: { httpStatusCode: 499 } }],
      ['$retryable explicitly undefined', { name: 'X', $retryable: undefined }],
      ['a plain Error', new Error('boom')],
      ['a TypeError', new TypeError('x is undefined')],
      ['an Error with an unknown code', Object.assign(new Error('nope'), { code: 'ENOENT' })],
      ['null', null],
      ['undefined', undefined],
      ['a string', 'ThrottlingException'],
      ['a number', 503],
      ['an empty object', {}],
    ];

    it.each(permanent)('classifies %s as neither retryable nor a throttle', (_name, err) => {
      expect(isRetryable(err)).toBe(false);
      expect(isThrottle(err)).toBe(false);
    });
  });
});

describe('network errors the AWS SDK retries itself', () => {
  // After an SDK-internal attempt that was applied, one of these can be the last error:
  // classed as permanent, an applied append came back as a 500.
  it.each(['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])('classifies %s as retryable, not a throttle', (code) => {
    const err = Object.assign(new Error(`connect ${code}`), { code });
    expect(isRetryable(err)).toBe(true);
    expect(isThrottle(err)).toBe(false);
  });
});

describe('mayHaveApplied', () => {
  const throttle = (attempts?: number) =>
    Object.assign(new Error('slow down'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400, ...(attempts ? { attempts } : {}) },
    });

  it('holds a throttle on the only attempt as a refusal', () => {
    expect(mayHaveApplied(throttle())).toBe(false);
    expect(mayHaveApplied(throttle(1))).toBe(false);
  });

  it('holds a throttle after several SDK attempts as in doubt: an earlier attempt may have been applied', () => {
    expect(sdkAttempts(throttle(3))).toBe(3);
    expect(mayHaveApplied(throttle(3))).toBe(true);
  });

  it('reads the attempts through a StrataError that wraps the SDK error', () => {
    expect(mayHaveApplied(new ThrottledError('DynamoDB throttled the append transaction', { cause: throttle(2) }))).toBe(true);
    expect(mayHaveApplied(new ThrottledError('DynamoDB throttled the append transaction', { cause: throttle(1) }))).toBe(false);
  });

  it('holds every other failure as in doubt', () => {
    expect(mayHaveApplied(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe(true);
    expect(mayHaveApplied(Object.assign(new Error('500'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }))).toBe(true);
  });
});
