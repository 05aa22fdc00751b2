// Helpers for the TypeScript-app suites: a temporary copy of docs/examples/ts-app (or a
// project made of given files) using this suite's convex package, and the real CLI run
// against a server in self-hosted mode.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_KEY } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..", "..", "docs", "examples", "ts-app");
const projects = [];

/** A fresh project: the example app plus `extra` files, or only `files` when `onlyFiles`. */
export function makeProject(files = null, { onlyFiles = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "cvx-ts-app-"));
  projects.push(dir);
  if (files === null || !onlyFiles) {
    cpSync(example, dir, { recursive: true });
  } else {
    writeFileSync(join(dir, "package.json"), '{"name":"app","private":true,"type":"module","dependencies":{"convex":"1.48.0"}}');
  }
  for (const [name, text] of Object.entries(files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  rmSync(join(dir, "node_modules"), { recursive: true, force: true });
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(here, "node_modules", "convex"), join(dir, "node_modules", "convex"));
  return dir;
}

/** A fresh copy of the seed app fixture (seed_app/), using its own installed packages. */
export function makeSeedProject() {
  const dir = mkdtempSync(join(tmpdir(), "cvx-seed-app-"));
  projects.push(dir);
  cpSync(join(here, "seed_app"), dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
  symlinkSync(join(here, "seed_app", "node_modules"), join(dir, "node_modules"));
  return dir;
}

export function removeProjects() {
  for (const p of projects.splice(0)) rmSync(p, { recursive: true, force: true });
}

/** `npx convex <args>` in `project` against `server` (self-hosted mode, CI=1). */
export const npx = (server, project, ...args) =>
  spawnSync(process.execPath, [join(here, "node_modules", "convex", "bin", "main.js"), ...args], {
    cwd: project, encoding: "utf8", timeout: 120000,
    env: { ...process.env, CONVEX_SELF_HOSTED_URL: server.url, CONVEX_SELF_HOSTED_ADMIN_KEY: ADMIN_KEY,
           CONVEX_DEPLOYMENT: "", CI: "1" },
  });

export const deploy = (server, project) => npx(server, project, "deploy", "--typecheck", "disable");
