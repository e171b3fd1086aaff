import assert from "node:assert/strict";
import {
  GoogleApiError,
  GoogleConfigError,
  GoogleOAuth,
  googleSettings,
  ReauthRequiredError,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";
import { ConfigError, parseConfig } from "../../../../supabase/functions/_shared/config.ts";
import { type RecordedRequest, startFakeGoogle } from "./_fake_google.ts";

Deno.test("config: defaults, overrides, trailing slash, missing secrets", () => {
  const base = {
    SUPABASE_URL: "http://localhost:54321",
    SUPABASE_ANON_KEY: "anon",
    SUPABASE_SERVICE_ROLE_KEY: "service",
    TOKEN_ENCRYPTION_KEY: "bG9jYWwtc3RhY2stb25seS1kby1ub3QtZGVwbG95ISE=",
    GOOGLE_CLIENT_ID: "id",
    GOOGLE_CLIENT_SECRET: "secret",
  };
  const settings = (vars: Record<string, string>) => googleSettings(parseConfig(vars));
  const d = settings(base);
  assert.equal(d.oauthTokenUrl, "https://oauth2.googleapis.com/token");
  assert.equal(d.oauthRevokeUrl, "https://oauth2.googleapis.com/revoke");
  assert.equal(d.calendarApiUrl, "https://www.googleapis.com/");
  const o1 = settings({ ...base, GOOGLE_CALENDAR_API_URL: "http://emu:9000" });
  const o2 = settings({ ...base, GOOGLE_CALENDAR_API_URL: "http://emu:9000/g/" });
  assert.equal(o1.calendarApiUrl, "http://emu:9000/");
  assert.equal(o2.calendarApiUrl, "http://emu:9000/g/");
  const { GOOGLE_CLIENT_SECRET: _secret, ...withoutSecret } = base;
  assert.throws(() => settings(withoutSecret), ConfigError);
  assert.throws(() => settings({ ...base, GOOGLE_CLIENT_SECRET: "  " }), ConfigError);
  assert.throws(() => settings({ ...base, GOOGLE_OAUTH_TOKEN_URL: "not a url" }), ConfigError);
});

Deno.test("refresh: success sends the documented form and computes expiresAt from the clock", async () => {
  const g = startFakeGoogle();
  try {
    const oauth = new GoogleOAuth({
      config: g.config,
      clock: { now: () => 1_000_000, monotonic: () => 0 },
    });
    const grant = await oauth.refreshAccessToken("RT-1");
    assert.equal(grant.accessToken, "AT1");
    assert.equal(grant.expiresAt, 1_000_000 + 3599 * 1000);
    assert.equal(grant.scope, "https://www.googleapis.com/auth/calendar");
    assert.equal(grant.refreshToken, undefined);
    const [req] = g.tokenRequests();
    assert.equal(req.method, "POST");
    assert.match(req.headers.get("content-type") ?? "", /application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(req.body);
    assert.equal(form.get("grant_type"), "refresh_token");
    assert.equal(form.get("refresh_token"), "RT-1");
    assert.equal(form.get("client_id"), "client-id");
    assert.equal(form.get("client_secret"), "client-secret");
  } finally {
    await g.close();
  }
});

Deno.test("refresh: a rotated refresh_token in the response is surfaced", async () => {
  const g = startFakeGoogle();
  g.setToken(() =>
    Response.json({
      access_token: "A",
      expires_in: 60,
      refresh_token: "RT-2",
      token_type: "Bearer",
    })
  );
  try {
    const grant = await new GoogleOAuth({
      config: g.config,
      clock: { now: () => 0, monotonic: () => 0 },
    }).refreshAccessToken(
      "RT-1",
    );
    assert.equal(grant.refreshToken, "RT-2");
    assert.equal(grant.scope, null);
  } finally {
    await g.close();
  }
});

Deno.test("refresh: invalid_grant → ReauthRequiredError (not retryable)", async () => {
  const g = startFakeGoogle();
  g.setToken(() =>
    Response.json({
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    }, {
      status: 400,
    })
  );
  try {
    const err = await new GoogleOAuth({ config: g.config }).refreshAccessToken("RT").catch((e) =>
      e
    );
    assert.ok(err instanceof ReauthRequiredError);
    assert.equal(err.kind, "reauth_required");
    assert.equal(err.retryable, false);
    assert.equal(err.status, 400);
    assert.doesNotMatch(err.message + JSON.stringify(err), /RT|client-secret/);
    assert.equal(g.tokenRequests().length, 1, "gaxios must not retry on its own");
  } finally {
    await g.close();
  }
});

Deno.test("refresh: invalid_client → GoogleConfigError", async () => {
  const g = startFakeGoogle();
  g.setToken(() =>
    Response.json(
      { error: "invalid_client", error_description: "The OAuth client was not found." },
      {
        status: 401,
      },
    )
  );
  try {
    const err = await new GoogleOAuth({ config: g.config }).refreshAccessToken("RT").catch((e) =>
      e
    );
    assert.ok(err instanceof GoogleConfigError);
    assert.equal(err.kind, "config");
    assert.equal(err.retryable, false);
  } finally {
    await g.close();
  }
});

Deno.test("refresh: 503 and connection failure are retryable and not retried by gaxios", async () => {
  const g = startFakeGoogle();
  g.setToken(() => new Response("<html>busy</html>", { status: 503 }));
  try {
    const err = await new GoogleOAuth({ config: g.config }).refreshAccessToken("RT").catch((e) =>
      e
    );
    assert.ok(err instanceof GoogleApiError);
    assert.equal(err.kind, "server");
    assert.equal(err.retryable, true);
    assert.equal(g.tokenRequests().length, 1);
  } finally {
    await g.close();
  }
  // Server now closed: nothing listens on that port any more.
  const err = await new GoogleOAuth({ config: g.config }).refreshAccessToken("RT").catch((e) => e);
  assert.ok(err instanceof GoogleApiError);
  assert.equal(err.kind, "network");
  assert.equal(err.retryable, true);
});

Deno.test("code exchange: returns refresh token, access token, expiry and scope", async () => {
  const g = startFakeGoogle();
  g.setToken((req: RecordedRequest) => {
    const form = new URLSearchParams(req.body);
    assert.equal(form.get("grant_type"), "authorization_code");
    assert.equal(form.get("code"), "CODE");
    assert.equal(form.get("redirect_uri"), "https://app.example/cb");
    return Response.json({
      access_token: "AT",
      expires_in: 3599,
      refresh_token: "RT",
      scope: "openid https://www.googleapis.com/auth/calendar",
      token_type: "Bearer",
    });
  });
  try {
    const oauth = new GoogleOAuth({
      config: g.config,
      clock: { now: () => 5000, monotonic: () => 0 },
    });
    const grant = await oauth.exchangeAuthorizationCode("CODE", "https://app.example/cb");
    assert.deepEqual(grant, {
      refreshToken: "RT",
      accessToken: "AT",
      expiresAt: 5000 + 3599_000,
      scope: "openid https://www.googleapis.com/auth/calendar",
    });
  } finally {
    await g.close();
  }
});

Deno.test("code exchange: invalid_grant (used/expired code) → ReauthRequiredError", async () => {
  const g = startFakeGoogle();
  g.setToken(() => Response.json({ error: "invalid_grant" }, { status: 400 }));
  try {
    await assert.rejects(
      new GoogleOAuth({ config: g.config }).exchangeAuthorizationCode("C", "https://x/cb"),
      ReauthRequiredError,
    );
  } finally {
    await g.close();
  }
});
