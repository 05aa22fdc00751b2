#!/usr/bin/env bash
# Installs the compatibility suite's pinned npm packages from package-lock.json when
# node_modules is missing or was installed from another lock file.
set -euo pipefail
cd "$(dirname "$0")"
# npm's own node_modules/.package-lock.json never equals package-lock.json byte for byte,
# so a stamp of the lock file we installed from says whether node_modules is current.
if [ ! -d node_modules/convex ] || ! cmp -s package-lock.json node_modules/.convexlite-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json node_modules/.convexlite-lock
fi
