# Shared environment for the project's scripts: where the pinned toolchain lives and how Deno
# reaches the npm registry. Sourced, not executed.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# The real Deno binary (npm's `deno` wrapper is a Node process that would sit between the
# supervisor and its signals), then the other pinned tools, then PostgreSQL 15.
for deno_bin_dir in "$ROOT"/tools/node_modules/@deno/*/; do
  [ -x "$deno_bin_dir/deno" ] && PATH="${deno_bin_dir%/}:$PATH"
done
export PATH="$PATH:$ROOT/tools/node_modules/.bin:/usr/lib/postgresql/15/bin"
export DENO_DIR="${DENO_DIR:-$ROOT/.cache/deno}"
export DENO_NO_UPDATE_CHECK=1
# Deno 2.1 ignores the system CA store; hand it the bundle the machine uses.
if [ -n "${SSL_CERT_FILE:-}" ] && [ -z "${DENO_CERT:-}" ]; then export DENO_CERT="$SSL_CERT_FILE"; fi

log() { printf '\033[1m[%s]\033[0m %s\n' "${LOG_TAG:-stack}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Daemons must not hold on to descriptors of whoever started them (a caller waiting for EOF on
# a pipe would wait for the daemon's whole life).
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# A port nothing listens on right now (the kernel picks it).
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# Deno prints a Rust backtrace with every failed test when this is set.
export RUST_BACKTRACE=0
