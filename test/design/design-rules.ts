/**
 * The frame the design models share (test/design/*-model.test.ts): a model of a
 * protocol's rules, driven by actions fast-check picks, must keep every promise under
 * the design, reach every path a rule guards, and fail when each rule is broken on
 * purpose (the same search, with fixed seeds, so the counterexamples are found on every
 * run, not by luck).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A model's run: actions one at a time, then `finish` lets every process run out and checks the end. */
export interface RuleModel<A> {
  apply(action: A): void;
  finish(): void;
}

export interface DesignRules<V, A> {
  /** The describe block's title. */
  title: string;
  /** What the design keeps (the first test's name). */
  promise: string;
  design: V;
  /** Each rule broken: its name, the variant's change, and the failure the search must find. */
  broken: [string, Partial<V>, RegExp][];
  /** Other variants that must keep every promise too (e.g. each of two rules that guard one failure, alone). */
  alsoKept?: [string, Partial<V>][];
  model: (variant: V) => RuleModel<A>;
  actions: fc.Arbitrary<A>;
  maxActions: number;
  /** Counters of the paths the rules guard, which the model increments: each must pass 20. */
  reached: Record<string, number>;
}

const SEARCH = { numRuns: 3_000, seed: 20261202 };

export function describeDesignRules<V, A>(rules: DesignRules<V, A>): void {
  const property = (variant: V) =>
    fc.property(fc.array(rules.actions, { minLength: 1, maxLength: rules.maxActions, size: 'max' }), (actions) => {
      const model = rules.model(variant);
      for (const a of actions) model.apply(a);
      model.finish();
    });

  describe(rules.title, () => {
    it(rules.promise, () => {
      for (const key of Object.keys(rules.reached)) rules.reached[key] = 0;
      fc.assert(property(rules.design), SEARCH);
      // The search went through every path a rule guards, many times.
      for (const [path, times] of Object.entries(rules.reached)) expect(times, path).toBeGreaterThan(20);
    });

    for (const [name, change] of rules.alsoKept ?? []) {
      it(`keeps every promise too with ${name}`, () => {
        fc.assert(property({ ...rules.design, ...change }), SEARCH);
      });
    }

    for (const [name, change, failure] of rules.broken) {
      it(`finds it when the rule is broken: ${name}`, () => {
        const result = fc.check(property({ ...rules.design, ...change }), SEARCH);
        expect(result.failed).toBe(true);
        expect(String(result.errorInstance)).toMatch(failure);
      });
    }
  });
}
