// Deployment management on a running server: the real `npx convex` CLI (convex@1.48.0,
// self-hosted mode: CONVEX_SELF_HOSTED_URL / CONVEX_SELF_HOSTED_ADMIN_KEY) and `convexlite`
// with --url/--admin-key drive the same endpoints (http/cli_api.h) and _system/cli queries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { ADMIN_KEY, startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.CONVEXLITE_BIN;
let server;
let project;  // a directory that looks like a Convex app to the npm CLI

before(async () => {
  server = await startServer();
  project = mkdtempSync(join(tmpdir(), "cvx-compat-npx-"));
  writeFileSync(join(project, "package.json"), '{"name":"app","private":true,"dependencies":{"convex":"1.48.0"}}');
  mkdirSync(join(project, "node_modules"));
  symlinkSync(join(here, "node_modules", "convex"), join(project, "node_modules", "convex"));
});
after(async () => {
  await server.stop();
  rmSync(project, { recursive: true, force: true });
});

// `npx convex ...` against a server (by default the shared one).
const npxAt = (url, ...args) => spawnSync(process.execPath, [join(here, "node_modules", "convex", "bin", "main.js"), ...args], {
  cwd: project, encoding: "utf8", timeout: 60000,
  env: { ...process.env, CONVEX_SELF_HOSTED_URL: url, CONVEX_SELF_HOSTED_ADMIN_KEY: ADMIN_KEY,
         CONVEX_DEPLOYMENT: "", CI: "1" },
});
const npx = (...args) => npxAt(server.url, ...args);
// `convexlite ...` against the server.
const cvx = (...args) => spawnSync(bin, [...args, "--url", server.url, "--admin-key", ADMIN_KEY],
                                   { encoding: "utf8", timeout: 60000 });

test("npx convex env and convexlite env --url see the same variables", async () => {
  const set = npx("env", "set", "GREETING", "hello");
  assert.equal(set.status, 0, set.stderr + set.stdout);
  assert.equal(cvx("env", "get", "GREETING").stdout, "hello\n");
  assert.equal(cvx("env", "set", "OTHER", "x y").status, 0);
  assert.equal(npx("env", "get", "OTHER").stdout.trim(), "x y");
  assert.match(npx("env", "list").stdout, /GREETING=hello\nOTHER=x y/);
  // Handlers read them (the run is admin, over HTTP).
  assert.equal(npx("env", "remove", "OTHER").status, 0);
  assert.equal(cvx("env", "get", "OTHER").status, 1);
  assert.equal(cvx("env", "list").stdout, "GREETING=hello\n");
  // A bad name is refused with Convex's shape and nothing changes.
  const bad = cvx("env", "set", "1BAD", "v");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /Environment variable name "1BAD" is invalid/);
});

test("the _system/cli queries are admin only", async () => {
  const client = new ConvexHttpClient(server.url);
  await assert.rejects(client.query(anyApi["_system/cli/queryEnvironmentVariables"].default, {}),
                       /not permitted|Unauthorized/);
  const res = await fetch(`${server.url}/api/update_environment_variables`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ changes: [{ name: "X", value: "1" }] }),
  });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).code, "Unauthorized");
});

test("npx convex data lists what convexlite holds", () => {
  const open = cvx("run", "bank:open", '{"owner":"ada","balance":{"$integer":"ZAAAAAAAAAA="}}');
  assert.equal(open.status, 0, open.stderr);
  const tables = npx("data");
  assert.equal(tables.status, 0, tables.stderr);
  assert.match(tables.stdout, /bank_accounts/);
  assert.doesNotMatch(tables.stdout, /_environment_variables/);
  assert.match(npx("data", "bank_accounts").stdout, /"ada"/);
  assert.equal(cvx("data", "bank_accounts", "--format", "jsonl").stdout.trim().split("\n").length, 1);
  assert.match(cvx("data").stdout, /^account\nbank_accounts\n/);
});

