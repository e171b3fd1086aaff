#!/usr/bin/env bash
# `make bench`: every benchmark in ONE private local stack (free ports, wiped afterwards), each
# printed beside its baseline measured in the same run. Informational: figures, never time
# assertions (a bench fails only if it could not do its work, e.g. a mirror that does not match).
# About 5 to 6 minutes on a 2-core machine; each bench's knobs (sizes, repeats) are in its header.
#   bash scripts/bench.sh
set -uo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=bench
cd "$ROOT"
bash scripts/install.sh >/dev/null || die "installing the toolchain failed"
source scripts/private_stack.sh
start_private_stack || die "the private stack did not start"

status=0
section() { printf '\n\033[1m==== %s ====\033[0m\n\n' "$*"; }
run() {
  local started=$SECONDS
  "$@" || { log "FAILED: $*"; status=1; }
  log "($((SECONDS - started)) s)"
}

section "1. Scheduling engine (pure, in-process) vs naive re-solve"
run deno run -A bench/scheduling/engine_bench.ts

section "2. Google full sync of 10,000 events: project sync core vs 250-per-page + row-by-row INSERT"
run deno run -A bench/google/full_sync_bench.ts

section "3. Google push receiver under load vs a bare Deno.serve (one lookup + mark); propagation vs a bare list + write"
run deno run -A bench/google/receiver_bench.ts

section "4. Round trips per notification, incremental sync and plan, measured, beside the README's table"
run deno run -A bench/google/round_trips_bench.ts

section "5. A meeting on a session → the session moved, beside the same change reaching the mirror"
run deno run -A bench/planning/change_to_plan_bench.ts

section "6. Write-back: re-planning 1,000 blocks (10 moved) vs naive delete-all + reinsert; latency"
run deno run -A bench/write_back/write_back_bench.ts

section "7. Calendly webhook delivery vs a bare verify + INSERT; incremental vs full sync"
run deno run -A bench/calendly/webhook_bench.ts

section "8. Renewal of 10,000 due channels: fan-out maintenance (pg_cron → claimed batches) vs the serial loop"
run deno run -A bench/maintenance/renewal_bench.ts
# -------------------------------------------------------------------------------------------------

exit "$status"
