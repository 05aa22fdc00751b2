#!/usr/bin/env bash
# The installed-package route for embedding (issue #6): installs this build into a
# temporary prefix, builds docs/examples/todo on its own against it with
# find_package(convexlite), and runs the example's smoke test on the result.
# usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for header in functions/app.h tools/cli.h functions/harness.h tests/testing/status_matchers.h; do
  [[ -f "$work/prefix/include/convexlite/$header" ]] || { echo "not installed: $header" >&2; exit 1; }
done
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$source/docs/examples/todo" -B "$work/todo" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/todo" >/dev/null
"$source/docs/examples/todo/smoke_test.sh" "$work/todo/todo"
echo "installed package: ok"
