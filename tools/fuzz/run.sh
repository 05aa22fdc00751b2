#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/tests/fuzz for SECONDS each, on a working corpus
# seeded from tests/fuzz/corpus/<target> (new inputs stay in BUILD_DIR/fuzz-corpus; copy the
# interesting ones into the seed corpus so ctest replays them). Stops at the first finding.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
for bin in "$build"/tests/fuzz/fuzz_*; do
  name=$(basename "$bin"); name=${name#fuzz_}
  work="$build/fuzz-corpus/$name"
  mkdir -p "$work" "$build/fuzz-findings"
  echo "== $name: ${seconds}s"
  "$bin" "$work" "$root/tests/fuzz/corpus/$name" -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix="$build/fuzz-findings/$name-" -print_final_stats=1 2>&1 | tail -n 12
done
