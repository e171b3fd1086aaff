// `make verify [DB_URL=postgresql://…]`: checks that a deployed database has everything the
// bundle's migrations create and the platform pieces they use, one ✅/❌ line each.
//
//   deno run -A scripts/verify.ts [--db-url URL] [--migrations DIR]
//
// DB_URL (or --db-url) is a PostgreSQL connection string with the rights to read the catalogs,
// cron.job and vault.decrypted_secrets (on Supabase: the `postgres` user's direct connection or
// session pooler string). Without one, the local stack's is used when a stack is running
// (API_PORT / DB_PORT pick which). Exit status: 0 all present, 1 something missing or
// different, 2 nothing could be checked (no DB_URL, no connection).

import postgres from "postgres";
import { runChecks } from "./verify/checks.ts";
import { buildManifest, readMigrations } from "./verify/manifest.ts";
import { formatLine, formatSummary, redactUrl } from "./verify/report.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at !== -1) return args[at + 1];
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** The running local stack's DB_URL (from `scripts/stack.sh status`), or undefined. */
async function localStackDbUrl(): Promise<string | undefined> {
  const status = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/stack.sh`, "status"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!status.success) return undefined;
  const line = new TextDecoder().decode(status.stdout).split("\n")
    .find((l) => l.startsWith("DB_URL="));
  return line?.slice("DB_URL=".length).trim() || undefined;
}

async function main(args: string[]): Promise<number> {
  const migrationsDir = option(args, "--migrations") ?? `${ROOT}supabase/migrations`;
  let dbUrl = option(args, "--db-url") ?? Deno.env.get("DB_URL") ?? "";
  if (!dbUrl) {
    dbUrl = await localStackDbUrl() ?? "";
    if (!dbUrl) {
      console.error(
        "DB_URL is required: make verify DB_URL='postgresql://postgres:<password>@db.<ref>.supabase.co:5432/postgres'\n" +
          "(or start the local stack, whose database is used when DB_URL is not given: make stack)",
      );
      return 2;
    }
    console.log(`DB_URL not given: checking the running local stack's database`);
  }

  const migrations = await readMigrations(migrationsDir);
  const manifest = buildManifest(migrations);
  console.log(
    `Checking ${redactUrl(dbUrl)} against ${migrations.length} migrations in ${migrationsDir}`,
  );

  // prepare: false, so Supabase's transaction pooler (which has no prepared statements) works too.
  const sql = postgres(dbUrl, { max: 1, prepare: false, connect_timeout: 15, onnotice: () => {} });
  try {
    const results = await runChecks(sql, manifest);
    for (const result of results) console.log(formatLine(result));
    for (const line of formatSummary(results)) console.log(line);
    return results.every((result) => result.ok) ? 0 : 1;
  } catch (error) {
    console.error(
      `❌ cannot check ${redactUrl(dbUrl)}: ${error instanceof Error ? error.message : error}`,
    );
    return 2;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
