// Calendly's delivery signature, as documented: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">, over
// the raw bytes, compared in constant time; malformed headers and oversized bodies refused.
import assert from "node:assert/strict";
import { HttpError } from "../../../../supabase/functions/_shared/http/errors.ts";
import { hmacSha256Hex } from "../../../../supabase/functions/_shared/security/crypto.ts";
import { readLimitedBody } from "../../../../supabase/functions/_shared/http/body.ts";
import {
  MAX_BODY_BYTES,
  parseSignatureHeader,
  signedWith,
} from "../../../../supabase/functions/_shared/providers/calendly/webhook.ts";

const body = new TextEncoder().encode('{"event":"invitee.created","payload":{"uri":"x"}}');

async function header(key: string, t: number, raw = body) {
  return `t=${t},v1=${await hmacSha256Hex(key, `${t}.${new TextDecoder().decode(raw)}`)}`;
}

function status(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof HttpError ? error.status : -1;
  }
}

Deno.test("a signature made with the key over t.body verifies; another key or body does not", async () => {
  const signed = parseSignatureHeader(await header("key-1", 1_700_000_000));
  assert.equal(await signedWith(body, signed, "key-1"), true);
  assert.equal(await signedWith(body, signed, "key-2"), false, "wrong key");
  const tampered = new TextEncoder().encode('{"event":"invitee.created","payload":{"uri":"y"}}');
  assert.equal(await signedWith(tampered, signed, "key-1"), false, "tampered body");
  const otherTime = { ...signed, timestamp: signed.timestamp + 1 };
  assert.equal(await signedWith(body, otherTime, "key-1"), false, "the timestamp is signed too");
});

Deno.test("an unsigned delivery is 401, a malformed header 400", () => {
  assert.equal(status(() => parseSignatureHeader(null)), 401);
  assert.equal(status(() => parseSignatureHeader("  ")), 401);
  assert.equal(status(() => parseSignatureHeader("t=1700000000")), 400, "no v1");
  assert.equal(status(() => parseSignatureHeader(`v1=${"a".repeat(64)}`)), 400, "no t");
  assert.equal(status(() => parseSignatureHeader(`t=soon,v1=${"a".repeat(64)}`)), 400);
  assert.equal(status(() => parseSignatureHeader("t=1700000000,v1=nothex")), 400);
  assert.equal(status(() => parseSignatureHeader(`t=1700000000,v1=${"A".repeat(64)}`)), null);
});

Deno.test("bodies over 256 KiB are refused with 413 without reading past the limit", async () => {
  const big = new Request("http://x/", { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1) });
  await assert.rejects(
    readLimitedBody(big, MAX_BODY_BYTES),
    (e) => e instanceof HttpError && e.status === 413,
  );
  // A lying content-length is still caught while streaming.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(64 * 1024));
      controller.close();
    },
  });
  const lying = new Request("http://x/", { method: "POST", body: stream });
  await assert.rejects(
    readLimitedBody(lying, MAX_BODY_BYTES),
    (e) => e instanceof HttpError && e.status === 413,
  );
  const ok = new Request("http://x/", { method: "POST", body });
  assert.deepEqual(await readLimitedBody(ok, MAX_BODY_BYTES), body);
});
