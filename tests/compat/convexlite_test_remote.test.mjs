// convexlite-test pointed at a running server (CONVEXLITE_TEST_URL, tools/convexlite-test/
// src/remote.mjs): the package's fixture app deployed to `convexlite dev --empty` by the real
// CLI, then the documented-examples test file run against it by vitest, unchanged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_KEY, startServer } from "./server.mjs";
import { deploy, makeProject, removeProjects } from "./ts_project.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "..", "tools", "convexlite-test");
let server;

before(async () => {
  server = await startServer(["--empty"]);
});
after(async () => {
  await server?.stop();
  removeProjects();
});

function vitest(file, env) {
  return spawnSync(join(pkg, "run-tests.sh"), ["--project", "node", file], {
    encoding: "utf8",
    timeout: 300000,
    env: { ...process.env, ...env },
  });
}

test("the documented examples pass against a deployed app too", () => {
  const project = makeProject({});
  cpSync(join(pkg, "test", "convex"), join(project, "convex"), {
    recursive: true,
    filter: (src) => !src.endsWith(".test.ts"),
  });
  assert.ok(readdirSync(join(project, "convex")).includes("posts.ts"));
  const pushed = deploy(server, project);
  assert.equal(pushed.status, 0, pushed.stderr);

  const env = { CONVEXLITE_TEST_URL: server.url, CONVEXLITE_TEST_ADMIN_KEY: ADMIN_KEY, CONVEXLITE_TEST_SITE_URL: server.siteUrl };
  const run = vitest("test/convex/documented.test.ts", env);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /3 passed/);

  // What needs the in-process engine says so.
  const inProcess = vitest("test/convex/features.test.ts", env);
  assert.notEqual(inProcess.status, 0);
  assert.match(inProcess.stdout + inProcess.stderr, /t\.run needs the in-process engine; unset CONVEXLITE_TEST_URL/);
});
