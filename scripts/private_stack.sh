# Sourced by scripts that need a private local stack (make test, make bench):
# `start_private_stack` starts one on free ports (never the developer's), exports its
# `make status` variables (API_URL, DB_URL, ANON_KEY, SERVICE_ROLE_KEY, JWT_SECRET, and one
# <NAME>_EMULATOR_URL per emulator: GOOGLE_, CALENDLY_, NOTION_, ...), and stops it and deletes
# its data when the calling script exits. (Tests of the stack itself start theirs from Deno with
# stack/private_stack.ts.)
# Needs scripts/lib.sh sourced first.

start_private_stack() {
  API_PORT="$(free_port)"
  DB_PORT="$(free_port)"
  export API_PORT DB_PORT
  # A private stack reads no developer .env: every external endpoint points at the emulators.
  export STACK_ENV_FILE="$ROOT/.stack/no-env-file"
  trap 'bash "$ROOT/scripts/stack.sh" wipe >/dev/null 2>&1' EXIT
  bash "$ROOT/scripts/stack.sh" wipe >/dev/null 2>&1
  bash "$ROOT/scripts/stack.sh" start >/dev/null || return 1
  set -a
  # shellcheck disable=SC1090
  source <(bash "$ROOT/scripts/stack.sh" status)
  set +a
}
