#!/usr/bin/env bash
# Runs a command against a private local stack on free ports (never the developer's), with the
# stack's `make status` variables exported (API_URL, DB_URL, ANON_KEY, SERVICE_ROLE_KEY,
# JWT_SECRET, GOOGLE_EMULATOR_URL, ...), then stops the stack and deletes its data.
#   scripts/with_private_stack.sh <command> [args...]
set -uo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=private-stack
cd "$ROOT"

API_PORT="$(free_port)"
DB_PORT="$(free_port)"
export API_PORT DB_PORT
# A private stack reads no developer .env: every external endpoint points at the emulators.
export STACK_ENV_FILE="$ROOT/.stack/no-env-file"
cleanup() { bash scripts/stack.sh wipe >/dev/null 2>&1; }
trap cleanup EXIT
bash scripts/stack.sh wipe >/dev/null 2>&1
if ! bash scripts/stack.sh start >/dev/null; then
  log "the private stack did not start"
  exit 1
fi
set -a
# shellcheck disable=SC1090
source <(bash scripts/stack.sh status)
set +a
"$@"
