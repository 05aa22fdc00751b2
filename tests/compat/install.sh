#!/usr/bin/env bash
# Installs the pinned npm packages of the compatibility suite and of its seed app fixture
# (seed_app/) from their package-lock.json files, when node_modules is missing or was
# installed from another lock file.
set -euo pipefail
cd "$(dirname "$0")"
install() {  # install DIR PACKAGE: npm ci in DIR unless DIR/node_modules/PACKAGE is current
  # npm's own node_modules/.package-lock.json never equals package-lock.json byte for byte,
  # so a stamp of the lock file we installed from says whether node_modules is current.
  if [ ! -d "$1/node_modules/$2" ] || ! cmp -s "$1/package-lock.json" "$1/node_modules/.convexlite-lock" 2>/dev/null; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$1/package-lock.json" "$1/node_modules/.convexlite-lock"
  fi
}
install . convex
install seed_app better-auth-convex
