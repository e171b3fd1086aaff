// The deployment verifier's manifest (scripts/verify/manifest.ts): what the migrations make, read
// from them. The last tests hold it to the real migrations: every object a plain scan of
// supabase/migrations finds is in the manifest, and no statement is left unread, so a migration
// that adds something the verifier would miss fails here.
import assert from "node:assert/strict";
import {
  buildManifest,
  displayName,
  functionSignature,
  type Manifest,
  parseArgumentTypes,
  readMigrations,
} from "../../scripts/verify/manifest.ts";

const MIGRATIONS = new URL("../../supabase/migrations", import.meta.url).pathname;

function manifestOf(...scripts: string[]): Manifest {
  return buildManifest(scripts.map((sql, i) => ({ name: `${i}_test.sql`, sql })));
}

Deno.test("tables: columns, added and dropped columns, row level security, seeds", () => {
  const manifest = manifestOf(
    `create table public.things (
       id uuid primary key,
       "Label" text not null check (length("Label") > 0),
       amount numeric(10, 2) default 0,
       unique (id, amount),
       constraint positive check (amount >= 0)
     );
     alter table public.things enable row level security;
     insert into public.things (id) values (gen_random_uuid());`,
    `alter table things add column note text default 'a, b', add extra int,
       alter column amount set default 1, drop column amount;`,
  );
  assert.equal(manifest.tables.length, 1);
  const [table] = manifest.tables;
  assert.equal(displayName(table), "public.things");
  assert.deepEqual(table.columns.map((c) => c.name), ["id", "Label", "note", "extra"]);
  assert.deepEqual(table.columns.map((c) => c.source.file), [
    "0_test.sql",
    "0_test.sql",
    "1_test.sql",
    "1_test.sql",
  ]);
  assert.equal(table.rowLevelSecurity, true);
  assert.deepEqual(manifest.seeds.map((s) => displayName(s.table)), ["public.things"]);
  assert.deepEqual(manifest.unrecognised, []);
});

Deno.test("functions: input argument types as signatures, return types", () => {
  const manifest = manifestOf(`
    create or replace function public.f(
      p_id uuid, p_at TIMESTAMPTZ default now(), p_opts jsonb default '{"a": [1, 2]}'::jsonb,
      out p_result int, p_ratio double precision = 0.5, variadic p_tags text[] default '{}'
    ) returns setof record language sql as $$ select 1 $$;
    create function g(uuid, timestamp with time zone) returns table (a int, b text)
      language sql as $$ select 1, 'x' $$;
    create function h() returns trigger language plpgsql as $$ begin return null; end $$;`);
  assert.deepEqual(manifest.functions.map(functionSignature), [
    "public.f(uuid, timestamptz, jsonb, double precision, text[])",
    "public.g(uuid, timestamptz)",
    "public.h()",
  ]);
  assert.deepEqual(manifest.functions.map((f) => f.returns), [
    { type: "record", setOf: true, display: "setof record" },
    { type: "record", setOf: true, display: "table(…)" },
    { type: "trigger", setOf: false, display: "trigger" },
  ]);
  assert.deepEqual(parseArgumentTypes("p_x my schema.type"), {
    error: `cannot read the type of "p_x my schema.type"`,
  });
});

