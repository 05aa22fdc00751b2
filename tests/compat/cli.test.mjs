// The convexlite command surface: `run` and `env` on a data directory, output and exit codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = process.env.CONVEXLITE_BIN;
const cli = (...args) => spawnSync(bin, args, { encoding: "utf8" });

test("run prints Convex JSON like npx convex run and fails cleanly", () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  try {
    const open = cli("run", "bank:open", '{"owner":"a","balance":{"$integer":"BQAAAAAAAAA="}}', "--data", data);
    assert.equal(open.status, 0, open.stderr);
    assert.match(open.stdout, /^"[0-9a-z]{31,37}"\n$/);
    const total = cli("run", "bank:total", "--data", data);
    assert.equal(total.stdout, '{\n  "$integer": "BQAAAAAAAAA="\n}\n');
    const internal = cli("run", "jobs:record", '{"value":1}', "--data", data);
    assert.equal(internal.status, 0);
    assert.equal(internal.stdout, "");  // null prints nothing
    const missing = cli("run", "nope:x", "--data", data);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Failed to run function "nope:x":\nCould not find public function/);
    const badArgs = cli("run", "bank:total", "{nope", "--data", data);
    assert.equal(badArgs.status, 1);
    assert.match(badArgs.stderr, /Failed to parse arguments as JSON/);
    assert.equal(cli("frobnicate").status, 2);
    assert.equal(cli("run", "--help").status, 0);
    assert.equal(cli("env", "get", "NOPE", "--data", data).status, 1);
    assert.equal(cli("env", "set", "A", "1", "--data", data).status, 0);
    assert.equal(cli("env", "get", "A", "--data", data).stdout, "1\n");
    assert.equal(cli("env", "remove", "A", "--data", data).status, 0);
    assert.equal(cli("env", "list", "--data", data).stdout, "");
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
