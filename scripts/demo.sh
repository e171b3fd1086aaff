#!/usr/bin/env bash
# `make demo`: installs what is missing, starts the local stack (or uses the one running on
# API_PORT), and tells the product's story against the emulated Google Calendar: a user connects
# their calendar, the mirror follows every change through push notifications, and their sessions
# step aside when a meeting lands on one. Stops the stack it started unless KEEP=1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=demo
cd "$ROOT"

bash scripts/install.sh
started_here=0
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  bash scripts/stack.sh start >/dev/null
  started_here=1
fi
if [ "$started_here" = 1 ] && [ "${KEEP:-0}" != 1 ]; then
  trap 'log "stopping the stack (make demo KEEP=1 keeps it running)"; bash scripts/stack.sh stop >/dev/null 2>&1' EXIT
fi
set -a
# shellcheck disable=SC1090
source <(bash scripts/stack.sh status)
set +a
deno run -A --quiet demo/story.ts
