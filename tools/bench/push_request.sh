#!/usr/bin/env bash
# Writes the StartPushRequest the real CLI (tests/compat's convex@1.48.0) would send for
# the TypeScript app in DIR, without any network: `npx convex deploy --write-push-request`.
#   tools/bench/push_request.sh DIR OUT.json
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tests/compat/install.sh"
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp -r "$1/." "$app"
rm -rf "$app/node_modules" && mkdir "$app/node_modules"
ln -s "$root/tests/compat/node_modules/convex" "$app/node_modules/convex"
out=$(realpath -m "$2")
(cd "$app" && CI=1 node "$root/tests/compat/node_modules/convex/bin/main.js" deploy --typecheck disable \
   --push-all-modules --write-push-request "${out%.json}" --url http://127.0.0.1:1 --admin-key 'bench|0' >/dev/null 2>&1)
test -s "$out"
