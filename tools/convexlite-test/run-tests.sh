#!/usr/bin/env bash
# Runs the package's own suite (vitest, node and edge-runtime environments) against the
# convexlite binary in CONVEXLITE_BIN, or with `bench`, its benchmark against convex-test
# (bench/run.mjs). Installs the pinned devDependencies from package-lock.json first, when
# node_modules is missing or came from another lock file.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/vitest ] || ! cmp -s package-lock.json node_modules/.convexlite-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json node_modules/.convexlite-lock
fi
if [ "${1:-}" = bench ]; then exec node bench/run.mjs; fi
exec npx vitest run "$@"
