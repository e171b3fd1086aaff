// The one clock style of the bundle: a `Clock` object injected wherever time matters, so pure
// cores and jobs are tested without waiting and simulations can move time. Instants are epoch
// milliseconds; `monotonic` is for measuring durations only.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Monotonic milliseconds, for durations. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
