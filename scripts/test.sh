#!/usr/bin/env bash
# `make test`: static checks, then a private stack on free ports (never the developer's), pgTAP
# through pg_prove, and the Deno tests (unit, emulator and integration). Exits non-zero on any
# failure and always stops and deletes the private stack.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=test
cd "$ROOT"

failures=0
step() { log "$1"; shift; "$@" || { log "FAILED: $*"; failures=$((failures + 1)); }; }

bash scripts/install.sh || exit 1
ts_files=$(git ls-files --cached --others --exclude-standard '*.ts')
step "deno fmt --check" deno fmt --check
step "deno lint" deno lint
# shellcheck disable=SC2086
step "deno check" deno check --quiet $ts_files

source scripts/private_stack.sh
start_private_stack || { log "the private stack did not start"; exit 1; }

pgtap_log="$(mktemp)"
log "pgTAP (pg_prove) on the private stack"
PGPASSWORD=postgres pg_prove -h 127.0.0.1 -p "$DB_PORT" -U postgres -d postgres \
  --ext .sql -r supabase/tests/ 2>&1 | tee "$pgtap_log"
pgtap_status=${PIPESTATUS[0]}
[ "$pgtap_status" = 0 ] || failures=$((failures + 1))

deno_log="$(mktemp)"
log "Deno tests (unit, emulators, integration through the gateway)"
deno test -A --quiet tests/ 2>&1 | tee "$deno_log"
deno_status=${PIPESTATUS[0]}
[ "$deno_status" = 0 ] || failures=$((failures + 1))

# One closing line with both runners' counts.
pgtap_total=$(grep -oE 'Tests=[0-9]+' "$pgtap_log" | grep -oE '[0-9]+' | tail -1)
pgtap_failed=$(grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$pgtap_log" |
  awk '{ split($2, n, "/"); sum += n[1] } END { print sum + 0 }')
deno_passed=$(grep -oE '[0-9]+ passed' "$deno_log" | tail -1 | grep -oE '[0-9]+')
deno_failed=$(grep -oE '[0-9]+ failed' "$deno_log" | tail -1 | grep -oE '[0-9]+')
pgtap_total=${pgtap_total:-0}; pgtap_failed=${pgtap_failed:-0}
deno_passed=${deno_passed:-0}; deno_failed=${deno_failed:-0}
echo
echo "pgTAP: $((pgtap_total - pgtap_failed)) passed, $pgtap_failed failed"
echo "Deno: $deno_passed passed, $deno_failed failed"
if [ "$failures" -gt 0 ]; then
  log "$failures step(s) failed"
  echo "total: $((pgtap_total - pgtap_failed + deno_passed)) passed, $((pgtap_failed + deno_failed + failures)) failed"
  exit 1
fi
echo "total: $((pgtap_total + deno_passed)) passed, 0 failed"
