// Coalescing concurrent calls into one round trip (the Google receiver's burst path).
import assert from "node:assert/strict";
import { batchedCall } from "../../../supabase/functions/_shared/db/batched_call.ts";

/** A round trip the test finishes by hand, recording what each carried. */
function manualCall() {
  const trips: { items: number[]; finish: (answers?: string[]) => void; fail: () => void }[] = [];
  const call = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      trips.push({
        items,
        finish: (answers) => resolve(answers ?? items.map((i) => `answer ${i}`)),
        fail: () => reject(new Error("the database is down")),
      });
    });
  return { trips, call };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("a call made while idle goes out at once, alone", async () => {
  const { trips, call } = manualCall();
  const receive = batchedCall(call, { maxBatch: 10, maxInFlight: 1 });
  const answer = receive(1);
  assert.deepEqual(trips.map((t) => t.items), [[1]], "no waiting for company");
  trips[0].finish();
  assert.equal(await answer, "answer 1");
});

Deno.test("calls made while a round trip is under way share the next one, each with its own answer", async () => {
  const { trips, call } = manualCall();
  const receive = batchedCall(call, { maxBatch: 10, maxInFlight: 1 });
  const answers = [1, 2, 3, 4].map(receive);
  assert.deepEqual(trips.map((t) => t.items), [[1]]);
  trips[0].finish();
  await flush();
  assert.deepEqual(trips.map((t) => t.items), [[1], [2, 3, 4]], "the rest in ONE round trip");
  trips[1].finish();
  assert.deepEqual(await Promise.all(answers), ["answer 1", "answer 2", "answer 3", "answer 4"]);
});

Deno.test("no round trip carries more than maxBatch, and at most maxInFlight are under way", async () => {
  const { trips, call } = manualCall();
  const receive = batchedCall(call, { maxBatch: 2, maxInFlight: 2 });
  const answers = [1, 2, 3, 4, 5, 6].map(receive);
  assert.deepEqual(trips.map((t) => t.items), [[1], [2]], "two under way, the rest wait");
  trips[0].finish();
  await flush();
  assert.deepEqual(trips.map((t) => t.items), [[1], [2], [3, 4]]);
  trips[1].finish();
  await flush();
  trips[2].finish();
  await flush();
  assert.deepEqual(trips.map((t) => t.items), [[1], [2], [3, 4], [5, 6]]);
  trips[3].finish();
  assert.equal((await Promise.all(answers)).length, 6);
});

Deno.test("a failed round trip fails the calls it carried, and only those", async () => {
  const { trips, call } = manualCall();
  const receive = batchedCall(call, { maxBatch: 10, maxInFlight: 1 });
  const first = receive(1);
  const second = receive(2);
  const third = receive(3);
  trips[0].fail();
  await assert.rejects(first, /the database is down/);
  await flush();
  trips[1].finish();
  assert.deepEqual(await Promise.all([second, third]), ["answer 2", "answer 3"]);
});

Deno.test("an answer list of the wrong length fails the batch instead of mismatching answers", async () => {
  const { trips, call } = manualCall();
  const receive = batchedCall(call, { maxBatch: 10, maxInFlight: 1 });
  const first = receive(1);
  trips[0].finish(["one", "extra"]);
  await assert.rejects(first, /answered 2 results for 1 items/);
});
