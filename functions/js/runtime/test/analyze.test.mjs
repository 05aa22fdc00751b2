import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze, fakeRegistrations, versionDir } from "./helpers.mjs";

test("exports become functions with their kind, visibility and validators", () => {
  const dir = versionDir({ "messages.js": fakeRegistrations });
  const out = analyze(dir, { modules: ["messages.js"] });
  assert.equal(out.ok, true, JSON.stringify(out));
  const fns = out.modules["messages.js"].functions;
  assert.deepEqual(fns.map((f) => [f.name, f.udfType, f.visibility?.kind]).sort(),
                   [["list", "Query", "public"], ["secret", "Action", "internal"], ["send", "Mutation", "public"]]);
  assert.equal(fns.find((f) => f.name === "list").args, '{"type":"object","value":{}}');
  assert.equal(out.modules["messages.js"].httpRoutes, null);
});

test("http.js routes, crons.js specs, schema.js and auth.config.js are read", () => {
  const dir = versionDir({
    "http.js": `export default { isRouter: true, getRoutes: () => [["/hello", "GET", null], ["/files/*", "POST", null]] };`,
    "crons.js": `export default { isCrons: true, export: () => JSON.stringify({ tick: { name: "jobs:run", args: [{}], schedule: { type: "interval", minutes: 1 } } }) };`,
    "schema.js": `export default { export: () => JSON.stringify({ tables: [], schemaValidation: true }) };`,
    "auth.config.js": `export default { providers: [{ domain: process.env.ISSUER, applicationID: "convex" }] };`,
  });
  const out = analyze(dir, { modules: ["http.js", "crons.js"], schema: "schema.js", authConfig: "auth.config.js",
                             env: { ISSUER: "https://issuer.example" } });
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.deepEqual(out.modules["http.js"].httpRoutes.map((r) => r.route),
                   [{ path: "/hello", method: "GET" }, { path: "/files/*", method: "POST" }]);
  assert.equal(JSON.parse(out.modules["crons.js"].cronSpecs).tick.name, "jobs:run");
  assert.equal(out.schema, '{"tables":[],"schemaValidation":true}');
  assert.deepEqual(JSON.parse(out.authConfig).providers[0], { domain: "https://issuer.example", applicationID: "convex" });
});

test("a module that throws at import is InvalidModules with the error, its logs and its frames", () => {
  const dir = versionDir({ "bad.js": `console.log("before", 1);\nexport const x = 1;\nthrow new Error("boom");\n` });
  const out = analyze(dir, { modules: ["bad.js"] });
  assert.equal(out.ok, false);
  assert.equal(out.code, "InvalidModules");
  assert.match(out.message, /^Loading the pushed modules encountered the following\n {4}error:\nFailed to analyze bad\.js: Uncaught Error: boom\n\n'before' 1\n {4}at bad\.js:3:7\n$/);
});

test("syscalls at import time are refused with Convex's texts", () => {
  const dir = versionDir({
    "db.js": `Convex.syscall("1.0/db/normalizeId", "{}");`,
    "other.js": `await Convex.asyncSyscall("1.0/getUserIdentity", "{}");`,
  });
  assert.match(analyze(dir, { modules: ["db.js"] }).message, /Uncaught Error: Can't use database at import time/);
  assert.match(analyze(dir, { modules: ["other.js"] }).message,
               /Uncaught Error: Syscall 1\.0\/getUserIdentity unsupported at import time/);
});

test("module scope sees the deployment's env, a frozen clock and seeded randomness", () => {
  const dir = versionDir({
    "env.js": `export const q = Object.assign(() => 0, { isQuery: true, isPublic: true,
      exportArgs: () => JSON.stringify({ type: "literal", value: [process.env.NAME ?? "unset", Date.now(), Math.random()].join("|") }),
      exportReturns: () => "null" });`,
  });
  const one = analyze(dir, { modules: ["env.js"], env: { NAME: "x" }, nowMs: 1234 });
  const two = analyze(dir, { modules: ["env.js"], env: { NAME: "x" }, nowMs: 1234 });
  const value = JSON.parse(one.modules["env.js"].functions[0].args).value;
  assert.match(value, /^x\|1234\|0\.\d+$/);
  assert.equal(value, JSON.parse(two.modules["env.js"].functions[0].args).value);  // same seed, same value
  assert.equal(JSON.parse(analyze(dir, { modules: ["env.js"] }).modules["env.js"].functions[0].args).value.split("|")[0], "unset");
});

test("auth.config.js reading an unset variable is AuthConfigMissingEnvironmentVariable", () => {
  const dir = versionDir({ "auth.config.js": `export default { providers: [{ domain: process.env.MISSING, applicationID: "a" }] };` });
  const out = analyze(dir, { modules: [], authConfig: "auth.config.js" });
  assert.equal(out.code, "AuthConfigMissingEnvironmentVariable");
  assert.equal(out.message, "Environment variable MISSING is used in auth config file but its value was not set");
});

test("the analyzer cannot write files or start processes", () => {
  const dir = versionDir({
    "evil.js": `import fs from "node:fs";\nfs.writeFileSync(new URL("./written.txt", import.meta.url), "x");`,
    "spawn.js": `import cp from "node:child_process";\ncp.execSync("true");`,
  });
  assert.match(analyze(dir, { modules: ["evil.js"] }).message, /ERR_ACCESS_DENIED|Access to this API has been restricted/);
  assert.match(analyze(dir, { modules: ["spawn.js"] }).message, /ERR_ACCESS_DENIED|Access to this API has been restricted/);
});
