// The app's modules, as convex-test takes them: `import.meta.glob("./**/*.*s")` from the
// convex/ folder, a map from paths ("./messages.ts") to functions that import them. The
// folder is the one holding `_generated/`; a module's Convex path is its path below it
// with a .js extension ("messages.js", "dir/file.js"), as the CLI names pushed modules.
//
// What the engine needs from them is what a push's analysis gives it
// (functions/js/runtime/analyze.mjs): each export's udfType, visibility, args and returns
// validators, http.js's routes and crons.js's crons. Modules the CLI would not push are
// skipped: `_generated/`, declaration files, and names with more than one dot
// ("messages.test.ts", "auth.config.ts").

/**
 * @typedef {Record<string, () => Promise<Record<string, any>>>} ModuleMap
 * @typedef {{root: string, byPath: Map<string, () => Promise<Record<string, any>>>}} Modules
 */

const GENERATED = /(^|\/)_generated\//;

/** @param {ModuleMap} modules @returns {Modules} */
export function indexModules(modules) {
  const keys = Object.keys(modules);
  const generated = keys.find((k) => GENERATED.test(k));
  if (generated === undefined) {
    throw new Error(
      'Could not find the "_generated" directory, make sure to run `npx convex dev` or `npx convex codegen`. ' +
        "Make sure your `import.meta.glob` includes the files in the `_generated` directory",
    );
  }
  const root = generated.slice(0, generated.lastIndexOf("_generated/"));
  const byPath = new Map();
  for (const key of keys) {
    if (!key.startsWith(root)) continue;
    const relative = key.slice(root.length);
    if (GENERATED.test(relative) || relative.endsWith(".d.ts")) continue;
    const base = relative.split("/").pop();
    if (base.split(".").length !== 2) continue;
    byPath.set(relative.replace(/\.[^./]+$/, ".js"), modules[key]);
  }
  return { root, byPath };
}

/** An export's entry in the analysis, or null when it is not a registered function. */
function analyzeExport(name, value) {
  if (value === null || (typeof value !== "function" && typeof value !== "object")) return null;
  const kinds = ["isQuery", "isMutation", "isAction"].filter((k) => value[k] === true);
  if (kinds.length !== 1) return null;
  const visibility = value.isPublic === true ? { kind: "public" } : value.isInternal === true ? { kind: "internal" } : null;
  if (visibility === null) return null;
  const udfType = { isQuery: "Query", isMutation: "Mutation", isAction: "Action" }[kinds[0]];
  const args = typeof value.exportArgs === "function" ? value.exportArgs() : '{"type":"any"}';
  const returns = typeof value.exportReturns === "function" ? value.exportReturns() : "null";
  return { name, pos: null, udfType, visibility, args, returns };
}

/**
 * Imports every module and analyzes it: {analysis, namespaces}, where `analysis` is the
 * engine's `open` payload and `namespaces` maps "messages.js" to the imported module.
 * @param {Modules} modules
 */
export async function analyze(modules) {
  const analysis = {};
  const namespaces = new Map();
  for (const [modulePath, load] of modules.byPath) {
    if (modulePath === "schema.js") continue;
    const namespace = await load();
    namespaces.set(modulePath, namespace);
    const functions = [];
    for (const [name, value] of Object.entries(namespace)) {
      const entry = analyzeExport(name, value);
      if (entry) functions.push(entry);
    }
    let httpRoutes = null;
    if (modulePath === "http.js" && namespace.default?.isRouter === true) {
      httpRoutes = namespace.default.getRoutes().map(([routePath, method]) => ({ route: { path: routePath, method }, pos: null }));
    }
    let cronSpecs = null;
    if (modulePath === "crons.js" && namespace.default?.isCrons === true) cronSpecs = namespace.default.export();
    analysis[modulePath] = { functions, httpRoutes, cronSpecs, sourceMapped: null };
  }
  return { analysis, namespaces };
}
