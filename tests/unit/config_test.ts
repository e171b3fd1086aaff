// The receiver's direct connection settings, read and validated with every other secret.
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../supabase/functions/_shared/config.ts";

const base = {
  SUPABASE_URL: "https://project.supabase.co",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  TOKEN_ENCRYPTION_KEY: btoa(String.fromCharCode(...new Uint8Array(32))),
};

Deno.test("SUPABASE_DB_URL, as Supabase sets it, is used by default; GOOGLE_RECEIVER_DIRECT_DB=false turns it off", () => {
  const url = "postgresql://postgres:p%40ss@db.project.supabase.co:5432/postgres";
  const on = parseConfig({ ...base, SUPABASE_DB_URL: url });
  assert.equal(on.SUPABASE_DB_URL, url);
  assert.equal(on.GOOGLE_RECEIVER_DIRECT_DB, true);
  const off = parseConfig({ ...base, SUPABASE_DB_URL: url, GOOGLE_RECEIVER_DIRECT_DB: "false" });
  assert.equal(off.GOOGLE_RECEIVER_DIRECT_DB, false);
  assert.equal(parseConfig({ ...base, SUPABASE_DB_URL: " " }).SUPABASE_DB_URL, undefined);
});

Deno.test("a database URL that is not a connection string, or a flag that is not true/false, names itself", () => {
  assert.throws(
    () => parseConfig({ ...base, SUPABASE_DB_URL: "https://project.supabase.co" }),
    (error) => error instanceof ConfigError && /SUPABASE_DB_URL/.test(error.message),
  );
  assert.throws(
    () => parseConfig({ ...base, GOOGLE_RECEIVER_DIRECT_DB: "yes" }),
    (error) => error instanceof ConfigError && /GOOGLE_RECEIVER_DIRECT_DB/.test(error.message),
  );
});
