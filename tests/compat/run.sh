#!/usr/bin/env bash
# Runs the compatibility suite: installs the pinned npm packages (install.sh), then node's
# test runner. CONVEXLITE_BIN must point at the convexlite binary.
set -euo pipefail
cd "$(dirname "$0")"
./install.sh
exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
