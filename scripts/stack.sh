#!/usr/bin/env bash
# The local stack without Docker: `stack.sh start|stop|status|wipe`.
#   PostgreSQL 15 (own cluster, pg_cron preloaded) + platform schema + migrations via the
#   Supabase CLI, then stack/supervisor.ts, which runs each part in its own process: PostgREST,
#   one Deno worker per Edge Function, the pg_net stand-in worker, the emulators
#   (tests/emulators/<name>/main.ts) and the gateway on API_PORT (stack/gateway_main.ts).
# Ports come from API_PORT (default 54321) and DB_PORT (default 54322); everything a stack owns
# lives under .stack/<API_PORT>/ (logs/<part>.log, pids/<part>.pid), so stacks on different
# ports run side by side. STACK_PROJECT_DIR (default: this repository) is the folder whose
# supabase/ holds config.toml, functions and migrations.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

API_PORT="${API_PORT:-54321}"
DB_PORT="${DB_PORT:-54322}"
JWT_SECRET="${JWT_SECRET:-super-secret-jwt-token-with-at-least-32-characters-long}"
STATE_DIR="$ROOT/.stack/$API_PORT"
DB_URL="postgresql://postgres:postgres@127.0.0.1:$DB_PORT/postgres"
STACK_PROJECT_DIR="${STACK_PROJECT_DIR:-$ROOT}"
export API_PORT DB_PORT JWT_SECRET STATE_DIR DB_URL STACK_PROJECT_DIR

# PostgreSQL refuses to run as root: as root the cluster belongs to the postgres user and lives
# where that user can reach it (a fresh clone may sit in a private temp folder).
if [ "$(id -u)" = 0 ]; then
  PG_USER=postgres
  PG_HOME="${TMPDIR:-/tmp}/calendar-sync-pg/$(printf '%s' "$ROOT" | md5sum | cut -c1-10)-$DB_PORT"
else
  PG_USER="$(id -un)"
  PG_HOME="$STATE_DIR/postgres"
fi
PGDATA="$PG_HOME/data"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg pg_ctl -D "$PGDATA" status >/dev/null 2>&1; }

supervisor_pid() {
  local pid
  pid="$(cat "$STATE_DIR/supervisor.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

start_postgres() {
  mkdir -p "$PG_HOME"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_HOME" "$(dirname "$PG_HOME")"; fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initialising a PostgreSQL 15 cluster in $PGDATA"
    local pwfile="$PG_HOME/pwfile"
    echo postgres >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_HOME'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
max_connections = 200
timezone = 'UTC'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  if ! pg_running; then
    log "starting PostgreSQL on 127.0.0.1:$DB_PORT"
    (close_inherited_fds; as_pg pg_ctl -D "$PGDATA" -o "-p $DB_PORT" -l "$PG_HOME/postgres.log" \
      -w -t 60 start </dev/null >/dev/null 2>&1) \
      || { tail -20 "$PG_HOME/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
}

# Until the first release migrations are edited in place, and the CLI never applies a version
# twice: a database that applied an older text of a migration would run new functions against
# an old schema. So the stack records what it applied and refuses to start on a changed file.
MIGRATIONS_RECORD="$PG_HOME/applied-migrations.sha256"

refuse_changed_migrations() {
  [ -f "$MIGRATIONS_RECORD" ] || return 0
  local changed
  changed=$(cd "$STACK_PROJECT_DIR/supabase/migrations" &&
    { sha256sum --quiet -c "$MIGRATIONS_RECORD" 2>/dev/null || true; } |
    sed -n 's/: FAILED.*//p' | tr '\n' ' ')
  [ -z "$changed" ] || die "migrations changed since this stack's database applied them: ${changed}" \
    "— run \`make wipe API_PORT=$API_PORT DB_PORT=$DB_PORT\` (deletes its local data) and start again"
}

apply_schema() {
  refuse_changed_migrations
  log "applying the platform schema"
  PGPASSWORD=postgres psql -q -X -v ON_ERROR_STOP=1 "$DB_URL" -f "$ROOT/stack/sql/platform.sql" >/dev/null
  log "applying migrations with the Supabase CLI"
  (cd "$STACK_PROJECT_DIR" && supabase migration up --db-url "$DB_URL" --include-all --yes 2>&1) | sed 's/^/  /' >&2
  (cd "$STACK_PROJECT_DIR/supabase/migrations" &&
    find . -maxdepth 1 -name '*.sql' -print0 | sort -z | xargs -0 -r sha256sum >"$MIGRATIONS_RECORD")
}

cmd_start() {
  mkdir -p "$STATE_DIR"
  if [ -n "$(supervisor_pid)" ]; then
    log "already running"
    cmd_status
    return 0
  fi
  "$ROOT/scripts/install.sh"
  start_postgres
  apply_schema
  echo "$PGDATA" >"$STATE_DIR/pgdata"
  rm -f "$STATE_DIR/status.env" "$STATE_DIR/supervisor.pid"
  log "starting PostgREST, functions, pg_net worker, emulators and gateway on :$API_PORT"
  (
    cd "$ROOT"
    close_inherited_fds
    exec setsid deno run -A --quiet stack/supervisor.ts
  ) </dev/null >"$STATE_DIR/supervisor.log" 2>&1 &
  for _ in $(seq 1 600); do
    [ -f "$STATE_DIR/status.env" ] && break
    if [ -f "$STATE_DIR/supervisor.pid" ] && [ -z "$(supervisor_pid)" ]; then
      tail -40 "$STATE_DIR/supervisor.log" >&2
      die "the stack did not start (log: $STATE_DIR/supervisor.log)"
    fi
    sleep 0.1
  done
  [ -f "$STATE_DIR/status.env" ] || die "the stack did not become ready in 60 s"
  # A function that does not boot does not stop the stack (it answers 503 and is retried).
  grep -E 'failed to start' "$STATE_DIR/supervisor.log" | sed 's/^/  /' >&2 || true
  log "ready"
  cmd_status
}

cmd_stop() {
  local pid
  pid="$(supervisor_pid)"
  if [ -n "$pid" ]; then
    log "stopping the supervisor (waits for background work of functions)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # The supervisor leads its own session: whatever is left of it goes too.
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE_DIR/supervisor.pid" "$STATE_DIR/status.env"
  rm -rf "$STATE_DIR/pids"
  if pg_running; then
    log "stopping PostgreSQL on :$DB_PORT"
    as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
}

cmd_status() {
  if [ -z "$(supervisor_pid)" ] || [ ! -f "$STATE_DIR/status.env" ]; then
    log "not running on API_PORT=$API_PORT (start it with: make stack API_PORT=$API_PORT DB_PORT=$DB_PORT)"
    return 1
  fi
  cat "$STATE_DIR/status.env"
}

cmd_wipe() {
  cmd_stop
  log "removing $STATE_DIR and $PG_HOME"
  rm -rf "$STATE_DIR" "$PG_HOME"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wipe) cmd_wipe ;;
  *) echo "usage: $0 start|stop|status|wipe" >&2; exit 2 ;;
esac
