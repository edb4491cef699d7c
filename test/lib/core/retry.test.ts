import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CorruptDataError,
  InternalError,
  ObjectMissingError,
  OffsetMismatchError,
  ProducerFencedError,
  RetryableError,
  StorageUnavailableError,
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
  settlesWithin,
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

  describe('for anything but a StrataError', () => {
    // The AWS adapter turns every SDK and network error into a StrataError
    // (test/lib/aws/errors.test.ts): what reaches the engine untranslated is a bug.
    it.each([
      ['an AWS-shaped throttle', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }],
      ['an AWS-shaped 503', { $metadata: { httpStatusCode: 503 } }],
      ['a Node network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
      ['a plain Error', new Error('boom')],
      ['null', null],
      ['undefined', undefined],
      ['a string', 'ThrottlingException'],
    ])('classifies %s as neither retryable nor a throttle', (_name, err) => {
      expect(isRetryable(err)).toBe(false);
      expect(isThrottle(err)).toBe(false);
    });
  });

  describe('for storage errors', () => {
    it('classifies StorageUnavailableError as retryable but not a throttle', () => {
      const err = new StorageUnavailableError('DynamoDB PutCommand failed (TimeoutError); retry');

      expect(isRetryable(err)).toBe(true);
      expect(isThrottle(err)).toBe(false);
    });

    it('classifies ObjectMissingError as neither retryable nor a throttle', () => {
      const err = new ObjectMissingError('S3 GetObject k found no such object (NoSuchKey)');

      expect(isRetryable(err)).toBe(false);
      expect(isThrottle(err)).toBe(false);
    });
  });
});

describe('mayHaveApplied', () => {
  it('holds a throttle on the only attempt as a refusal', () => {
    expect(mayHaveApplied(new ThrottledError('slow down'))).toBe(false);
    expect(mayHaveApplied(new ThrottledError('slow down', { attempts: 1 }))).toBe(false);
  });

  it('holds a throttle after several SDK attempts as in doubt: an earlier attempt may have been applied', () => {
    expect(mayHaveApplied(new ThrottledError('slow down', { attempts: 3 }))).toBe(true);
  });

  it('holds every other failure as in doubt', () => {
    expect(mayHaveApplied(new StorageUnavailableError('timed out'))).toBe(true);
    expect(mayHaveApplied(new RetryableError('deadline passed', 1))).toBe(true);
    expect(mayHaveApplied(new InternalError('bug'))).toBe(true);
    expect(mayHaveApplied(new Error('boom'))).toBe(true);
  });
});

describe('settlesWithin', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is true when the promise settles first, either way, and clears its timer', async () => {
    vi.useFakeTimers();
    const resolved = settlesWithin(Promise.resolve(1), 1_000);
    const rejected = Promise.reject(new Error('no'));
    rejected.catch(() => undefined);
    const failed = settlesWithin(rejected, 1_000);
    expect(await resolved).toBe(true);
    expect(await failed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is false when the time passes first', async () => {
    vi.useFakeTimers();
    const answer = settlesWithin(new Promise(() => undefined), 50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await answer).toBe(false);
  });
});
