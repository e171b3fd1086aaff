// The bundle's direct PostgreSQL connection (postgres.js on `SUPABASE_DB_URL`, which Supabase
// sets for every function), for the one call whose latency Google's push service waits on: the
// notification receiver's google_receive_notifications. Everything else goes through the Data
// API (db/client.ts).
//
// Why a second way in for that call: a Data API request is a transaction of its own inside
// PostgREST (BEGIN, set_config of the role and request, the call, COMMIT: four database round
// trips behind one HTTP request through the API gateway), where a prepared statement on an open
// connection is one. Measured on the local stack, that took the receiver's acknowledgement from
// ~2× a bare server's to ~1.4× (README, "Known limits").
//
// What it costs the database: one connection per warm instance of the receiver, closed after
// IDLE_SECONDS without a notification. When the database cannot give one (too many
// connections, a restart, a URL that is unreachable from the functions' network), the caller
// goes back to the Data API (db/fallback.ts), so a refused connection never loses a
// notification.
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

// SQLSTATE classes that say the database cannot serve this connection now, whatever the
// statement: connection exceptions, authorization (a rotated password), insufficient
// resources (too many connections) and operator intervention (shutdown, not accepting yet).
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P)/;

/**
 * Whether `error` says the direct connection is unavailable (then the same call through the
 * Data API may well succeed) rather than that the statement failed (then it would fail there
 * too). Anything that is not a PostgreSQL error (refused, reset, timed out, closed) counts as
 * unavailable.
 */
export function isDirectConnectionUnavailable(error: unknown): boolean {
  if (!(error instanceof postgres.PostgresError)) return true;
  return UNAVAILABLE_SQLSTATE.test(error.code);
}
