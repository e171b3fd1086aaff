// A direct connection gone silent must not hold the Google receiver's notifications.
import assert from "node:assert/strict";
import { answeredWithin } from "../../../supabase/functions/_shared/db/direct_sql.ts";

/** A query as postgres.js hands it out: a promise with cancel(). */
function pendingQuery<T>() {
  let settle!: { resolve: (value: T) => void; reject: (error: Error) => void };
  const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  let cancelled = 0;
  const query = Object.assign(promise, {
    cancel: () => {
      cancelled++;
      return Promise.reject(new Error("the cancel request could not be sent either"));
    },
  });
  return { query, settle, cancelled: () => cancelled };
}

Deno.test("an answer in time is the answer, and nothing is cancelled", async () => {
  const { query, settle, cancelled } = pendingQuery<string>();
  const answer = answeredWithin(query, 1_000);
  settle.resolve("answers");
  assert.equal(await answer, "answers");
  assert.equal(cancelled(), 0);
});

Deno.test("no answer in time: the call fails and the query is cancelled; its late failure is ignored", async () => {
  const { query, settle, cancelled } = pendingQuery<string>();
  await assert.rejects(answeredWithin(query, 5), /did not answer within 5 ms/);
  assert.equal(cancelled(), 1);
  settle.reject(new Error("canceling statement due to user request"));
  // Were the late rejection unhandled, Deno would fail this test.
  await new Promise((resolve) => setTimeout(resolve, 0));
});

Deno.test("a failure in time is the call's failure", async () => {
  const { query, settle } = pendingQuery<string>();
  const answer = answeredWithin(query, 1_000);
  settle.reject(new Error("connection closed"));
  await assert.rejects(answer, /connection closed/);
});
