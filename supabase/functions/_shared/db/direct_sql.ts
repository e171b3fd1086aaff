// The bundle's direct PostgreSQL connection (postgres.js on `SUPABASE_DB_URL`, which Supabase
// sets for every function), for the one call whose latency Google's push service waits on: the
// notification receiver's google_receive_notifications. Everything else goes through the Data
// API (db/client.ts).
//
// Why a second way in for that call: a Data API request is a transaction of its own inside
// PostgREST (BEGIN, set_config of the role and request, the call, COMMIT: four database round
// trips behind one HTTP request through the API gateway), where a prepared statement on an open
// connection is one. Measured on the local stack, that took the receiver's acknowledgement (p99,
// one at a time) from about 2× a bare server's to 1.1–1.5× (README, "Known limits").
//
// What it costs the database: one connection per warm instance of the receiver, closed after
// IDLE_SECONDS without a notification. Whatever fails on it (too many connections, a restart, a
// URL the functions' network cannot reach, a pooler that keeps no prepared statements, a role
// without the grant), the caller goes back to the Data API (db/fallback.ts), so the direct
// connection is never what loses a notification.
import postgres from "postgres";

export type DirectSql = postgres.Sql;

/** A quiet receiver gives its connection back this soon (seconds). */
const IDLE_SECONDS = 10;
/** How long opening the connection may take before the caller falls back (seconds). */
const CONNECT_TIMEOUT_SECONDS = 3;
/** A statement that runs longer than this is cancelled by the server (ms). */
const STATEMENT_TIMEOUT_MS = 10_000;

/** What pg_stat_activity shows for these connections. */
export const DIRECT_SQL_APPLICATION_NAME = "edge-function-direct";

export function createDirectSql(url: string): DirectSql {
  return postgres(url, {
    // One connection: the receiver sends one batch at a time (db/batched_call.ts).
    max: 1,
    idle_timeout: IDLE_SECONDS,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    // Hosted databases offer TLS; the local stack's does not.
    ssl: "prefer",
    connection: {
      application_name: DIRECT_SQL_APPLICATION_NAME,
      statement_timeout: STATEMENT_TIMEOUT_MS,
    },
    onnotice: () => {},
  });
}

/**
 * `query`'s answer, or a failure when the server has not answered within `timeoutMs`: a
 * connection gone silent (a network path that drops packets rather than refusing them) must not
 * hold its caller until the function's wall clock ends. The query is cancelled; whatever it
 * does later is ignored.
 */
export function answeredWithin<T>(
  query: Promise<T> & { cancel(): unknown },
  timeoutMs: number,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      Promise.resolve(query.cancel()).catch(() => {});
      reject(new Error(`the database did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  query.catch(() => {});
  return Promise.race([query, silence]).finally(() => clearTimeout(timer));
}
