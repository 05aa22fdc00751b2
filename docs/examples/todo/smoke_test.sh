#!/usr/bin/env bash
# Smoke test of the todo example: usage smoke_test.sh path/to/todo
# Runs its functions directly on a data dir, then serves it and talks HTTP to it: the
# app's own functions, trigger, HTTP action and Better Auth route, then a clean SIGTERM.
set -euo pipefail
todo="$1"
dir="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

id="$("$todo" run tasks:add '{"text":"write the docs"}' --data "$dir/data")"
[[ "$id" == \"*\" ]] || fail "tasks:add printed $id"
"$todo" run tasks:add '{"text":"ship it"}' --data "$dir/data" >/dev/null
"$todo" run tasks:setDone "{\"id\":$id,\"done\":true}" --data "$dir/data"
count="$("$todo" run tasks:openCount --data "$dir/data")"
[[ "$count" == "1" ]] || fail "the trigger-kept open count is $count, not 1"
if out="$("$todo" run tasks:add '{"text":""}' --data "$dir/data" 2>&1)"; then
  fail "an empty task was accepted"
fi
[[ "$out" == *EMPTY_TEXT* ]] || fail "no EMPTY_TEXT in: $out"

"$todo" dev --data "$dir/data" --port 0 --site-port 0 --admin-key smoke-admin-key \
  >"$dir/log" 2>&1 &
server=$!
api="" site=""
for _ in $(seq 1 100); do
  api="$(sed -n 's|.*Convex URL: *http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/log")"
  site="$(sed -n 's|.*site URL: *http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/log")"
  [[ -n "$api" && -n "$site" ]] && curl -fs "http://127.0.0.1:$api/version" >/dev/null && break
  sleep 0.1
done
[[ -n "$api" ]] && curl -fs "http://127.0.0.1:$api/version" >/dev/null || fail "the server did not start: $(cat "$dir/log")"

list="$(curl -fs "http://127.0.0.1:$api/api/query" -H 'content-type: application/json' \
  -d '{"path":"tasks:list","args":{"done":false},"format":"json"}')"
[[ "$list" == *'"status":"success"'* && "$list" == *'ship it'* && "$list" != *'write the docs'* ]] ||
  fail "tasks:list over HTTP gave $list"
[[ "$(curl -fs "http://127.0.0.1:$site/count")" == "1" ]] || fail "GET /count on the site port"
[[ "$(curl -fs "http://127.0.0.1:$site/api/auth/ok")" == '{"ok":true}' ]] || fail "/api/auth/ok"
internal="$(curl -s "http://127.0.0.1:$api/api/mutation" -H 'content-type: application/json' \
  -d "{\"path\":\"tasks:remind\",\"args\":{\"id\":$id},\"format\":\"json\"}")"
[[ "$internal" == *'"status":"error"'* ]] || fail "an internal mutation was public: $internal"

kill -TERM "$server"
wait "$server" || fail "exit status $? after SIGTERM"
server=""
echo "todo example: ok"
