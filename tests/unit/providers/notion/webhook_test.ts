// Receiving Notion's webhooks: the unsigned verification POST is stored sealed and nothing else;
// events must carry X-Notion-Signature = sha256 HMAC of the RAW body keyed with a token the
// operator has read (constant-time comparison): unsigned, malformed, forged or tampered ones are
// a 401 before anything is written; a verified event is received in one database call naming the
// data sources it concerns. The database is a recording fake here (the SQL side is pgTAP's).
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import { HttpError } from "../../../../supabase/functions/_shared/http/errors.ts";
import {
  hmacSha256Hex,
  openSecret,
  sealSecret,
  sha256Hex,
} from "../../../../supabase/functions/_shared/security/crypto.ts";
import {
  parentIds,
  parseSignatureHeader,
  readVerificationTokens,
  receiveNotionDelivery,
  signedWith,
} from "../../../../supabase/functions/_shared/providers/notion/webhook.ts";

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i * 7)));
const TOKEN = "secret_tH1sIsTheVerificationTokenOfTheSubscription";
const DATA_SOURCE = "248104cd-477e-80af-bc30-000bd28de8f9";
const DATABASE = "248104cd-477e-80fd-b757-e945d38000bd";

interface Call {
  name: string;
  args: Record<string, unknown>;
}

/** A service client that records every SQL function call and answers from `answers`. */
function fakeDb(answers: Record<string, (args: Record<string, unknown>) => unknown>) {
  const calls: Call[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown> = {}) {
      calls.push({ name, args });
      const answer = answers[name];
      return Promise.resolve(
        answer ? { data: answer(args), error: null } : {
          data: null,
          error: { message: `unexpected call of ${name}`, code: "XX000" },
        },
      );
    },
  } as unknown as SupabaseClient;
  return { db, calls };
}

async function trustedKeys() {
  const sealed = await sealSecret(TOKEN, KEY, "notion_webhook_verifications");
  return () => [{ id: "11111111-2222-3333-4444-555555555555", token_encrypted: sealed }];
}

function event(overrides: Record<string, unknown> = {}) {
  return JSON.stringify({
    id: "0f1e2d3c-4b5a-4697-8877-665544332211",
    timestamp: "2026-12-01T09:00:00.000Z",
    workspace_id: "13950b26-c203-4f3b-b97d-93ec06319565",
    subscription_id: "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
    integration_id: "0ef104cd-477e-80e1-8571-0037d5e6dd5b",
    authors: [{ id: "c0ffee00-0000-4000-8000-000000000001", type: "person" }],
    attempt_number: 1,
    type: "page.properties_updated",
    entity: { id: "153104cd-477e-809d-8dc4-ff2d96ae3090", type: "page" },
    data: {
      parent: { id: DATABASE, type: "database", data_source_id: DATA_SOURCE },
      updated_properties: ["%3ADt"],
    },
    ...overrides,
  });
}

function post(body: string, signature?: string | null) {
  return new Request("http://functions/notion-webhook", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(signature ? { "x-notion-signature": signature } : {}),
    },
    body,
  });
}

async function statusOf(promise: Promise<unknown>): Promise<number | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return error instanceof HttpError ? error.status : -1;
  }
}

Deno.test("a signature is the HMAC-SHA256 of the raw body keyed with the token; nothing else verifies", async () => {
  const body = new TextEncoder().encode(event());
  const signature = parseSignatureHeader(`sha256=${await hmacSha256Hex(TOKEN, body)}`);
  assert.equal(await signedWith(body, signature, TOKEN), true);
  assert.equal(await signedWith(body, signature, `${TOKEN}x`), false, "another token");
  const tampered = new TextEncoder().encode(event({ type: "page.deleted" }));
  assert.equal(await signedWith(tampered, signature, TOKEN), false, "a tampered body");
  const reserialised = new TextEncoder().encode(JSON.stringify(JSON.parse(event()), null, 1));
  assert.equal(await signedWith(reserialised, signature, TOKEN), false, "the raw bytes count");
  for (const header of [null, "", "sha1=abc", `sha256=${"z".repeat(64)}`, "sha256="]) {
    assert.equal(await statusOf(Promise.resolve().then(() => parseSignatureHeader(header))), 401);
  }
});

Deno.test("the unsigned verification POST is stored sealed, and nothing else happens", async () => {
  const { db, calls } = fakeDb({
    notion_webhook_store_verification: () => ({ id: "x", times_received: 1, status: "pending" }),
  });
  const outcome = await receiveNotionDelivery(
    { db, config: { TOKEN_ENCRYPTION_KEY: KEY } },
    post(JSON.stringify({ verification_token: TOKEN })),
  );
  assert.deepEqual(outcome, { status: "verification_stored" });
  assert.deepEqual(calls.map((call) => call.name), ["notion_webhook_store_verification"]);
  const args = calls[0].args as { p_token_sha256: string; p_token_encrypted: string };
  assert.equal(args.p_token_sha256, await sha256Hex(TOKEN));
  assert.ok(!args.p_token_encrypted.includes(TOKEN), "never stored in clear");
  assert.equal(
    await openSecret(args.p_token_encrypted, KEY, "notion_webhook_verifications"),
    TOKEN,
  );
});

