// The convexlite command surface: `run`, `env`, `data` and `auth` on a data directory and
// against a running server (--url), output and exit codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { startServer } from "./server.mjs";

const bin = process.env.CONVEXLITE_BIN;
const cli = (...args) => spawnSync(bin, args, { encoding: "utf8" });
// The same with `input` as stdin, like `a | convexlite ...`.
const piped = (input, ...args) => spawnSync(bin, args, { encoding: "utf8", input });

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

test("the seed's key flow: run auth:getLatestJwks | env set JWKS, rotateKeys, then tokens verify", async () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  let server;
  try {
    const latest = cli("run", "auth:getLatestJwks", "--data", data);
    assert.equal(latest.status, 0, latest.stderr);
    const rows = JSON.parse(latest.stdout);
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]).sort(), ["alg", "createdAt", "id", "privateKey", "publicKey"]);
    const [key] = rows;
    assert.equal(key.alg, "RS256");
    assert.match(key.id, /^[0-9a-z]{31,37}$/);
    assert.equal(typeof key.createdAt, "number");
    assert.ok(Math.abs(key.createdAt - Date.now()) < 60_000);
    const jwk = JSON.parse(key.publicKey);
    assert.equal(jwk.kty, "RSA");
    assert.equal(jwk.e, "AQAB");
    assert.equal(Buffer.from(jwk.n, "base64url").length, 256);  // RSA-2048
    assert.equal(jwk.d, undefined, "the public key has no private part");
    // The private key is a JSON string literal holding hex (nonce + xchacha20poly1305 ciphertext).
    assert.match(JSON.parse(key.privateKey), /^[0-9a-f]+$/);

    // `convexlite run auth:getLatestJwks | convexlite env set JWKS`: VALUE comes from stdin.
    const set = piped(latest.stdout, "env", "set", "JWKS", "--data", data);
    assert.equal(set.status, 0, `env set JWKS from stdin: status ${set.status} signal ${set.signal} ${set.stderr}`);
    const got = cli("env", "get", "JWKS", "--data", data);
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout), rows);

    const again = cli("run", "auth:getLatestJwks", "--data", data);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).map((r) => r.id), [key.id]);

    const rotated = cli("run", "auth:rotateKeys", "--data", data);
    assert.equal(rotated.status, 0, rotated.stderr);
    const [newKey, ...rest] = JSON.parse(rotated.stdout);
    assert.equal(rest.length, 0);
    assert.equal(newKey.alg, "RS256");
    assert.notEqual(newKey.id, key.id);
    assert.notEqual(newKey.publicKey, key.publicKey);
    assert.ok(newKey.createdAt >= key.createdAt);
    const afterRotate = cli("run", "auth:getLatestJwks", "--data", data);
    assert.deepEqual(JSON.parse(afterRotate.stdout).map((r) => r.id), [newKey.id]);
    assert.equal(piped(rotated.stdout, "env", "set", "JWKS", "--data", data).status, 0);
    assert.deepEqual(JSON.parse(cli("env", "get", "JWKS", "--data", data).stdout), [newKey]);

    // The dev server on that data dir: the Convex provider reads the JWKS variable.
    server = await startServer(["--fast-password-hash"], { dataDir: data });
    const headers = { "content-type": "application/json", origin: server.siteUrl };
    const signUp = await fetch(`${server.siteUrl}/api/auth/sign-up/email`, {
      method: "POST", headers,
      body: JSON.stringify({ name: "Kay", email: "kay@example.com", password: "password123" }) });
    assert.equal(signUp.status, 200);
    const { user } = await signUp.json();
    const bearer = signUp.headers.get("set-auth-token");
    const tokenResponse = await fetch(`${server.siteUrl}/api/auth/convex/token`,
                                      { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(tokenResponse.status, 200);
    const { token } = await tokenResponse.json();
    assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid, newKey.id);
    const client = new ConvexHttpClient(server.url);
    client.setAuth(token);
    const me = await client.query(anyApi.me.whoami, {});
    assert.equal(me.subject, user.id);
    assert.equal(me.issuer, server.siteUrl);
  } finally {
    if (server) assert.equal(await server.stop(), 0);
    rmSync(data, { recursive: true, force: true });
  }
});

