#!/usr/bin/env bash
# `make bench`: every benchmark in ONE private local stack (free ports, wiped afterwards), each
# printed beside its baseline measured in the same run. Informational: figures, never time
# assertions (a bench fails only if it could not do its work, e.g. a mirror that does not match).
#   bash scripts/bench.sh                      (knobs: see the header of each bench file)
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

section "3. Google push receiver under load vs bare Deno.serve + one indexed lookup; propagation"
run deno run -A bench/google/receiver_bench.ts

exit "$status"