Deno.test("a later migration replaces or drops what an earlier one made", () => {
  const manifest = manifestOf(
    `create table t (id int); create index t_idx on t (id);
     create trigger t_touch before update on t for each row execute function touch();
     create policy "Readers" on t for select to authenticated using (true);
     create function keep(a int) returns int language sql as $$ select a $$;
     create function gone(a int) returns int language sql as $$ select a $$;
     create function gone(a text) returns int language sql as $$ select 1 $$;
     create view v as select 1;
     select cron.schedule('job-a', '* * * * *', $$ select 1 $$);
     select cron.schedule('job-b', '5 * * * *', $$ select 1 $$);`,
    `create or replace function keep(a integer) returns bigint language sql as $$ select 1 $$;
     drop function gone(integer);
     drop view if exists v;
     drop table t cascade;
     select cron.unschedule('job-a');
     select cron.schedule('job-b', '10 * * * *', $$ select 2 $$);`,
  );
  assert.deepEqual(manifest.functions.map((f) => [functionSignature(f), f.returns?.type]), [
    ["public.keep(integer)", "bigint"],
    ["public.gone(text)", "integer"],
  ]);
  assert.deepEqual(manifest.tables, []);
  assert.deepEqual(manifest.views, []);
  assert.deepEqual(manifest.indexes, []);
  assert.deepEqual(manifest.triggers, []);
  assert.deepEqual(manifest.policies, []);
  assert.deepEqual(manifest.cronJobs.map((j) => [j.name, j.schedule, j.source.file]), [
    ["job-b", "10 * * * *", "1_test.sql"],
  ]);
});

Deno.test("triggers, indexes, policies and extensions are read with what they belong to", () => {
  const manifest = manifestOf(`
    create extension if not exists pgcrypto with schema extensions;
    do $$ begin
      if exists (select 1 from pg_available_extensions where name = 'pg_net') then
        create extension if not exists pg_net;
      end if;
    end $$;
    create unique index if not exists q_waiting on public.q (k) where status = 'PENDING';
    create trigger users_gone before delete on auth.users
      for each row execute function public.release();
    create trigger q_cols after insert or update of a, b on public.q
      for each row when (current_user = 'authenticated') execute procedure public.touch();
    create policy "Users read their own rows" on public.q as permissive for select
      to authenticated using (true);
    create policy all_rows on public.q using (true);`);
  assert.deepEqual(manifest.extensions.map((e) => [e.name, e.conditional]), [
    ["pgcrypto", false],
    ["pg_net", true],
  ]);
  assert.deepEqual(manifest.indexes.map((i) => [displayName(i), displayName(i.table), i.unique]), [
    ["public.q_waiting", "public.q", true],
  ]);
  assert.deepEqual(
    manifest.triggers.map((t) => [t.name, displayName(t.table), displayName(t.function)]),
    [["users_gone", "auth.users", "public.release"], ["q_cols", "public.q", "public.touch"]],
  );
  assert.deepEqual(manifest.policies.map((p) => [p.name, p.command]), [
    ["Users read their own rows", "SELECT"],
    ["all_rows", "ALL"],
  ]);
  assert.deepEqual(manifest.unrecognised, []);
});

Deno.test("platform objects and Vault secret names come from code, not comments or text", () => {
  const manifest = manifestOf(`
    -- select vault.create_secret('x', 'from_a_comment');
    create function public.call() returns bigint language plpgsql as $$
    declare v text;
    begin
      select decrypted_secret into v from vault.decrypted_secrets where name = 'project_url';
      perform 1 from vault.decrypted_secrets where name in ('cron_secret', 'other''s');
      raise warning 'net.not_a_call and cron.job are only words here';
      return net.http_post(url := v);
    end $$;
    create view public.jobs as select jobname from cron.job;`);
  assert.deepEqual(manifest.platformObjects.map(displayName), [
    "vault.decrypted_secrets",
    "net.http_post",
    "cron.job",
  ]);
  assert.deepEqual(manifest.vaultSecrets.map((s) => s.name), [
    "project_url",
    "cron_secret",
    "other's",
  ]);
});

Deno.test("what the verifier cannot read is reported, not skipped", () => {
  const manifest = manifestOf(`
    create type public.mood as enum ('ok');
    create sequence public.counter;
    alter table public.t set schema archive;
    alter function public.f() rename to g;
    drop schema old;
    do $$ begin create table public.hidden (id int); end $$;
    select cron.schedule('* * * * *', $$ select 1 $$);
    select cron.schedule(v_name, '* * * * *', $$ select 1 $$);
    create index on public.t (id);
    vacuum;
    grant select on public.t to authenticated;
    comment on table public.t is 'fine';`);
  const expected = [
    "create type public.mood",
    "create sequence public.counter",
    "alter table public.t set schema",
    "alter function public.f() rename",
    "drop schema old",
    "do $$ begin create table",
    "select cron.schedule('* * * * *'",
    "select cron.schedule(v_name,",
    "create index on",
  ];
  assert.equal(manifest.unrecognised.length, expected.length);
  manifest.unrecognised.forEach((u, i) => assert.ok(u.excerpt.startsWith(expected[i]), u.excerpt));
});