test("export with npx convex, import with convexlite --url, and the reverse", () => {
  const dir = mkdtempSync(join(tmpdir(), "cvx-compat-snap-"));
  try {
    const zip = join(dir, "npx.zip");
    const exp = npx("export", "--path", zip);
    assert.equal(exp.status, 0, exp.stderr + exp.stdout);
    assert.match(exp.stdout + exp.stderr, /Downloaded snapshot export to/);
    const listing = spawnSync("unzip", ["-Z1", zip], { encoding: "utf8" }).stdout;
    assert.match(listing, /bank_accounts\/documents\.jsonl/);
    const before = cvx("data", "bank_accounts", "--format", "jsonl").stdout;

    // A plain import refuses the non-empty table; --replace puts the same rows back.
    const refused = cvx("import", zip);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Table bank_accounts already exists/);
    const replaced = cvx("import", "--replace", zip);
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.equal(cvx("data", "bank_accounts", "--format", "jsonl").stdout, before);

    // convexlite export --url, then npx convex import --append of one table.
    const ours = join(dir, "ours.zip");
    assert.equal(cvx("export", "--path", ours).status, 0);
    const lines = join(dir, "blobs.jsonl");
    writeFileSync(lines, '{"value":"from npx"}\n');
    const appended = npx("import", "--append", "--table", "blobs", lines, "-y");
    assert.equal(appended.status, 0, appended.stderr + appended.stdout);
    assert.match(cvx("data", "blobs").stdout, /from npx/);
    // A document the schema refuses: the npm CLI reports Convex's failure text, exit 1.
    writeFileSync(lines, '{"nope":1}\n');
    const bad = npx("import", "--append", "--table", "blobs", lines, "-y");
    assert.equal(bad.status, 1);
    assert.match(bad.stdout + bad.stderr, /failed/);
    assert.equal(cvx("data", "blobs", "--format", "jsonl").stdout.trim().split("\n").length, 1);
    // CSV through the npm CLI: float-looking cells become numbers, the rest strings.
    const csv = join(dir, "blobs.csv");
    writeFileSync(csv, 'value\n3\n"hello, world"\n');
    const fromCsv = npx("import", "--append", "--table", "blobs", csv, "-y");
    assert.equal(fromCsv.status, 0, fromCsv.stderr + fromCsv.stdout);
    const values = cvx("data", "blobs", "--format", "jsonl", "--order", "asc").stdout.trim().split("\n")
      .map((line) => JSON.parse(line).value);
    assert.deepEqual(values, ["from npx", 3, "hello, world"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npx convex import --replace-all of a pre-uniform Convex export", () => {
  return withOwnServer(async (own, run) => {
    const dir = mkdtempSync(join(tmpdir(), "cvx-compat-legacy-"));
    try {
      const lines = join(dir, "rows.jsonl");
      writeFileSync(lines, '{"value":"old"}\n');
      assert.equal(run("import", "--table", "scratch", lines).status, 0);
      assert.equal(run("import", "--append", "--table", "blobs", lines).status, 0);
      const legacy = join(here, "..", "fixtures", "snapshots", "legacy.zip");
      const imported = npxAt(own.url, "import", "--replace-all", legacy, "-y");
      assert.equal(imported.status, 0, imported.stderr + imported.stdout);
      // Convex's change summary: every user table, what the import creates and deletes.
      assert.match(imported.stdout + imported.stderr, /Import change summary:/);
      assert.match(imported.stdout + imported.stderr, /\nscratch +\| 0 +\| 1 of 1 +\|\n/);
      assert.match(imported.stdout + imported.stderr, /\nusers +\| 2 +\| 0 of 0 +\|\n/);
      const tables = run("data").stdout.split("\n");
      assert.ok(tables.includes("users") && tables.includes("posts"), tables.join(","));
      assert.ok(!tables.includes("scratch"), "a table the import does not bring is deleted");
      const blobs = run("data", "blobs");
      assert.match(blobs.stdout + blobs.stderr, /There are no documents in this table/);
      // int64, bytes and Infinity came back from their clean-JSON strings.
      const users = run("data", "users", "--format", "jsonl").stdout;
      assert.match(users, /"age": 36n, "avatar": Bytes\("AAEC"\), "name": "Ada", "score": Infinity, "tags": \[7n, "x"\]/);
      assert.match(run("data", "posts").stdout, /-3n/);
      // Components and file storage are refused whole.
      const storage = npxAt(own.url, "import", "--replace-all", join(here, "..", "fixtures", "snapshots", "storage.zip"), "-y");
      assert.equal(storage.status, 1);
      assert.match(storage.stdout + storage.stderr, /convexlite has no file storage/);
      assert.ok(run("data").stdout.split("\n").includes("users"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("built-in variables: CONVEX_CLOUD_URL and CONVEX_SITE_URL are the server's URLs", () => {
  const cloud = cvx("run", "env:get", '{"name":"CONVEX_CLOUD_URL"}');
  assert.equal(cloud.status, 0, cloud.stderr);
  assert.equal(JSON.parse(cloud.stdout), server.url);
  assert.equal(JSON.parse(cvx("run", "env:get", '{"name":"CONVEX_SITE_URL"}').stdout), server.siteUrl);
});

// Runs `body(server, run)` on a server of its own; `run` is `convexlite ... --url`.
async function withOwnServer(body) {
  const own = await startServer();
  try {
    const run = (...args) => spawnSync(bin, [...args, "--url", own.url, "--admin-key", ADMIN_KEY], { encoding: "utf8" });
    await body(own, run);
  } finally {
    await own.stop();
  }
}

test("pagination cursors survive a server restart", async () => {
  const own = await startServer();
  let restarted;
  try {
    const run = (...args) => spawnSync(bin, [...args, "--url", own.url, "--admin-key", ADMIN_KEY], { encoding: "utf8" });
    const user = JSON.parse(run("run", "auth:create",
      '{"input":{"model":"user","data":{"name":"Ada","email":"ada@example.com","createdAt":1,"updatedAt":1}}}').stdout);
    for (const body of ["one", "two", "three"]) {
      const sent = run("run", "messages:send", JSON.stringify({ channel: "c", body }),
                       "--identity", JSON.stringify({ subject: user._id }));
      assert.equal(sent.status, 0, sent.stderr);
    }
    const first = await new ConvexHttpClient(own.url).query(anyApi.messages.list,
      { channel: "c", paginationOpts: { numItems: 1, cursor: null } });
    assert.deepEqual(first.page.map((m) => m.body), ["three"]);
    assert.equal(await own.stop({ keepData: true }), 0);
    restarted = await startServer([], { dataDir: own.dataDir });
    const second = await new ConvexHttpClient(restarted.url).query(anyApi.messages.list,
      { channel: "c", paginationOpts: { numItems: 2, cursor: first.continueCursor } });
    assert.deepEqual(second.page.map((m) => m.body), ["two", "one"]);
  } finally {
    if (restarted) await restarted.stop();
    else await own.stop();
  }
});
