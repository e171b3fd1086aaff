// `make verify` (scripts/verify.ts) against the running stack's database, which it only reads,
// and against a scratch database this file migrates itself: there a view is dropped, a cron
// schedule and a function signature are changed, and each is named in a ❌ line with exit
// status 1. The same scratch database proves the migrations' rollback notes: run newest first,
// each removes what its migration made and leaves the earlier ones whole.

import assert from "node:assert/strict";
import postgres from "postgres";
import { connectDb, stack } from "../../devkit/stack.ts";
import { runChecks } from "../../scripts/verify/checks.ts";
import {
  buildManifest,
  type Manifest,
  type MigrationFile,
  readMigrations,
} from "../../scripts/verify/manifest.ts";
import { readRollbackNote } from "../../scripts/verify/rollback_notes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

// pg_cron installs its extension only in cron.database_name ("postgres": the stack's own
// database) or in a database named contrib_regression, pg_cron's test database. The scratch
// database needs the real extension (the migrations schedule jobs), so it takes that name. The
// stack's scheduler never runs jobs from it.
const SCRATCH_DB = "contrib_regression";
// Vault values the scratch database holds; verify must never print them.
const SECRET_VALUES = {
  project_url: "http://127.0.0.1:9/scratch-project",
  cron_secret: "scratch-cron-secret-4f1c9a",
};

function scratchUrl(): string {
  const url = new URL(stack.dbUrl);
  url.pathname = `/${SCRATCH_DB}`;
  return url.toString();
}

async function psqlFile(dbUrl: string, path: string): Promise<void> {
  const result = await new Deno.Command("psql", {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", dbUrl, "-f", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`psql -f ${path} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
}

async function dropScratchDatabase(): Promise<void> {
  const admin = connectDb();
  try {
    await admin.unsafe(`drop database if exists ${SCRATCH_DB} with (force)`);
  } finally {
    await admin.end();
  }
}

/** A database set up as the local stack sets up its own: platform schema, migrations, Vault. */
async function createScratchDatabase(migrations: MigrationFile[]): Promise<string> {
  await dropScratchDatabase();
  const admin = connectDb();
  try {
    await admin.unsafe(`create database ${SCRATCH_DB}`);
    await admin.unsafe(
      `alter database ${SCRATCH_DB} set search_path to "$user", public, extensions`,
    );
  } finally {
    await admin.end();
  }
  const url = scratchUrl();
  await psqlFile(url, `${ROOT}stack/sql/platform.sql`);
  for (const migration of migrations) {
    await psqlFile(url, `${ROOT}supabase/migrations/${migration.name}`);
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const [name, value] of Object.entries(SECRET_VALUES)) {
      await sql`select vault.create_secret(${value}, ${name})`;
    }
  } finally {
    await sql.end();
  }
  return url;
}

async function runVerify(dbUrl: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-net",
      "--allow-run=bash",
      `${ROOT}scripts/verify.ts`,
    ],
    env: { DB_URL: dbUrl },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  return {
    code: output.code,
    stdout,
    stderr: new TextDecoder().decode(output.stderr),
    failures: stdout.split("\n").filter((line) => line.startsWith("❌")),
  };
}

Deno.test("verify: the stack's database has everything the migrations make (exit 0)", async () => {
  const result = await runVerify(stack.dbUrl);
  assert.deepEqual(result.failures, [], result.stdout + result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^\d+ checks: (\d+) ✅, 0 ❌$/m);
  for (
    const line of [
      "✅ extension pg_cron",
      "✅ platform auth.users",
      "✅ table public.calendar_connections",
      "✅ view public.busy_intervals",
      "✅ function public.connection_upsert(uuid, text, text, text, text, text, timestamptz, text[], jsonb) → jsonb",
      "✅ trigger auth_users_release_connections on auth.users",
      "✅ cron job refresh-calendar-webhooks (* * * * *)",
      "✅ vault secret cron_secret",
    ]
  ) {
    assert.ok(result.stdout.includes(line), `expected a line starting "${line}"`);
  }
});

