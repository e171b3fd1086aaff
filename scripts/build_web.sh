#!/usr/bin/env bash
# Builds what browsers load from web/dist/ (not committed; the local stack serves it at
# /web/dist/ beside the status page at /status/):
#   calendar-sync-client.js  the typed client (web/client/mod.ts) as one ES module, supabase-js
#                            included, for a <script type="module"> or any framework;
#   status-page.js           the status page's script (web/status_page/main.mts).
# esbuild resolves the bare imports from tools/node_modules, where tools/package.json pins the
# same versions as import_map.json (tests/browser/build_test.ts checks they agree). Runs in well
# under a second, so every install, test and demo builds afresh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LOG_TAG=build-web
cd "$ROOT"

out="$ROOT/web/dist"
mkdir -p "$out"
NODE_PATH="$ROOT/tools/node_modules" esbuild \
  calendar-sync-client=web/client/mod.ts \
  status-page=web/status_page/main.mts \
  --bundle --format=esm --platform=browser --target=es2022 \
  --minify --sourcemap --legal-comments=linked --charset=utf8 \
  --outdir="$out" --log-level=warning
