// Analyzes one pushed code version (Convex's analyze phase), in a fresh Node process:
//
//   node analyze.mjs            stdin: {dir, modules, schema, authConfig, env, seed, nowMs}
//                               fd 3:  {ok: true, modules, schema, authConfig, logLines}
//                                      | {ok: false, code, message}
//
// Every listed module is imported with the import-phase environment (import_phase.mjs).
// For each export that is a registered function: {name, udfType, visibility, args,
// returns}; http.js's router gives its routes; crons.js its crons JSON; schema.js its
// schema JSON; auth.config.js its JSON (evaluated with a process.env that throws on an
// unset variable).

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { captureConsole } from "./console_capture.mjs";
import { uncaughtText } from "./errors.mjs";
import { FrameMapper } from "./source_maps.mjs";
import { installImportPhase, strictEnv } from "./import_phase.mjs";
import { seedWords } from "./rng.mjs";

/** The functions a module exports, as Convex's analysis lists them. */
export function analyzeExports(namespace) {
  const functions = [];
  for (const [name, value] of Object.entries(namespace)) {
    if (value === null || (typeof value !== "function" && typeof value !== "object")) continue;
    const kinds = ["isQuery", "isMutation", "isAction"].filter((k) => value[k] === true);
    if (kinds.length !== 1) continue;
    if (value.isPublic === true && value.isInternal === true) continue;
    const visibility = value.isPublic === true ? { kind: "public" }
      : value.isInternal === true ? { kind: "internal" } : null;
    const udfType = { isQuery: "Query", isMutation: "Mutation", isAction: "Action" }[kinds[0]];
    const args = typeof value.exportArgs === "function" ? value.exportArgs() : '{"type":"any"}';
    const returns = typeof value.exportReturns === "function" ? value.exportReturns() : "null";
    functions.push({ name, pos: null, udfType, visibility, args, returns });
  }
  return functions;
}

/** http.js: the default router's routes, [{route: {path, method}, pos}]. */
export function analyzeRoutes(namespace) {
  const router = namespace.default;
  if (!router || router.isRouter !== true || typeof router.getRoutes !== "function") {
    throw new Error("The default export of `convex/http.js` is not a Router.");
  }
  return router.getRoutes().map(([routePath, method]) => ({
    route: { path: routePath, method },
    pos: null,
  }));
}

/** crons.js: the default Crons object's export() JSON text. */
export function analyzeCrons(namespace) {
  const crons = namespace.default;
  if (!crons || crons.isCrons !== true || typeof crons.export !== "function") {
    throw new Error("The default export of `convex/crons.js` is not a Crons object.");
  }
  return crons.export();
}

async function importModule(dir, modulePath) {
  return import(pathToFileURL(path.join(dir, modulePath)).href);
}

/**
 * @param {{dir: string, modules: string[], schema: string|null, authConfig: string|null,
 *          env: Record<string,string>, seed: string, nowMs: number}} request
 */
export async function analyzeVersion(request) {
  const logLines = [];
  captureConsole((line) => {
    logLines.push(line);
    if (logLines.length > 100) logLines.shift();
  });
  installImportPhase({ env: request.env, seed: seedWords(request.seed), nowMs: request.nowMs });
  const mapper = new FrameMapper(request.dir);
  // Convex appends the console output of the failed import (after the error line, before
  // the frames).
  const failure = (error) => {
    const text = uncaughtText(error, mapper);
    if (logLines.length === 0) return text;
    const [first, ...frames] = text.split("\n");
    const logs = logLines.map((l) => l.messages.join(" "));
    return [first, "", ...logs, ...frames].join("\n");
  };
  const fail = (code, message) => ({ ok: false, code, message, logLines });
  const modules = {};
  for (const modulePath of request.modules) {
    let namespace;
    try {
      namespace = await importModule(request.dir, modulePath);
    } catch (error) {
      return fail(
        "InvalidModules",
        `Loading the pushed modules encountered the following\n    error:\nFailed to analyze ${modulePath}: ${failure(error)}`,
      );
    }
    try {
      modules[modulePath] = {
        functions: analyzeExports(namespace),
        httpRoutes: modulePath === "http.js" ? analyzeRoutes(namespace) : null,
        cronSpecs: modulePath === "crons.js" ? analyzeCrons(namespace) : null,
        sourceMapped: null,
      };
    } catch (error) {
      return fail(
        "InvalidModules",
        `Loading the pushed modules encountered the following\n    error:\nFailed to analyze ${modulePath}: ${failure(error)}`,
      );
    }
  }
  let schema = null;
  if (request.schema) {
    try {
      const namespace = await importModule(request.dir, request.schema);
      const definition = namespace.default;
      if (!definition || typeof definition.export !== "function") {
        throw new Error("The default export of `convex/schema.js` is not a schema (use `defineSchema`).");
      }
      schema = definition.export();
    } catch (error) {
      return fail("InvalidSchema", `Hit an error while evaluating your schema:\n${uncaughtText(error, mapper)}`);
    }
  }
  let authConfig = null;
  if (request.authConfig) {
    process.env = strictEnv(request.env, pathToFileURL(path.join(request.dir, request.authConfig)).href);
    try {
      const namespace = await importModule(request.dir, request.authConfig);
      authConfig = JSON.stringify(namespace.default ?? null);
    } catch (error) {
      if (error && error.convexCode === "AuthConfigMissingEnvironmentVariable") {
        return fail(error.convexCode, error.message);
      }
      return fail("InvalidAuthConfig", `The pushed auth config is invalid: ${uncaughtText(error, mapper)}`);
    }
  }
  return { ok: true, modules, schema, authConfig, logLines };
}

async function main() {
  // An un-awaited rejection at import time (better-auth starts some) is logged, not fatal.
  process.on("unhandledRejection", () => {});
  const input = fs.readFileSync(0, "utf8");
  let result;
  try {
    result = await analyzeVersion(JSON.parse(input));
  } catch (error) {
    result = { ok: false, code: "InvalidModules", message: uncaughtText(error) };
  }
  fs.writeSync(3, JSON.stringify(result));
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