test("data lists tables and documents as npx convex data prints them", () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  try {
    assert.equal(cli("run", "values:store", '{"value":"first"}', "--data", data).status, 0);
    assert.equal(cli("run", "values:store", '{"value":{"$integer":"BwAAAAAAAAA="}}', "--data", data).status, 0);
    const tables = cli("data", "--data", data);
    assert.equal(tables.status, 0, tables.stderr);
    const names = tables.stdout.trim().split("\n");
    assert.deepEqual(names, [...names].sort());
    for (const t of ["blobs", "messages", "session", "user"]) assert.ok(names.includes(t), t);
    assert.ok(!names.some((n) => n.startsWith("_")));

    const docs = cli("data", "blobs", "--data", data);
    assert.equal(docs.status, 0, docs.stderr);
    const lines = docs.stdout.replace(/\n$/, "").split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^_id +\| _creationTime *\| value *$/);
    assert.match(lines[1], /^-+-\|-+-\|-+$/);
    assert.match(lines[2], /^"[0-9a-z]+" \| [0-9.]+ *\| 7n *$/);  // newest first; strings quoted, int64 as 7n
    assert.match(lines[3], /\| "first"$/);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1);  // every cell padded to its column

    const oldest = cli("data", "blobs", "--limit", "1", "--order", "asc", "--data", data);
    assert.equal(oldest.stdout.trimEnd().split("\n").length, 3);
    assert.match(oldest.stdout, /"first"/);
    assert.match(oldest.stderr, /Showing the 1 oldest created document\. Use the --limit option to see more\./);
    const jsonl = cli("data", "blobs", "--format", "jsonl", "--data", data);
    assert.match(jsonl.stdout, /^\{ "_creationTime": [0-9.]+, "_id": "[0-9a-z]+", "value": 7n \}\n/);
    const empty = cli("data", "lists", "--data", data);
    assert.equal(empty.status, 0);
    assert.equal(empty.stdout, "");
    assert.match(empty.stderr, /There are no documents in this table\./);
    assert.equal(cli("data", "blobs", "--limit", "0", "--data", data).status, 2);
    assert.equal(cli("data", "--help").status, 0);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("auth jwks and rotate-keys, and run against a running server with --url", async () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  let server;
  try {
    const jwks = cli("auth", "jwks", "--data", data);
    assert.equal(jwks.status, 0, jwks.stderr);
    const [row] = JSON.parse(jwks.stdout);
    assert.equal(row.alg, "RS256");
    assert.equal(JSON.parse(cli("auth", "jwks", "--data", data).stdout)[0].id, row.id);
    const rotated = JSON.parse(cli("auth", "rotate-keys", "--data", data).stdout)[0];
    assert.notEqual(rotated.id, row.id);
    assert.equal(cli("auth", "frobnicate", "--data", data).status, 2);

    server = await startServer([], { dataDir: data });
    const target = ["--url", server.url, "--admin-key", "compat-admin-key"];
    const echo = cli("run", "values:echo", '{"value":{"a":[1,2]}}', ...target);
    assert.equal(echo.status, 0, echo.stderr);
    assert.equal(echo.stdout, '{\n  "a": [\n    1,\n    2\n  ]\n}\n');
    const internal = cli("run", "jobs:record", '{"value":5}', ...target);
    assert.equal(internal.status, 0, internal.stderr);
    const viaEnv = spawnSync(bin, ["run", "jobs:list"], {
      encoding: "utf8",
      env: { ...process.env, CONVEXLITE_URL: server.url, CONVEXLITE_ADMIN_KEY: "compat-admin-key" },
    });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    assert.equal(JSON.parse(viaEnv.stdout).length, 1);
    assert.equal(JSON.parse(cli("auth", "jwks", ...target).stdout)[0].id, rotated.id);
    const badKey = cli("run", "values:echo", '{"value":1}', "--url", server.url, "--admin-key", "wrong");
    assert.equal(badKey.status, 1);
    assert.match(badKey.stderr, /admin key/);
    const noKey = spawnSync(bin, ["run", "values:echo", "{}", "--url", server.url],
                            { encoding: "utf8", env: { ...process.env, CONVEXLITE_ADMIN_KEY: "" } });
    assert.equal(noKey.status, 2);
    // The server holds the data directory: direct access is refused with a clear error.
    const held = cli("run", "jobs:list", "--data", data);
    assert.equal(held.status, 1);
    assert.match(held.stderr, /in use by another process/);
    const down = cli("run", "values:echo", '{"value":1}', "--url", "http://127.0.0.1:1", "--admin-key", "k");
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach/);
  } finally {
    if (server) await server.stop({ keepData: true });
    rmSync(data, { recursive: true, force: true });
  }
});

