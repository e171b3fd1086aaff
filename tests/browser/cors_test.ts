// The functions a browser calls answer CORS preflights (answered by the function itself, as
// when hosted: the gateway lets OPTIONS through without a JWT) with the headers supabase-js
// sends allowed, and expose Retry-After so a rate-limited page can tell when to try again.
// (A real cross-origin page calling them: status_page_test.ts.)
import assert from "node:assert/strict";
import { stack } from "../../devkit/stack.ts";
import { FUNCTIONS } from "../../web/client/mod.ts";

for (const name of Object.values(FUNCTIONS)) {
  Deno.test(`a browser may call ${name}: the preflight is answered with the CORS headers`, async () => {
    const response = await fetch(stack.functionUrl(name), {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.test",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, x-client-info, apikey, content-type",
      },
    });
    await response.body?.cancel();
    assert.ok(response.status >= 200 && response.status < 300, `preflight ${response.status}`);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase()
      .split(",").map((header) => header.trim());
    for (const header of ["authorization", "x-client-info", "apikey", "content-type"]) {
      assert.ok(allowed.includes(header), `${header} allowed: ${allowed}`);
    }
    assert.match(response.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
    assert.match(response.headers.get("access-control-expose-headers") ?? "", /retry-after/i);
  });
}

Deno.test("an answer (an error too) carries the CORS headers, so the page can read it", async () => {
  const response = await fetch(stack.functionUrl(FUNCTIONS.replan), {
    method: "POST",
    headers: { origin: "https://app.example.test", "content-type": "application/json" },
    body: "{}",
  });
  const body = await response.json();
  assert.equal(response.status, 401, JSON.stringify(body));
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
});
