// The platform through the gateway: RLS on calendar_connections with real JWTs, function
// routing with verify_jwt, and the pg_net stand-in delivering only committed requests.
import assert from "node:assert/strict";
import { connectDb, createUser, eventually, rest, stack } from "../../devkit/stack.ts";

Deno.test("RLS on calendar_connections through PostgREST with real JWTs", async () => {
  const sql = connectDb();
  try {
    const alice = await createUser(sql, "alice");
    const bob = await createUser(sql, "bob");
    for (const user of [alice, bob]) {
      await sql`insert into public.calendar_connections
        (user_id, provider, external_account_id, refresh_token_encrypted)
        values (${user.id}, 'google', ${user.email}, 'v1.secret.ciphertext')`;
    }

    const own = await rest(`/calendar_connections?select=id,user_id,status`, { jwt: alice.jwt });
    assert.equal(own.status, 200);
    const rows = await own.json();
    assert.deepEqual(rows.map((row: { user_id: string }) => row.user_id), [alice.id]);

    const tokens = await rest(`/calendar_connections?select=refresh_token_encrypted`, {
      jwt: alice.jwt,
    });
    assert.equal(tokens.status, 403, "token columns are not readable by a signed-in user");
    await tokens.body?.cancel();

    const patchOther = await rest(`/calendar_connections?user_id=eq.${bob.id}`, {
      method: "PATCH",
      jwt: alice.jwt,
      body: JSON.stringify({ sync_enabled: false }),
    });
    assert.equal(patchOther.status, 204);
    await patchOther.body?.cancel();
    const [bobRow] = await sql`select sync_enabled from public.calendar_connections
      where user_id = ${bob.id}`;
    assert.equal(bobRow.sync_enabled, true, "alice's update matched none of bob's rows");

    const patchOwn = await rest(`/calendar_connections?user_id=eq.${alice.id}`, {
      method: "PATCH",
      jwt: alice.jwt,
      body: JSON.stringify({ sync_enabled: false }),
    });
    assert.equal(patchOwn.status, 204);
    await patchOwn.body?.cancel();
    const [aliceRow] = await sql`select sync_enabled from public.calendar_connections
      where user_id = ${alice.id}`;
    assert.equal(aliceRow.sync_enabled, false, "alice can pause her own sync");

    const forge = await rest(`/calendar_connections?user_id=eq.${alice.id}`, {
      method: "PATCH",
      jwt: alice.jwt,
      body: JSON.stringify({ refresh_token_encrypted: "forged" }),
    });
    assert.equal(forge.status, 403, "users cannot write token columns");
    await forge.body?.cancel();

    const anon = await rest(`/calendar_connections?select=id`);
    assert.equal(anon.status, 401, "anon has no privilege on the table");
    await anon.body?.cancel();

    const noKey = await fetch(`${stack.apiUrl}/rest/v1/calendar_connections`);
    assert.equal(noKey.status, 401, "the gateway wants an API key");
    await noKey.body?.cancel();
  } finally {
    await sql.end();
  }
});

Deno.test("the gateway honours verify_jwt from config.toml", async () => {
  // setup-calendar-webhook keeps verify_jwt = true: no or bad JWT never reaches the function.
  const missing = await fetch(stack.functionUrl("setup-calendar-webhook"), { method: "POST" });
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  const forged = await fetch(stack.functionUrl("setup-calendar-webhook"), {
    method: "POST",
    headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl" },
  });
  assert.equal(forged.status, 401);
  await forged.body?.cancel();
  // The webhook receivers are public (verify_jwt = false): Google sends no JWT.
  const receiver = await fetch(stack.functionUrl("google-calendar-webhook"), { method: "POST" });
  assert.notEqual(receiver.status, 401);
  await receiver.body?.cancel();
  const unknown = await fetch(stack.functionUrl("no-such-function"));
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("pg_net stand-in sends committed requests to a function and drops rolled-back ones", async () => {
  const sql = connectDb();
  try {
    const url = stack.functionUrl("google-calendar-webhook");
    const [committed] = await sql.begin((tx) =>
      tx`select net.http_post(${url}, '{"probe": "committed"}'::jsonb) as id`
    );
    let rolledBackId: string | undefined;
    await sql.begin(async (tx) => {
      const [row] = await tx`select net.http_post(${url}, '{"probe": "rolled back"}'::jsonb) as id`;
      rolledBackId = String(row.id);
      throw new Error("roll back");
    }).catch((error) => {
      if (!String(error).includes("roll back")) throw error;
    });

    const response = await eventually(async () => {
      const [row] = await sql`select status_code, content, error_msg from net._http_response
        where id = ${committed.id}`;
      return row;
    }, { message: "the committed request's response" });
    assert.equal(response.error_msg, null);
    // The function answered (a header-less POST is a 400 from the receiver, not a network error).
    assert.ok(
      response.status_code >= 200 && response.status_code < 500,
      `status ${response.status_code}`,
    );

    // Give the worker time to have sent the rolled-back one, had it existed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const ghosts = await sql`select id from net._http_response where id = ${rolledBackId!}`;
    assert.equal(ghosts.length, 0, "a rolled-back transaction sends nothing");
    const queued = await sql`select id from net.http_request_queue where id = ${rolledBackId!}`;
    assert.equal(queued.length, 0);
  } finally {
    await sql.end();
  }
});