Deno.test("unsigned, malformed, forged and tampered events are 401 before anything is written", async () => {
  const body = event();
  const good = `sha256=${await hmacSha256Hex(TOKEN, body)}`;
  const cases: [string, string, string | null][] = [
    ["unsigned", body, null],
    ["malformed header", body, "v1=abc"],
    ["forged (another token)", body, `sha256=${await hmacSha256Hex("secret_other", body)}`],
    ["tampered body", body.replace("properties_updated", "deleted"), good],
    [
      "unsigned verification-looking event",
      JSON.stringify({ verification_token: TOKEN, type: "page.deleted" }),
      null,
    ],
  ];
  for (const [label, payload, signature] of cases) {
    const { db, calls } = fakeDb({ notion_webhook_verification_keys: await trustedKeys() });
    const status = await statusOf(
      receiveNotionDelivery(
        { db, config: { TOKEN_ENCRYPTION_KEY: KEY } },
        post(payload, signature),
      ),
    );
    assert.equal(status, 401, label);
    assert.ok(
      calls.every((call) => call.name === "notion_webhook_verification_keys"),
      `${label}: only the trusted tokens were read (${calls.map((c) => c.name)})`,
    );
  }
});

Deno.test("a token sealed for another purpose never verifies", async () => {
  const body = event();
  const sealedElsewhere = await sealSecret(TOKEN, KEY, "calendar_connections:notion:x:y");
  const { db } = fakeDb({
    notion_webhook_verification_keys: () => [{ id: "k", token_encrypted: sealedElsewhere }],
  });
  const status = await statusOf(receiveNotionDelivery(
    { db, config: { TOKEN_ENCRYPTION_KEY: KEY } },
    post(body, `sha256=${await hmacSha256Hex(TOKEN, body)}`),
  ));
  assert.equal(status, 401);
});

Deno.test("a signed event is received in one call naming its data source and database", async () => {
  const body = event();
  const { db, calls } = fakeDb({
    notion_webhook_verification_keys: await trustedKeys(),
    notion_receive_event: () => ({
      duplicate: false,
      outcome: "marked",
      targets: [{ connection_id: "c1", calendar_id: DATA_SOURCE, user_id: "u1", running: false }],
    }),
  });
  const outcome = await receiveNotionDelivery(
    { db, config: { TOKEN_ENCRYPTION_KEY: KEY } },
    post(body, `sha256=${await hmacSha256Hex(TOKEN, body)}`),
  );
  assert.deepEqual(outcome, {
    status: "marked",
    targets: [{ connectionId: "c1", calendarId: DATA_SOURCE, userId: "u1", running: false }],
  });
  const received = calls.find((call) => call.name === "notion_receive_event")!;
  assert.equal(received.args.p_event_id, "0f1e2d3c-4b5a-4697-8877-665544332211");
  assert.equal(received.args.p_event_type, "page.properties_updated");
  assert.deepEqual((received.args.p_parent_ids as string[]).sort(), [DATABASE, DATA_SOURCE].sort());
  assert.equal(received.args.p_verification_id, "11111111-2222-3333-4444-555555555555");
});

Deno.test("the ids an event names: a data source entity and its database; never the page itself", () => {
  const contentUpdated = JSON.parse(event({
    type: "data_source.content_updated",
    entity: { id: DATA_SOURCE.replaceAll("-", ""), type: "data_source" },
    data: { parent: { id: DATABASE, type: "database" }, updated_blocks: [] },
  }));
  assert.deepEqual(parentIds(contentUpdated).sort(), [DATABASE, DATA_SOURCE].sort());
  const orphan = JSON.parse(event({ data: {} }));
  assert.deepEqual(parentIds(orphan), [], "no parent: the workspace decides");
});

Deno.test("the operator's read opens every unread token", async () => {
  const sealed = await sealSecret(TOKEN, KEY, "notion_webhook_verifications");
  const { db, calls } = fakeDb({
    notion_webhook_read_verifications: () => [{
      id: "t1",
      token_encrypted: sealed,
      received_at: "2026-12-01T09:00:00Z",
      last_received_at: "2026-12-01T09:00:00Z",
      times_received: 1,
    }],
  });
  const tokens = await readVerificationTokens({ db, config: { TOKEN_ENCRYPTION_KEY: KEY } });
  assert.deepEqual(tokens.map((token) => token.verification_token), [TOKEN]);
  assert.deepEqual(calls.map((call) => call.name), ["notion_webhook_read_verifications"]);
});