// A plain scan, independent of the manifest's parser: names after the keywords that make things.
function scan(sql: string, pattern: RegExp): Set<string> {
  const code = sql.replace(/--[^\n]*/g, "");
  return new Set([...code.matchAll(pattern)].map((m) => m[1].toLowerCase()));
}

Deno.test("the manifest holds every object the migrations make (nothing unread)", async () => {
  const migrations = await readMigrations(MIGRATIONS);
  assert.ok(migrations.length >= 9, "the bundle's migrations are found");
  const manifest = buildManifest(migrations);
  assert.deepEqual(
    manifest.unrecognised.map((u) => `${u.source.file}:${u.source.line} ${u.reason}: ${u.excerpt}`),
    [],
    "statements the verifier cannot read: teach scripts/verify/manifest.ts",
  );

  const all = migrations.map((m) => m.sql).join("\n");
  // Made and not dropped again later (a plain scan: the first name of each DROP).
  const made = (kind: string, pattern: RegExp) => {
    const dropped = scan(
      all,
      new RegExp(`^\\s*drop\\s+${kind}\\s+(?:if\\s+exists\\s+)?(?:public\\.)?(\\w+)`, "gim"),
    );
    return [...scan(all, pattern)].filter((name) => !dropped.has(name)).sort();
  };
  const sorted = (names: string[]) => [...new Set(names)].sort();

  assert.deepEqual(
    sorted(manifest.tables.map((t) => t.name)),
    made("table", /^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?(?:public\.)?(\w+)/gim),
  );
  assert.deepEqual(
    sorted(manifest.views.map((v) => v.name)),
    made(
      "view",
      /^\s*create\s+(?:or\s+replace\s+)?(?:materialized\s+)?view\s+(?:public\.)?(\w+)/gim,
    ),
  );
  assert.deepEqual(
    sorted(manifest.functions.map((f) => f.name)),
    made("function", /^\s*create\s+(?:or\s+replace\s+)?function\s+(?:public\.)?(\w+)/gim),
  );
  assert.deepEqual(
    sorted(manifest.triggers.map((t) => t.name)),
    made("trigger", /^\s*create\s+(?:or\s+replace\s+)?trigger\s+(\w+)/gim),
  );
  assert.deepEqual(
    sorted(manifest.indexes.map((i) => i.name)),
    made("index", /^\s*create\s+(?:unique\s+)?index\s+(?:if\s+not\s+exists\s+)?(\w+)/gim),
  );
  assert.deepEqual(
    sorted(manifest.policies.map((p) => p.name.toLowerCase())),
    [...scan(all, /^\s*create\s+policy\s+"([^"]+)"/gim)].sort(),
  );
  const unscheduled = scan(all, /^\s*select\s+cron\.unschedule\('([^']+)'\)/gim);
  assert.deepEqual(
    sorted(manifest.cronJobs.map((j) => j.name)),
    [...scan(all, /cron\.schedule\(\s*'([^']+)'/gi)].filter((n) => !unscheduled.has(n)).sort(),
  );
  assert.deepEqual(
    sorted(manifest.extensions.map((e) => e.name)),
    [...scan(all, /create\s+extension\s+(?:if\s+not\s+exists\s+)?(\w+)/gi)].sort(),
  );
  assert.deepEqual(
    sorted(manifest.vaultSecrets.map((s) => s.name)),
    [...scan(all, /vault\.decrypted_secrets\s+where\s+name\s*=\s*'([^']+)'/gi)].sort(),
  );
});
