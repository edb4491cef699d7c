/**
 * Fault injection at the client's transport: a `fetch` that really sends the request,
 * then, for the requests a rule picks, throws as if the connection broke before the
 * answer arrived. The server has applied the request; the client cannot know. This is
 * the "timeout after commit" an idempotent producer must survive without duplicates.
 */
import { seededRandom } from './faults.js';

export interface LossyFetchOptions {
  /** Which requests may lose their response (default: every append). */
  matches?: (method: string, url: URL) => boolean;
  /** Probability that a matching request's response is lost. */
  lossRate: number;
  /**
   * Probability that a matching request's answer never comes: the request is applied,
   * then the client waits until its own timeout aborts it (RequestTimeoutError).
   */
  timeoutRate?: number;
  /** Probability that a matching request fails before it is sent (nothing applied). */
  failBeforeRate?: number;
  seed?: number;
  /**
   * The first matching requests get each fault kind whose rate is above 0 once, in the
   * order before, timeout, loss; the rates apply after that. How many requests a test
   * makes depends on batching and timing, so without this a kind may never be drawn.
   */
  eachKindFirst?: boolean;
}

export interface LossyFetch {
  fetch: typeof fetch;
  /** Responses thrown away after the server answered. */
  lost: number;
  /** Requests failed before being sent. */
  failedBefore: number;
  /** Answers withheld until the client timed out. */
  timedOut: number;
  enabled: boolean;
}

const isAppend = (method: string, url: URL) => method === 'POST' && url.pathname.endsWith('/records');

export function lossyFetch(options: LossyFetchOptions): LossyFetch {
  const random = seededRandom(options.seed ?? 7);
  const matches = options.matches ?? isAppend;
  const forced: ('before' | 'timeout' | 'loss')[] = options.eachKindFirst
    ? [
        ...((options.failBeforeRate ?? 0) > 0 ? (['before'] as const) : []),
        ...((options.timeoutRate ?? 0) > 0 ? (['timeout'] as const) : []),
        ...(options.lossRate > 0 ? (['loss'] as const) : []),
      ]
    : [];
  const state: LossyFetch = {
    lost: 0,
    failedBefore: 0,
    timedOut: 0,
    enabled: true,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const method = init?.method ?? 'GET';
      const picked = state.enabled && matches(method, url);
      const force = picked ? forced.shift() : undefined;
      if (force === 'before' || (picked && !force && random() < (options.failBeforeRate ?? 0))) {
        state.failedBefore += 1;
        throw new TypeError('fetch failed (injected: connection refused before sending)');
      }
      const response = await fetch(input, init);
      if (force === 'timeout' || (picked && !force && random() < (options.timeoutRate ?? 0))) {
        await response.arrayBuffer();
        state.timedOut += 1;
        const signal = init?.signal;
        if (!signal) throw new Error('lossyFetch timeoutRate needs a request with a signal');
        await new Promise<void>((resolve) =>
          signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        throw signal.reason;
      }
      if (force === 'loss' || (picked && !force && random() < options.lossRate)) {
        await response.arrayBuffer();
        state.lost += 1;
        throw new TypeError('fetch failed (injected: response lost after the server answered)');
      }
      return response;
    },
  };
  return state;
}
