/**
 * A lifecycle written as a transition table (STYLE.md; model: kafkajs
 * `eosManager/transactionStateMachine.js`): the states, the moves allowed out of each,
 * and one small handler per state that does that state's work and names the next state.
 * A state with no moves out is final: its handler settles the lifecycle and returns
 * nothing. A handler that names a move the table does not allow is a bug, thrown as one.
 *
 *     table:    fresh → [sent, given up]   sent → [committed, in doubt]   committed → []
 *     run:      fresh() ─▶ 'sent'   sent() ─▶ 'committed'   committed() ─▶ (final, done)
 *
 * A handler may answer synchronously (a state that only looks at what the one before it
 * learned), so the driver awaits only the handlers that do I/O.
 */

/** For each state, the states a handler may move to from it; none for a final state. */
export type Transitions<S extends string> = { readonly [K in S]: readonly S[] };

/** One handler per state: the next state, or nothing from a final state. */
export type StateHandlers<S extends string, C> = {
  readonly [K in S]: (context: C) => S | undefined | Promise<S | undefined>;
};

export class StateMachine<S extends string> {
  constructor(
    /** Names the lifecycle in the error a forbidden move throws. */
    readonly name: string,
    readonly transitions: Transitions<S>,
  ) {}

  /**
   * Runs handlers from `start` until a final state's handler returns; answers that state.
   * Errors a handler throws end the run and reach the caller unchanged.
   */
  async run<C>(start: S, context: C, handlers: StateHandlers<S, C>): Promise<S> {
    let state = start;
    for (;;) {
      const step = handlers[state](context);
      const next = step instanceof Promise ? await step : step;
      const allowed = this.transitions[state];
      if (next === undefined) {
        if (allowed.length > 0) throw new Error(`${this.name}: state '${state}' is not final but its handler named no next state`);
        return state;
      }
      if (!allowed.includes(next)) throw new Error(`${this.name}: no transition from '${state}' to '${next}'`);
      state = next;
    }
  }
}
