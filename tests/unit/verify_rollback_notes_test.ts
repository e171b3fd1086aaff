// Every migration says how to roll it back ("-- Rollback:" in its header), and the SQL of that
// note names everything the migration makes. (tests/integration/verify_test.ts runs the notes on
// a scratch database.)
import assert from "node:assert/strict";
import { buildManifest, readMigrations } from "../../scripts/verify/manifest.ts";
import { objectsNotRolledBack, readRollbackNote } from "../../scripts/verify/rollback_notes.ts";

const MIGRATIONS = new URL("../../supabase/migrations", import.meta.url).pathname;

Deno.test("a note's SQL lines are the indented ones of the header's Rollback paragraph", () => {
  const note = readRollbackNote({
    name: "1_x.sql",
    sql: [
      "-- What this migration does.",
      "--   an indented line before the note is not part of it",
      "--",
      "-- Rollback: after 2_y.sql's:",
      "--   drop view public.v;",
      "--   drop table public.t,",
      "--     public.u;",
      "-- Data lost: t's rows.",
      "",
      "--   drop table public.not_in_the_header;",
      "create table public.t (id int);",
    ].join("\n"),
  });
  assert.deepEqual(note?.sql.split("\n"), [
    "drop view public.v;",
    "drop table public.t,",
    "public.u;",
  ]);
  assert.match(note!.text, /^Rollback: after 2_y\.sql's:\n/);
  assert.match(note!.text, /Data lost: t's rows\.$/);
  assert.equal(
    readRollbackNote({ name: "2.sql", sql: "-- no note\ncreate table t (id int);" }),
    null,
  );
});

Deno.test("a note that misses something the migration makes is caught", () => {
  const migrations = [
    { name: "1_base.sql", sql: "create table public.base (id int);" },
    {
      name: "2_more.sql",
      sql: `create table public.items (id int);
        create index items_idx on public.items (id);
        alter table public.base add column extra text;
        create trigger base_touch before update on public.base
          for each row execute function public.touch();
        create function public.touch() returns trigger language plpgsql
          as $$ begin return new; end $$;
        create policy "Readers" on public.base for select using (true);
        select cron.schedule('items-job', '* * * * *', $$ select 1 $$);`,
    },
  ];
  const manifest = buildManifest(migrations);
  assert.deepEqual(objectsNotRolledBack(manifest, "2_more.sql", "drop table public.items;"), [
    "function public.touch",
    "cron job 'items-job'",
    "trigger base_touch",
    `policy "Readers"`,
    "column of public.base extra",
  ]);
  assert.deepEqual(
    objectsNotRolledBack(
      manifest,
      "2_more.sql",
      `select cron.unschedule('items-job'); drop trigger base_touch on public.base;
       drop policy "Readers" on public.base; drop table public.items;
       drop function public.touch; alter table public.base drop column extra;`,
    ),
    [],
  );
});

Deno.test("every migration has a rollback note naming all it makes", async () => {
  const migrations = await readMigrations(MIGRATIONS);
  const manifest = buildManifest(migrations);
  for (const migration of migrations) {
    const note = readRollbackNote(migration);
    assert.ok(note?.sql, `${migration.name} has no "-- Rollback:" note with SQL in its header`);
    assert.match(note.text, /Data lost:/, `${migration.name}: say what data a rollback loses`);
    assert.deepEqual(
      objectsNotRolledBack(manifest, migration.name, note.sql),
      [],
      `${migration.name}'s rollback note does not drop these`,
    );
  }
});
