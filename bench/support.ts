// Statistics and formatting shared by every benchmark: percentiles, numbers, ratios against a
// baseline measured in the same run, and the tables they are printed in.
import { DIRECT_SQL_APPLICATION_NAME } from "../supabase/functions/_shared/db/direct_sql.ts";

/** Nearest-rank percentile of an unsorted sample (p in 0..100). */
export function percentile(sample: number[], p: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(sample: number[]): number {
  return percentile(sample, 50);
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A latency table's columns for a sample of ms: how many, p50, p95 and max. */
export function latencyColumns(sample: number[], digits = 0): string[] {
  return [
    String(sample.length),
    fmt(percentile(sample, 50), digits),
    fmt(percentile(sample, 95), digits),
    fmt(Math.max(...sample), digits),
  ];
}

export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

/** "12.3x" — how many times `baseline` is of `project` (for costs: > 1 means the project wins). */
export function ratio(baseline: number, project: number): string {
  if (!Number.isFinite(baseline) || !Number.isFinite(project) || project === 0) return "n/a";
  return `${fmt(baseline / project, 1)}x`;
}

/** A markdown-style table with right-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Database round trips, counted where they land.

/**
 * One database request: a request PostgREST served (its HTTP method and path: `/rpc/<function>`
 * or `/<table>`), or a statement on the functions' direct connection (method `DIRECT`, path
 * `/rpc/<function>` of the SQL function it calls).
 */
export interface DatabaseRequest {
  method: string;
  path: string;
}

/** The few calls of `postgres` (postgres.js) the counter needs; any connection as a superuser. */
type SuperuserSql = {
  unsafe(query: string): PromiseLike<readonly Record<string, unknown>[]>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PostgreSQL's log line prefix while counting: the default one, plus the application name. */
const LOG_LINE_PREFIX = "%m [%p] app=%a ";

/**
 * Counts the requests the Edge Functions make of the database, from PostgreSQL's own statement
 * log. Every PostgREST request is one transaction that first sets `request.method` and
 * `request.path` with set_config(); with `log_statement = 'all'` PostgreSQL logs that statement
 * with its parameters. The one direct connection (the Google receiver's, db/direct_sql.ts) is
 * told apart by its application name, which the counter adds to each log line while it counts.
 * So the count is what the database itself saw, and nothing of the product is wrapped, patched
 * or re-implemented for it: one request = one database round trip from a function.
 *
 * Logging every statement slows the database down: count only around the flows being counted,
 * never while timing. `log_statement` is set with ALTER SYSTEM (it must reach PostgREST's
 * pooled sessions, which a per-role setting would not) and reset by `stop()`; the log is read
 * with pg_read_file, so it needs a superuser connection (the local stack's DB_URL is one).
 */
export class DatabaseRequestCounter {
  private constructor(
    private readonly sql: SuperuserSql,
    private readonly logPath: string,
    private readonly offset: number,
  ) {}

  static async start(sql: SuperuserSql): Promise<DatabaseRequestCounter> {
    // The local stack starts PostgreSQL with `pg_ctl -l <its folder>/postgres.log`, next to the
    // data directory (scripts/stack.sh).
    const [{ dir }] = await sql.unsafe(`select current_setting('data_directory') as dir`);
    const logPath = String(dir).replace(/\/data\/?$/, "/postgres.log");
    const [{ size }] = await sql.unsafe(
      `select (pg_stat_file('${logPath.replaceAll("'", "''")}', true)).size as size`,
    );
    if (size === null) throw new Error(`PostgreSQL's log is not at ${logPath}`);
    await sql.unsafe(`alter system set log_statement = 'all'`);
    await sql.unsafe(`alter system set log_line_prefix = '${LOG_LINE_PREFIX}'`);
    await sql.unsafe(`select pg_reload_conf()`);
    // Backends pick the new setting up at their next command after the postmaster's SIGHUP.
    await sleep(300);
    return new DatabaseRequestCounter(sql, logPath, Number(size));
  }

  /** Stops logging and returns every database request since start(), in log order. */
  async stop(): Promise<DatabaseRequest[]> {
    await sleep(100);
    await this.sql.unsafe(`alter system reset log_statement`);
    await this.sql.unsafe(`alter system reset log_line_prefix`);
    await this.sql.unsafe(`select pg_reload_conf()`);
    await sleep(300);
    const path = this.logPath.replaceAll("'", "''");
    const [{ text }] = await this.sql.unsafe(
      `select pg_read_file('${path}', ${this.offset},
        greatest((pg_stat_file('${path}')).size - ${this.offset}, 0)) as text`,
    );
    return parseDatabaseRequests(String(text ?? ""));
  }
}

/**
 * The requests in a stretch of PostgreSQL's log written with `log_statement = 'all'`: each
 * PostgREST transaction's `set_config('request.method', $m, true), set_config('request.path',
 * $p, true)` statement, followed by its `DETAIL:  parameters: $1 = '…', …` line; and each
 * statement the direct connection executed (`app=<its name> LOG:  execute <name>: select
 * public.<function>(`).
 */
export function parseDatabaseRequests(log: string): DatabaseRequest[] {
  const requests: DatabaseRequest[] = [];
  const lines = log.split("\n");
  const direct = new RegExp(
    `app=${DIRECT_SQL_APPLICATION_NAME} LOG:  execute [^:]*: select public\\.(\\w+)\\(`,
  );
  for (let i = 0; i < lines.length; i++) {
    const call = direct.exec(lines[i]);
    if (call) {
      requests.push({ method: "DIRECT", path: `/rpc/${call[1]}` });
      continue;
    }
    const statement =
      /set_config\('request\.method', \$(\d+), true\).*set_config\('request\.path', \$(\d+), true\)/
        .exec(lines[i]);
    if (!statement) continue;
    const detail = lines.slice(i + 1, i + 4).find((line) => line.includes("DETAIL:  parameters:"));
    if (!detail) continue;
    const values = new Map<string, string>();
    for (const match of detail.matchAll(/\$(\d+) = '((?:[^']|'')*)'/g)) {
      values.set(match[1], match[2].replaceAll("''", "'"));
    }
    const method = values.get(statement[1]);
    const path = values.get(statement[2]);
    if (method && path) requests.push({ method, path });
  }
  return requests;
}

/** How many requests of each `METHOD path`, most frequent first. */
export function countRequests(requests: DatabaseRequest[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const { method, path } of requests) {
    const key = `${method} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

// ---------------------------------------------------------------------------------------------
// Where the CPU went.

/** Jiffies per second on Linux (USER_HZ; 100 on every common kernel). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system, all threads) a process used so far, from /proc (Linux); with
 * `reapedChildren`, also what its exited children used (a postmaster's finished backends).
 * NaN when the process is gone or /proc cannot be read.
 */
export function cpuSeconds(pid: number, reapedChildren = false): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const own = fields[11] + fields[12];
    return (reapedChildren ? own + fields[13] + fields[14] : own) / USER_HZ;
  } catch {
    return NaN;
  }
}

/**
 * CPU ticks of the whole machine so far, and how many of them the hypervisor gave to other
 * guests (steal; Linux /proc/stat). Null when /proc cannot be read.
 */
export function machineTicks(): { total: number; steal: number } | null {
  try {
    const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, steal: cpu[7] ?? 0 };
  } catch {
    return null;
  }
}

/** The pids of a process's live children (Linux). */
export function childPids(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
