// Compares a database with the manifest: one result per expected object, read from the
// catalogs (pg_class, pg_proc, pg_trigger, pg_policies, pg_extension), cron.job and Vault. Read
// only: nothing is created, changed or called. Vault secrets are checked for presence and a
// non-empty value; their values never leave the database.

import type postgres from "postgres";
import {
  displayName,
  functionSignature,
  type Manifest,
  type QualifiedName,
  type Source,
} from "./manifest.ts";

type Sql = ReturnType<typeof postgres>;

export const CATEGORIES = [
  "migration",
  "extension",
  "platform",
  "table",
  "view",
  "function",
  "trigger",
  "index",
  "policy",
  "cron job",
  "seed row",
  "vault secret",
] as const;
export type Category = typeof CATEGORIES[number];

export interface CheckResult {
  category: Category;
  /** What was checked, e.g. "public.busy_intervals" or "refresh-calendar-webhooks (* * * * *)". */
  subject: string;
  ok: boolean;
  /** Why it failed, or a short note on what was found. */
  detail?: string;
  /** Where the migrations make it. */
  source?: Source;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function checkExtensions(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const names = sql.json(manifest.extensions.map((e) => e.name));
  const rows = await sql<{ name: string; version: string | null; available: boolean }[]>`
    select e.name, x.extversion as version,
      exists (select 1 from pg_catalog.pg_available_extensions a where a.name = e.name)
        as available
    from jsonb_array_elements_text(${names}::jsonb) as e(name)
    left join pg_catalog.pg_extension x on x.extname = e.name`;
  const found = new Map(rows.map((row) => [row.name, row]));
  return manifest.extensions.map(({ name, conditional, source }) => {
    const row = found.get(name);
    const result = { category: "extension" as const, subject: name, source };
    if (row?.version) return { ...result, ok: true, detail: `version ${row.version}` };
    if (conditional && !row?.available) {
      // The migration creates it only where the server offers it; what the bundle uses of it is
      // checked with the platform objects (the local stack's stand-in provides the same ones).
      return {
        ...result,
        ok: true,
        detail: "not offered by this server (created only where offered)",
      };
    }
    const detail = row?.available
      ? "not installed"
      : "not installed and not offered by this server";
    return { ...result, ok: false, detail };
  });
}

async function checkPlatformObjects(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const expected = sql.json(manifest.platformObjects.map(({ schema, name }) => ({ schema, name })));
  const rows = await sql<{ schema: string; name: string; kind: string | null }[]>`
    select e.schema, e.name,
      coalesce(
        (select case when c.relkind in ('r', 'p') then 'table'
            when c.relkind in ('v', 'm') then 'view' else 'relation' end
          from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where n.nspname = e.schema and c.relname = e.name),
        (select 'function' from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
          where n.nspname = e.schema and p.proname = e.name limit 1)) as kind
    from jsonb_to_recordset(${expected}::jsonb) as e(schema text, name text)`;
  const found = new Map(rows.map((row) => [`${row.schema}.${row.name}`, row.kind]));
  return manifest.platformObjects.map((object) => {
    const kind = found.get(displayName(object));
    return {
      category: "platform",
      subject: displayName(object),
      ok: !!kind,
      detail: kind ?? "missing (the migrations use it; the platform provides it)",
      source: object.source,
    };
  });
}

interface RelationRow {
  schema: string;
  name: string;
  relkind: string | null;
  rls: boolean | null;
  columns: string[];
  unique: boolean | null;
  index_table: string | null;
}

async function readRelations(sql: Sql, names: QualifiedName[]): Promise<Map<string, RelationRow>> {
  const expected = sql.json(names.map(({ schema, name }) => ({ schema, name })));
  const rows = await sql<RelationRow[]>`
    select e.schema, e.name, c.relkind::text as relkind, c.relrowsecurity as rls,
      coalesce((select array_agg(a.attname::text order by a.attnum) from pg_catalog.pg_attribute a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}') as columns,
      i.indisunique as unique,
      (select format('%s.%s', tn.nspname, t.relname) from pg_catalog.pg_class t
        join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace where t.oid = i.indrelid)
        as index_table
    from jsonb_to_recordset(${expected}::jsonb) as e(schema text, name text)
    left join pg_catalog.pg_namespace n on n.nspname = e.schema
    left join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = e.name
    left join pg_catalog.pg_index i on i.indexrelid = c.oid`;
  return new Map(rows.map((row) => [`${row.schema}.${row.name}`, row]));
}

const RELKIND: Record<string, string> = {
  r: "a table",
  p: "a partitioned table",
  v: "a view",
  m: "a materialized view",
  i: "an index",
  I: "a partitioned index",
  S: "a sequence",
  f: "a foreign table",
  c: "a type",
};

function isA(relkind: string): string {
  return `is ${RELKIND[relkind] ?? `of kind ${relkind}`}`;
}

async function checkRelations(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const relations = await readRelations(sql, [
    ...manifest.tables,
    ...manifest.views,
    ...manifest.indexes,
  ]);
  const results: CheckResult[] = [];
  for (const table of manifest.tables) {
    const row = relations.get(displayName(table));
    let detail: string | undefined;
    if (!row?.relkind) detail = "missing";
    else if (row.relkind !== "r" && row.relkind !== "p") detail = isA(row.relkind);
    else {
      const missing = table.columns.filter((c) => !row.columns.includes(c.name)).map((c) => c.name);
      detail = [
        ...(missing.length ? [`missing columns: ${missing.join(", ")}`] : []),
        ...(table.rowLevelSecurity && !row.rls ? ["row level security is off"] : []),
      ].join("; ") || undefined;
    }
    const found = `${table.columns.length} columns` +
      (table.rowLevelSecurity ? ", row level security on" : "");
    results.push({
      category: "table",
      subject: displayName(table),
      ok: !detail,
      detail: detail ?? found,
      source: table.source,
    });
  }
  for (const view of manifest.views) {
    const row = relations.get(displayName(view));
    const wanted = view.materialized ? "m" : "v";
    let detail: string | undefined;
    if (!row?.relkind) detail = "missing";
    else if (row.relkind !== wanted) detail = isA(row.relkind);
    results.push({
      category: "view",
      subject: displayName(view),
      ok: !detail,
      detail,
      source: view.source,
    });
  }
  for (const index of manifest.indexes) {
    const row = relations.get(displayName(index));
    let detail: string | undefined;
    if (!row?.relkind) detail = "missing";
    else if (row.relkind !== "i" && row.relkind !== "I") detail = isA(row.relkind);
    else if (row.index_table !== displayName(index.table)) detail = `is on ${row.index_table}`;
    else if (index.unique && !row.unique) detail = "is not unique";
    results.push({
      category: "index",
      subject: `${displayName(index)} on ${displayName(index.table)}`,
      ok: !detail,
      detail,
      source: index.source,
    });
  }
  return results;
}

async function checkFunctions(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const expected = sql.json(manifest.functions.map((fn) => ({
    key: functionSignature(fn),
    schema: fn.schema,
    name: fn.name,
    arg_types: fn.argTypes,
    returns: fn.returns?.type ?? null,
    returns_set: fn.returns?.setOf ?? null,
  })));
  // to_regtype resolves each argument type as the server spells it (timestamptz = timestamp with
  // time zone); the function is found by name and exactly those types, in order.
  const rows = await sql<{
    key: string;
    unknown_types: string[] | null;
    found: boolean;
    returns_match: boolean | null;
    result: string | null;
    others: string[] | null;
  }[]>`
    select e.key,
      (select array_agg(t) from unnest(e.arg_types) as t where to_regtype(t) is null)
        as unknown_types,
      p.oid is not null as found,
      p.prorettype = to_regtype(e.returns) and p.proretset = e.returns_set as returns_match,
      pg_catalog.pg_get_function_result(p.oid) as result,
      (select array_agg(format('%s(%s)', o.proname, pg_catalog.oidvectortypes(o.proargtypes)))
        from pg_catalog.pg_proc o join pg_catalog.pg_namespace n on n.oid = o.pronamespace
        where n.nspname = e.schema and o.proname = e.name) as others
    from jsonb_to_recordset(${expected}::jsonb)
      as e(key text, schema text, name text, arg_types text[], returns text, returns_set boolean)
    left join lateral (
      select p.oid, p.prorettype, p.proretset from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = e.schema and p.proname = e.name
        -- oidvector's text form: the argument types' oids, space-separated.
        and p.proargtypes::text = array_to_string(array(
          select coalesce(to_regtype(t)::oid, 0)
          from unnest(e.arg_types) with ordinality as u(t, i) order by i), ' ')) p on true`;
  const found = new Map(rows.map((row) => [row.key, row]));
  return manifest.functions.map((fn) => {
    const signature = functionSignature(fn);
    const row = found.get(signature);
    let detail: string | undefined;
    if (row?.unknown_types?.length) {
      detail = `argument types do not exist: ${row.unknown_types.join(", ")}`;
    } else if (!row?.found) {
      detail = row?.others?.length
        ? `missing with these argument types; found ${row.others.join(", ")}`
        : "missing";
    } else if (row.returns_match === false) {
      detail = `returns ${row.result}`;
    }
    return {
      category: "function",
      subject: fn.returns ? `${signature} → ${fn.returns.display}` : signature,
      ok: !detail,
      detail,
      source: fn.source,
    };
  });
}

async function checkTriggers(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const expected = sql.json(manifest.triggers.map((t) => ({
    schema: t.table.schema,
    table_name: t.table.name,
    name: t.name,
  })));
  const rows = await sql<{
    schema: string;
    table_name: string;
    name: string;
    enabled: string | null;
    function: string | null;
  }[]>`
    select e.schema, e.table_name, e.name, t.tgenabled::text as enabled,
      format('%s.%s', pn.nspname, p.proname) as function
    from jsonb_to_recordset(${expected}::jsonb) as e(schema text, table_name text, name text)
    left join pg_catalog.pg_namespace n on n.nspname = e.schema
    left join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = e.table_name
    left join pg_catalog.pg_trigger t
      on t.tgrelid = c.oid and t.tgname = e.name and not t.tgisinternal
    left join pg_catalog.pg_proc p on p.oid = t.tgfoid
    left join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace`;
  const found = new Map(rows.map((row) => [`${row.schema}.${row.table_name}/${row.name}`, row]));
  return manifest.triggers.map((trigger) => {
    const row = found.get(`${displayName(trigger.table)}/${trigger.name}`);
    const wanted = displayName(trigger.function);
    let detail: string | undefined;
    if (!row?.enabled) detail = "missing";
    else if (row.function !== wanted) detail = `calls ${row.function}, not ${wanted}`;
    else if (row.enabled === "D") detail = "disabled";
    return {
      category: "trigger",
      subject: `${trigger.name} on ${displayName(trigger.table)}`,
      ok: !detail,
      detail,
      source: trigger.source,
    };
  });
}

async function checkPolicies(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const expected = sql.json(manifest.policies.map((p) => ({
    schema: p.table.schema,
    table_name: p.table.name,
    name: p.name,
  })));
  const rows = await sql<{ schema: string; table_name: string; name: string; cmd: string }[]>`
    select p.schemaname::text as schema, p.tablename::text as table_name,
      p.policyname::text as name, p.cmd
    from pg_catalog.pg_policies p
    join jsonb_to_recordset(${expected}::jsonb) as e(schema text, table_name text, name text)
      on e.schema = p.schemaname and e.table_name = p.tablename and e.name = p.policyname`;
  const found = new Map(rows.map((row) => [`${row.schema}.${row.table_name}/${row.name}`, row]));
  return manifest.policies.map((policy) => {
    const row = found.get(`${displayName(policy.table)}/${policy.name}`);
    let detail: string | undefined;
    if (!row) detail = "missing";
    else if (row.cmd !== policy.command) detail = `is FOR ${row.cmd}`;
    return {
      category: "policy",
      subject: `"${policy.name}" on ${displayName(policy.table)} (${policy.command})`,
      ok: !detail,
      detail,
      source: policy.source,
    };
  });
}

async function checkCronJobs(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const subject = (job: { name: string; schedule: string }) => `${job.name} (${job.schedule})`;
  let jobs: Record<string, unknown>[];
  try {
    // to_jsonb: cron.job's columns differ between pg_cron versions (`active` came with 1.3).
    const rows = await sql<{ job: Record<string, unknown> }[]>`
      select to_jsonb(j) as job from cron.job j
      where j.jobname = any(${manifest.cronJobs.map((j) => j.name)}::text[])`;
    jobs = rows.map((row) => row.job);
  } catch (error) {
    return manifest.cronJobs.map((job) => ({
      category: "cron job",
      subject: subject(job),
      ok: false,
      detail: `cron.job cannot be read: ${errorMessage(error)}`,
      source: job.source,
    }));
  }
  return manifest.cronJobs.map((job) => {
    const found = jobs.filter((row) => row.jobname === job.name);
    let detail: string | undefined;
    if (found.length === 0) detail = "not scheduled";
    else if (found.every((row) => row.schedule !== job.schedule)) {
      const schedules = found.map((row) => `'${row.schedule}'`).join(", ");
      detail = `scheduled ${schedules}, expected '${job.schedule}'`;
    } else if (found.every((row) => row.active === false)) detail = "inactive";
    return { category: "cron job", subject: subject(job), ok: !detail, detail, source: job.source };
  });
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function checkSeeds(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const relations = await readRelations(sql, manifest.seeds.map((s) => s.table));
  const results: CheckResult[] = [];
  for (const { table, source } of manifest.seeds) {
    let detail: string | undefined;
    if (!relations.get(displayName(table))?.relkind) detail = "its table is missing";
    else {
      const name = `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
      const [{ seeded }] = await sql.unsafe<{ seeded: boolean }[]>(
        `select exists (select 1 from ${name}) as seeded`,
      );
      if (!seeded) detail = "has no row";
    }
    results.push({
      category: "seed row",
      subject: displayName(table),
      ok: !detail,
      detail,
      source,
    });
  }
  return results;
}

async function checkVaultSecrets(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const names = manifest.vaultSecrets.map((s) => s.name);
  let hasValue: Map<string, boolean>;
  try {
    // Only whether a value is there crosses the wire, never the value.
    const rows = await sql<{ name: string; has_value: boolean }[]>`
      select s.name, bool_or(coalesce(length(s.decrypted_secret), 0) > 0) as has_value
      from vault.decrypted_secrets s where s.name = any(${names}::text[])
      group by s.name`;
    hasValue = new Map(rows.map((row) => [row.name, row.has_value]));
  } catch (error) {
    return manifest.vaultSecrets.map(({ name, source }) => ({
      category: "vault secret",
      subject: name,
      ok: false,
      detail: `vault.decrypted_secrets cannot be read: ${errorMessage(error)}`,
      source,
    }));
  }
  return manifest.vaultSecrets.map(({ name, source }) => {
    let detail: string | undefined;
    if (!hasValue.has(name)) detail = `not set: select vault.create_secret('<value>', '${name}');`;
    else if (!hasValue.get(name)) detail = "set, but empty";
    return { category: "vault secret", subject: name, ok: !detail, detail, source };
  });
}

/** Statements of the migrations the manifest could not read: what they make goes unchecked. */
function unrecognisedStatements(manifest: Manifest): CheckResult[] {
  return manifest.unrecognised.map((statement) => ({
    category: "migration",
    subject: statement.excerpt,
    ok: false,
    detail:
      `not understood by the verifier (${statement.reason}): teach scripts/verify/manifest.ts`,
    source: statement.source,
  }));
}

/** Every check, in CATEGORIES order (within a category: migration order). */
export async function runChecks(sql: Sql, manifest: Manifest): Promise<CheckResult[]> {
  const results = [
    ...unrecognisedStatements(manifest),
    ...await checkExtensions(sql, manifest),
    ...await checkPlatformObjects(sql, manifest),
    ...await checkRelations(sql, manifest),
    ...await checkFunctions(sql, manifest),
    ...await checkTriggers(sql, manifest),
    ...await checkPolicies(sql, manifest),
    ...await checkCronJobs(sql, manifest),
    ...await checkSeeds(sql, manifest),
    ...await checkVaultSecrets(sql, manifest),
  ];
  const order = (result: CheckResult) => CATEGORIES.indexOf(result.category);
  // Array.prototype.sort is stable: migration order survives within a category.
  return results.sort((a, b) => order(a) - order(b));
}