Deno.test("verify: names a dropped view, a changed schedule, signature, column, trigger, secret", async () => {
  const migrations = await readMigrations(`${ROOT}supabase/migrations`);
  const url = await createScratchDatabase(migrations);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const whole = await runVerify(url);
    assert.deepEqual(whole.failures, [], "the scratch database starts complete");
    assert.equal(whole.code, 0);
    for (const value of Object.values(SECRET_VALUES)) {
      assert.ok(!whole.stdout.includes(value) && !whole.stderr.includes(value));
    }

    await sql`drop view public.sync_operator_overview`;
    const viewDropped = await runVerify(url);
    assert.equal(viewDropped.code, 1);
    assert.equal(viewDropped.failures.length, 1, viewDropped.failures.join("\n"));
    assert.match(
      viewDropped.failures[0],
      /^❌ view public\.sync_operator_overview — missing \(20261130000700_health\.sql:\d+\)$/,
    );
    assert.match(
      viewDropped.stdout,
      /^Missing or different: view public\.sync_operator_overview$/m,
    );

    await sql`update cron.job set schedule = '*/5 * * * *' where jobname = 'serve-plan-marks'`;
    await sql`drop function public.whoami()`;
    await sql`create function public.whoami(p_verbose boolean) returns jsonb language sql
      as $$ select '{}'::jsonb $$`;
    await sql`alter table public.sync_conflicts drop column reason`;
    await sql`alter table public.sessions disable trigger sessions_before_write`;
    await sql`delete from vault.secrets where name = 'cron_secret'`;
    const changed = await runVerify(url);
    assert.equal(changed.code, 1);
    const expected = [
      /^❌ view public\.sync_operator_overview — missing/,
      /^❌ cron job serve-plan-marks \(\* \* \* \* \*\) — scheduled '\*\/5 \* \* \* \*', expected '\* \* \* \* \*'/,
      /^❌ function public\.whoami\(\) → jsonb — missing with these argument types; found whoami\(boolean\)/,
      /^❌ table public\.sync_conflicts — missing columns: reason/,
      /^❌ trigger sessions_before_write on public\.sessions — disabled/,
      /^❌ vault secret cron_secret — not set/,
    ];
    for (const pattern of expected) {
      assert.ok(changed.failures.some((line) => pattern.test(line)), `no line like ${pattern}`);
    }
    assert.equal(changed.failures.length, expected.length, changed.failures.join("\n"));
  } finally {
    await sql.end();
    await dropScratchDatabase();
  }
});

/** What `file` made, as a manifest: its objects, and the columns it added to earlier tables. */
function madeBy(manifest: Manifest, file: string): Manifest {
  const own = <T extends { source: { file: string } }>(items: T[]) =>
    items.filter((item) => item.source.file === file);
  return {
    extensions: [],
    platformObjects: [],
    vaultSecrets: [],
    unrecognised: [],
    tables: manifest.tables.map((table) =>
      table.source.file === file ? table : { ...table, columns: own(table.columns) }
    ).filter((table) => table.source.file === file || table.columns.length > 0),
    views: own(manifest.views),
    functions: own(manifest.functions),
    triggers: own(manifest.triggers),
    indexes: own(manifest.indexes),
    policies: own(manifest.policies),
    cronJobs: own(manifest.cronJobs),
    seeds: own(manifest.seeds),
  };
}

Deno.test("rollback notes, newest first: each removes its migration and keeps the earlier", async () => {
  const migrations = await readMigrations(`${ROOT}supabase/migrations`);
  const all = buildManifest(migrations);
  assert.ok(all.tables.length > 0 && all.functions.length > 0 && all.cronJobs.length > 0);
  const url = await createScratchDatabase(migrations);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let k = migrations.length - 1; k >= 0; k--) {
      const file = migrations[k].name;
      const note = readRollbackNote(migrations[k]);
      assert.ok(note?.sql, `${file} has no rollback SQL`);
      await sql.unsafe(note.sql);

      const left = (await runChecks(sql, madeBy(all, file))).filter((r) => r.ok)
        .map((r) => `${r.category} ${r.subject}`);
      assert.deepEqual(left, [], `${file}'s rollback leaves ${left.join("; ")}`);
      const earlier = buildManifest(migrations.slice(0, k));
      const broken = (await runChecks(sql, earlier)).filter((r) => !r.ok)
        .map((r) => `${r.category} ${r.subject}: ${r.detail}`);
      assert.deepEqual(broken, [], `${file}'s rollback breaks ${broken.join("; ")}`);
    }
    const [remaining] = await sql<{ relations: string[]; functions: string[]; jobs: string[] }[]>`
      select
        array(select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public') as relations,
        array(select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = 'public') as functions,
        array(select jobname from cron.job) as jobs`;
    assert.deepEqual(remaining, { relations: [], functions: [], jobs: [] });
  } finally {
    await sql.end();
    await dropScratchDatabase();
  }
});
