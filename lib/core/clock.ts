/** Time, injectable so that tests of time-based rules (retention, TTLs) need no sleeps. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
