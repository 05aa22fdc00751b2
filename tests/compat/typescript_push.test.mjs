// Pushing TypeScript apps with the real CLI (convex@1.48.0, self-hosted mode) to
// `convexlite dev` (docs/design/typescript-apps.md, slice 1: push and analysis):
// deploy / dev --once / codegen / function-spec, failing pushes that keep the old code,
// incremental pushes, restarts, auth.config env vars, and path conflicts with a C++ app.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_KEY, startServer } from "./server.mjs";
import { deploy, makeProject, npx, removeProjects } from "./ts_project.mjs";

async function post(server, path, body = {}) {
  const r = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Convex ${ADMIN_KEY}` },
    body: JSON.stringify({ ...body, adminKey: ADMIN_KEY }),
  });
  return { status: r.status, body: await r.json() };
}
const hashes = async (server) => (await post(server, "/api/get_config_hashes", { version: "1.48.0" })).body.moduleHashes;
function functionSpec(server, project) {
  const r = npx(server, project, "function-spec");
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout).functions;
}
const identifiers = (spec) => spec.map((f) => f.identifier ?? `${f.method} ${f.path}`).sort();

let server;
before(async () => { server = await startServer(["--empty"]); });
after(async () => {
  await server?.stop();
  removeProjects();
});

test("convexlite dev --empty prints the two variables the CLI needs", async () => {
  const s = await startServer(["--empty", "--durability", "memory"]);
  try {
    assert.ok(s.output().includes(
      `export CONVEX_SELF_HOSTED_URL=${s.url} CONVEX_SELF_HOSTED_ADMIN_KEY='${ADMIN_KEY}'`), s.output());
    const res = await fetch(`${s.url}/api/v1/get_canonical_urls`, { headers: { authorization: `Convex ${ADMIN_KEY}` } });
    assert.deepEqual(await res.json(), { convexCloudUrl: s.url, convexSiteUrl: s.siteUrl });
  } finally {
    await s.stop();
  }
});

test("npx convex codegen runs a start_push that changes nothing served", async () => {
  const project = makeProject();
  const r = npx(server, project, "codegen", "--typecheck", "disable");
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(await hashes(server), []);
  assert.deepEqual(functionSpec(server, project), []);
});

test("npx convex deploy pushes the example app: functions, validators, routes, indexes", async () => {
  const project = makeProject();
  const r = deploy(server, project);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr + r.stdout, /\[\+\] messages\.by_channel\s+channel/);
  const spec = functionSpec(server, project);
  assert.deepEqual(identifiers(spec), ["GET /hello", "bank.js:open", "bank.js:total", "bank.js:transfer",
                                       "messages.js:clear", "messages.js:list", "messages.js:send"]);
  const send = spec.find((f) => f.identifier === "messages.js:send");
  assert.equal(send.functionType, "Mutation");
  assert.deepEqual(send.visibility, { kind: "public" });
  assert.deepEqual(Object.keys(send.args.value).sort(), ["author", "body", "channel"]);
  assert.equal(spec.find((f) => f.identifier === "messages.js:clear").visibility.kind, "internal");
  assert.equal(spec.find((f) => f.identifier === "messages.js:list").returns.type, "array");
  const stored = await hashes(server);
  assert.ok(stored.some((m) => m.path === "messages.js" && /^[0-9a-f]{64}$/.test(m.hash) && m.environment === "isolate"));
  assert.ok(stored.some((m) => m.path.startsWith("_deps/")));
  // Argument validation already uses the pushed validators.
  const res = await fetch(`${server.url}/api/mutation`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "messages:send", args: { channel: "c" } }),
  });
  const body = await res.json();
  assert.equal(body.status, "error");
  assert.match(body.errorMessage, /ArgumentValidationError: Object is missing the required field `author`/);
  // npx convex dev --once (its own bundle), twice: the second push changes no module.
  const dev = npx(server, project, "dev", "--once", "--typecheck", "disable");
  assert.equal(dev.status, 0, dev.stderr + dev.stdout);
  assert.match(dev.stderr + dev.stdout, /Convex functions ready!/);
  const afterDev = await hashes(server);
  assert.equal(npx(server, project, "dev", "--once", "--typecheck", "disable").status, 0);
  assert.deepEqual(await hashes(server), afterDev);
});

test("a module that throws at import fails the push with Convex's error and the old code keeps serving", async () => {
  const project = makeProject();
  assert.equal(deploy(server, project).status, 0);
  const before = await hashes(server);
  writeFileSync(join(project, "convex", "broken.ts"),
                'export const x = 1;\nconsole.log("loading broken");\nthrow new Error("boom at import");\n');
  const r = deploy(server, project);
  assert.equal(r.status, 1, r.stdout);
  const out = r.stderr + r.stdout;
  assert.match(out, /400 Bad Request: InvalidModules: Hit an error while pushing:/);
  assert.match(out, /Failed to analyze broken\.js: Uncaught Error: boom at import/);
  assert.match(out, /'loading broken'/);
  assert.match(out, /at \.\.\/convex\/broken\.ts:3:7/);  // mapped through the pushed source map
  assert.deepEqual(await hashes(server), before);
  unlinkSync(join(project, "convex", "broken.ts"));
});

test("an incremental push adds a module; a restart keeps the pushed code", async () => {
  const project = makeProject();
  assert.equal(deploy(server, project).status, 0);
  writeFileSync(join(project, "convex", "extra.ts"),
                'import { query } from "./_generated/server";\nexport const ping = query({ args: {}, handler: async () => "pong" });\n');
  const r = deploy(server, project);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.ok(identifiers(functionSpec(server, project)).includes("extra.js:ping"));
  const before = await hashes(server);
  await server.stop({ keepData: true });
  server = await startServer(["--empty"], { dataDir: server.dataDir });
  assert.deepEqual(await hashes(server), before);
  assert.ok(identifiers(functionSpec(server, project)).includes("extra.js:ping"));
  unlinkSync(join(project, "convex", "extra.ts"));
  assert.equal(deploy(server, project).status, 0);
  assert.ok(!identifiers(functionSpec(server, project)).includes("extra.js:ping"));
});

test("auth.config.ts reading an unset variable fails with AuthConfigMissingEnvironmentVariable until it is set", async () => {
  const project = makeProject({
    "convex/auth.config.ts": 'export default { providers: [{ domain: process.env.AUTH_ISSUER, applicationID: "convex" }] };\n',
    "convex/notes.ts": 'import { query } from "./_generated/server";\nexport const n = query(async () => 1);\n',
  });
  const s = await startServer(["--empty", "--durability", "memory"]);
  try {
    const r = deploy(s, project);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr + r.stdout, /Environment variable AUTH_ISSUER is used in auth config file but its value was not set/);
    assert.deepEqual(await hashes(s), []);
    assert.equal(npx(s, project, "env", "set", "AUTH_ISSUER", "https://issuer.example.com").status, 0);
    const ok = deploy(s, project);
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    assert.ok((await hashes(s)).some((m) => m.path === "auth.config.js"));
  } finally {
    await s.stop();
  }
});

test("documents that violate a new schema fail the push and keep the old schema", async () => {
  const project = makeProject({
    "convex/schema.ts": 'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\nexport default defineSchema({ notes: defineTable({ text: v.string() }) });\n',
    "convex/notes.ts": 'import { query } from "./_generated/server";\nexport const n = query(async () => 1);\n',
  });
  const s = await startServer(["--empty", "--durability", "memory"]);
  try {
    assert.equal(deploy(s, project).status, 0);
    const rows = join(project, "notes.jsonl");
    writeFileSync(rows, '{"text":"a"}\n{"text":"b"}\n');
    const imported = npx(s, project, "import", "--table", "notes", "--append", "-y", rows);
    assert.equal(imported.status, 0, imported.stderr + imported.stdout);
    const before = await hashes(s);
    writeFileSync(join(project, "convex", "schema.ts"),
                  'import { defineSchema, defineTable } from "convex/server";\nimport { v } from "convex/values";\nexport default defineSchema({ notes: defineTable({ text: v.number() }) });\n');
    const r = deploy(s, project);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr + r.stdout, /Schema validation failed/);
    assert.match(r.stderr + r.stdout, /in table "notes" does not match the schema/);
    assert.deepEqual(await hashes(s), before);
  } finally {
    await s.stop();
  }
});

test("a C++ app accepts pushes; a pushed function at one of its paths is refused naming it", async () => {
  const s = await startServer(["--durability", "memory"]);  // the reference app
  try {
    const conflicting = deploy(s, makeProject());
    assert.equal(conflicting.status, 1, conflicting.stdout);
    assert.match(conflicting.stderr + conflicting.stdout, /PathConflict: .*\w+\.js:\w+ has the path of a function built into/s);
    const project = makeProject({
      "convex/notes.ts": 'import { query } from "./_generated/server";\nexport const n = query(async () => 1);\n',
    });
    const ok = deploy(s, project);
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    const ids = identifiers(functionSpec(s, project));
    assert.ok(ids.includes("notes.js:n") && ids.includes("messages.js:send"), ids.join(","));
  } finally {
    await s.stop();
  }
});

test("npx convex dev (watch mode) pushes at start and again on every save", async () => {
  const { spawn } = await import("node:child_process");
  const { dirname: dir, join: joinPath } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const cli = joinPath(dir(fileURLToPath(import.meta.url)), "node_modules", "convex", "bin", "main.js");
  const project = makeProject();
  const s = await startServer(["--empty", "--durability", "memory"]);
  const dev = spawn(process.execPath, [cli, "dev", "--typecheck", "disable"], {
    cwd: project,
    env: { ...process.env, CONVEX_SELF_HOSTED_URL: s.url, CONVEX_SELF_HOSTED_ADMIN_KEY: ADMIN_KEY, CONVEX_DEPLOYMENT: "", CI: "1" },
  });
  let output = "";
  dev.stdout.on("data", (d) => { output += d; });
  dev.stderr.on("data", (d) => { output += d; });
  const readyCount = () => (output.match(/Convex functions ready!/g) ?? []).length;
  const waitFor = async (predicate, what) => {
    const deadline = Date.now() + 60000;
    while (!predicate()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await waitFor(() => readyCount() >= 1, "the first push");
    assert.ok(identifiers(functionSpec(s, project)).includes("messages.js:send"));
    // A save to a module esbuild read is a new push.
    const { appendFileSync } = await import("node:fs");
    appendFileSync(join(project, "convex", "bank.ts"),
                   '\nexport const later = query({ args: {}, handler: async () => 2 });\n');
    await waitFor(() => readyCount() >= 2, "the push after the save");
    await waitFor(() => identifiers(functionSpec(s, project)).includes("bank.js:later"), "the new function");
  } finally {
    dev.kill();
    const started = Date.now();
    await s.stop();
    // The CLI's log long poll does not hold the shutdown.
    assert.ok(Date.now() - started < 5000, `the server took ${Date.now() - started} ms to stop`);
  }
});

test("node.externalPackages are installed with npm for the version and \"use node\" actions import them", async () => {
  const { symlinkSync } = await import("node:fs");
  const { dirname } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const project = makeProject({
    "convex.json": JSON.stringify({ node: { externalPackages: ["is-number"] } }),
    "convex/external.ts": '"use node";\nimport isNumber from "is-number";\nimport { action } from "./_generated/server";\nexport const check = action({ args: {}, handler: async () => [isNumber("5"), isNumber("x")] });\n',
  });
  // The CLI reads the version it pushes from the project's node_modules (this suite's own,
  // installed from its lock file); convexlite then installs it from the registry.
  symlinkSync(join(dirname(fileURLToPath(import.meta.url)), "node_modules", "is-number"),
              join(project, "node_modules", "is-number"));
  const s = await startServer(["--empty", "--durability", "memory"]);
  try {
    const pushed = deploy(s, project);
    assert.equal(pushed.status, 0, pushed.stderr + pushed.stdout);
    const { ConvexHttpClient } = await import("convex/browser");
    const { anyApi } = await import("convex/server");
    assert.deepEqual(await new ConvexHttpClient(s.url).action(anyApi.external.check, {}), [true, false]);
  } finally {
    await s.stop();
  }
});