test("a second server, a port in use and a corrupt data dir each fail with one clear line", async () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  const other = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  const corrupt = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  let server;
  try {
    server = await startServer([], { dataDir: data });
    const port = new URL(server.url).port;
    const dev = (...args) => spawnSync(bin, ["dev", "--admin-key", "k", ...args], { encoding: "utf8", timeout: 10000 });
    const second = dev("--data", data, "--port", "0", "--site-port", "0");
    assert.equal(second.status, 1);
    assert.match(second.stderr, /^convexlite dev: opening .*: the data directory is in use by another process/);
    assert.equal(second.stderr.trim().split("\n").length, 1);
    const busy = dev("--data", other, "--port", port, "--site-port", "0");
    assert.equal(busy.status, 1);
    assert.equal(busy.stderr, `convexlite dev: port ${port} on 127.0.0.1 is already in use\n`);
    writeFileSync(join(corrupt, "CURRENT"), "garbage\n");
    const bad = dev("--data", corrupt, "--port", "0", "--site-port", "0");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^convexlite dev: opening .*: Corruption/);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    // The first server is unharmed.
    const client = new ConvexHttpClient(server.url);
    assert.equal(await client.query(anyApi.values.echo, { value: 3 }), 3);
  } finally {
    if (server) await server.stop();
    for (const d of [other, corrupt]) rmSync(d, { recursive: true, force: true });
  }
});

test("a read-only data dir fails with one clear line; SIGINT stops cleanly and keeps writes", async () => {
  // Root ignores file modes, so the read-only check runs as nobody (setpriv) when root.
  const readOnly = mkdtempSync(join(tmpdir(), "cvx-compat-ro-"));
  chmodSync(readOnly, 0o555);
  const asUser = process.getuid() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  const [cmd, ...pre] = [...asUser, bin];
  const ro = spawnSync(cmd, [...pre, "dev", "--data", readOnly, "--admin-key", "k", "--port", "0", "--site-port", "0"],
                       { encoding: "utf8", timeout: 10000 });
  rmSync(readOnly, { recursive: true, force: true });
  if (!(ro.error && ro.error.code === "ENOENT")) {  // setpriv is util-linux; skip without it
    assert.equal(ro.status, 1, ro.stderr);
    assert.match(ro.stderr, /^convexlite dev: opening .*: the data directory is not writable/);
    assert.equal(ro.stderr.trim().split("\n").length, 1);
  }
  const server = await startServer();
  const client = new ConvexHttpClient(server.url);
  await client.mutation(anyApi.values.store, { value: "kept" });
  assert.equal(await server.stop({ keepData: true, signal: "SIGINT" }), 0);
  const again = await startServer([], { dataDir: server.dataDir });
  try {
    const values = cli("data", "blobs", "--format", "jsonl", "--url", again.url, "--admin-key", "compat-admin-key");
    assert.match(values.stdout, /"kept"/);
  } finally {
    await again.stop();
  }
});

