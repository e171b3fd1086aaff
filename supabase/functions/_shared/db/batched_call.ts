// Coalesces concurrent calls into one round trip, the way a database's group commit does: a call
// made while the connection is idle goes out at once (no added latency when traffic is light);
// calls made while `maxInFlight` round trips are already under way wait, and the next round
// trip carries all of them (up to `maxBatch`). Under a burst, the cost of a round trip (the
// API gateway, PostgREST's transaction, the commit) is paid once per batch instead of once per
// call, and each caller still gets its own answer only after the round trip that carries it
// has committed.

export interface BatchedCallOptions {
  /** The most items one round trip carries. */
  maxBatch: number;
  /** Round trips under way at once; calls beyond wait for the next one. */
  maxInFlight: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (answer: O) => void;
  reject: (error: unknown) => void;
}

/**
 * `call` receives the items in the order they were made and answers one result per item, in
 * the same order. A failed round trip rejects every call it carried, and only those.
 */
export function batchedCall<I, O>(
  call: (items: I[]) => Promise<O[]>,
  options: BatchedCallOptions,
): (item: I) => Promise<O> {
  const waiting: Waiting<I, O>[] = [];
  let inFlight = 0;

  function pump() {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const batch = waiting.splice(0, options.maxBatch);
      inFlight++;
      send(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  async function send(batch: Waiting<I, O>[]) {
    try {
      const answers = await call(batch.map((w) => w.item));
      if (!Array.isArray(answers) || answers.length !== batch.length) {
        throw new Error(
          `a batched call answered ${Array.isArray(answers) ? answers.length : "no"} results ` +
            `for ${batch.length} items`,
        );
      }
      batch.forEach((w, i) => w.resolve(answers[i]));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      pump();
    });
}
