// How `make verify` reports (scripts/verify/report.ts): self-contained ✅/❌ lines, a summary
// naming what failed, and no password in a printed connection string.
import assert from "node:assert/strict";
import { formatLine, formatSummary, redactUrl } from "../../scripts/verify/report.ts";
import type { CheckResult } from "../../scripts/verify/checks.ts";

const source = { file: "20261130000100_sync_core.sql", line: 244 };
const results: CheckResult[] = [
  { category: "table", subject: "public.calendar_events", ok: true, detail: "21 columns", source },
  { category: "view", subject: "public.busy_intervals", ok: false, detail: "missing", source },
  { category: "cron job", subject: "serve-plan-marks (* * * * *)", ok: false, detail: "inactive" },
];

Deno.test("one line per check; a failure says where the migrations make it", () => {
  assert.deepEqual(results.map(formatLine), [
    "✅ table public.calendar_events — 21 columns",
    "❌ view public.busy_intervals — missing (20261130000100_sync_core.sql:244)",
    "❌ cron job serve-plan-marks (* * * * *) — inactive",
  ]);
});

Deno.test("the summary counts and names every failure", () => {
  assert.deepEqual(formatSummary(results), [
    "3 checks: 1 ✅, 2 ❌",
    "Missing or different: view public.busy_intervals; cron job serve-plan-marks (* * * * *)",
  ]);
  assert.deepEqual(formatSummary(results.slice(0, 1)), ["1 checks: 1 ✅, 0 ❌"]);
});

Deno.test("connection strings are printed without their password", () => {
  assert.equal(
    redactUrl("postgresql://postgres:s3cr%24t@db.abc.supabase.co:5432/postgres?sslmode=require"),
    "postgresql://postgres:***@db.abc.supabase.co:5432/postgres?sslmode=require",
  );
  assert.equal(
    redactUrl("postgresql://127.0.0.1:5432/postgres"),
    "postgresql://127.0.0.1:5432/postgres",
  );
  assert.equal(redactUrl("not a url s3cret"), "(a connection string that is not a URL)");
});
