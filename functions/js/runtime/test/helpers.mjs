// Test helpers: a temporary code version directory and a run of analyze.mjs in a child
// Node process with the permission model on, as the engine runs it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const runtimeDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** @param {Record<string,string>} files path -> source */
export function versionDir(files) {
  const dir = mkdtempSync(join(tmpdir(), "cvx-js-test-"));
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Runs analyze.mjs on `dir` and returns its answer. */
export function analyze(dir, request) {
  const r = spawnSync(process.execPath,
    ["--no-warnings", "--experimental-permission", `--allow-fs-read=${dir}`, `--allow-fs-read=${runtimeDir}`,
     join(runtimeDir, "analyze.mjs")],
    { input: JSON.stringify({ dir, schema: null, authConfig: null, env: {}, seed: "AAAAAAAAAAA=", nowMs: 1.7e12,
                              ...request }),
      stdio: ["pipe", "pipe", "pipe", "pipe"], encoding: "utf8", timeout: 30000 });
  if (!r.output[3]) throw new Error(`analyze.mjs gave no answer: ${r.stderr}`);
  return JSON.parse(r.output[3]);
}

// A module shaped like a convex/server registration (what the bundles export).
export const fakeRegistrations = `
const reg = (kind, vis, args) => Object.assign(async () => null, {
  [kind]: true, [vis]: true, exportArgs: () => args, exportReturns: () => "null" });
export const list = reg("isQuery", "isPublic", '{"type":"object","value":{}}');
export const send = reg("isMutation", "isPublic", '{"type":"any"}');
export const secret = reg("isAction", "isInternal", '{"type":"object","value":{}}');
export const notAFunction = 42;
export const ambiguous = Object.assign(() => null, { isQuery: true, isMutation: true });
`;