test("every verb names an unknown flag; --version, help, and export into a directory", () => {
  const data = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  try {
    for (const args of [["run", "values:echo", "--bogus"], ["run", "--bogus", "values:echo"], ["env", "list", "--bogus"],
                        ["data", "--bogus"], ["import", "--bogus", "x.zip"], ["export", "--path", "x.zip", "--bogus"],
                        ["auth", "jwks", "--bogus"]]) {
      const r = cli(...args, "--data", data);
      assert.equal(r.status, 2, args.join(" "));
      assert.equal(r.stderr, `convexlite ${args[0]}: unknown flag --bogus (try --help)\n`, args.join(" "));
    }
    // A flag's value never swallows the next flag.
    const table = cli("import", "--table", "--data", data, "x.jsonl");
    assert.equal(table.status, 2);
    assert.match(table.stderr, /--table needs a table name/);
    // "--" ends the flags: a value may start with dashes.
    assert.equal(cli("env", "set", "DASHED", "--data", data, "--", "--x").status, 0);
    assert.equal(cli("env", "get", "DASHED", "--data", data).stdout, "--x\n");
    assert.match(cli("--version").stdout, /^convexlite \d+\.\d+\.\d+\n$/);
    assert.equal(cli("help").status, 0);
    // Commands that only read refuse a directory with no database (a typo) and create none.
    const typo = join(data, "typo");
    for (const args of [["data"], ["env", "list"], ["export", "--path", join(data, "t.zip")]]) {
      const r = cli(...args, "--data", typo);
      assert.equal(r.status, 1, args.join(" "));
      assert.match(r.stderr, /there is no convexlite data directory at .*typo/);
    }
    assert.equal(existsSync(typo), false);
    // --path DIR writes snapshot_<ts>.zip in it, as npx convex export does.
    assert.equal(cli("env", "set", "A", "1", "--data", join(data, "db")).status, 0);
    const exported = cli("export", "--path", data, "--data", join(data, "db"));
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stderr, /to .*\/snapshot_\d+\.zip\n$/);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("export then import into a fresh data dir keeps every ID, reference and type", () => {
  const a = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  const b = mkdtempSync(join(tmpdir(), "cvx-compat-cli-"));
  const zip = join(a, "snapshot.zip");
  try {
    assert.equal(cli("run", "values:store",
      '{"value":{"n":{"$integer":"BwAAAAAAAAA="},"f":1,"nz":{"$float":"AAAAAAAAAIA="},"b":{"$bytes":"AAE="}}}',
      "--data", a).status, 0);
    const user = JSON.parse(cli("run", "auth:create",
      '{"input":{"model":"user","data":{"name":"Ada","email":"ada@example.com","createdAt":1,"updatedAt":1}}}',
      "--data", a).stdout);
    const msg = cli("run", "messages:send", '{"channel":"c","body":"hi"}',
                    "--identity", JSON.stringify({ subject: user._id }), "--data", a);
    assert.equal(msg.status, 0, msg.stderr);
    const exp = cli("export", "--path", zip, "--data", a);
    assert.equal(exp.status, 0, exp.stderr);
    assert.match(exp.stderr, /^Exported 5 documents from \d+ tables to /);
    const listing = spawnSync("unzip", ["-Z1", zip], { encoding: "utf8" }).stdout.split("\n");
    for (const entry of ["README.md", "_tables/documents.jsonl", "blobs/documents.jsonl",
                         "blobs/generated_schema.jsonl", "messages/documents.jsonl"]) {
      assert.ok(listing.includes(entry), entry);
    }
    const blobLine = spawnSync("unzip", ["-p", zip, "blobs/documents.jsonl"], { encoding: "utf8" }).stdout;
    assert.match(blobLine, /"value":\{"b":\{"\$bytes":"AAE="\},"f":1\.0,"n":7,"nz":-0\.0\}/);
    assert.equal(spawnSync("unzip", ["-p", zip, "blobs/generated_schema.jsonl"], { encoding: "utf8" }).stdout,
                 '"uniform"\n');

    const imp = cli("import", zip, "--data", b);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stderr, /Added 5 documents to \d+ tables\./);
    for (const table of ["blobs", "messages", "user", "organization", "member"]) {
      assert.equal(cli("data", table, "--format", "jsonl", "--data", b).stdout,
                   cli("data", table, "--format", "jsonl", "--data", a).stdout, table);
    }
    // The user kept its ID, so the message's author reference still resolves.
    const [imported] = JSON.parse(cli("run", "auth:findMany", '{"model":"user"}', "--data", b).stdout).page;
    assert.equal(imported._id, user._id);

    // Modes: a non-empty table refuses a plain import and changes nothing; --replace swaps.
    const again = cli("import", zip, "--data", b);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /Importing data from ".*" failed\nTable \w+ already exists\. Please choose a new table name or use replace\/append modes\./);
    assert.equal(cli("import", "--replace", zip, "--data", b).status, 0);
    assert.equal(cli("data", "blobs", "--format", "jsonl", "--data", b).stdout.trim().split("\n").length, 1);
    // One table from JSON lines; --table is required for it and refused for a ZIP.
    const lines = join(a, "extra.jsonl");
    writeFileSync(lines, '{"value":1}\n{"value":"two"}\n');
    assert.equal(cli("import", lines, "--data", b).status, 1);
    assert.equal(cli("import", "--table", "blobs", zip, "--data", b).status, 1);
    const appended = cli("import", "--append", "--table", "blobs", lines, "--data", b);
    assert.equal(appended.status, 0, appended.stderr);
    assert.equal(cli("data", "blobs", "--format", "jsonl", "--data", b).stdout.trim().split("\n").length, 3);
    // A document that does not match the schema is refused with the table untouched.
    writeFileSync(lines, '{"channel":1}\n');
    const bad = cli("import", "--append", "--table", "messages", lines, "--data", b);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /does not match the schema/);
    assert.equal(cli("import", join(a, "nope.csv"), "--data", b).status, 1);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
