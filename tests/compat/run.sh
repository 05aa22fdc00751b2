#!/usr/bin/env bash
# Runs the compatibility suite: installs the pinned npm packages from package-lock.json
# when needed, then node's test runner. CONVEXLITE_BIN must point at the convexlite binary.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/convex ] || ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
