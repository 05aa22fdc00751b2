// The app's own copy of the `convex` package. This package is usually installed by path,
// as a symlink whose real location has no node_modules/convex, so it cannot import
// "convex/values" itself; and it must use the very instance the app's modules use (a
// ConvexError thrown there is checked with instanceof). Both point to the ESM build that
// the project's `convex` package exports, found from the project root (process.cwd()).

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

async function load(subpath) {
  const require = createRequire(path.join(process.cwd(), "package.json"));
  let packageJson;
  try {
    packageJson = require.resolve("convex/package.json");
  } catch {
    throw new Error("convexlite-test: the `convex` package is not installed in this project (npm install convex)");
  }
  const manifest = JSON.parse(fs.readFileSync(packageJson, "utf8"));
  const target = manifest.exports?.[`./${subpath}`]?.import?.import;
  if (typeof target !== "string") throw new Error(`convexlite-test: convex has no ESM export for ./${subpath}`);
  return import(pathToFileURL(path.join(path.dirname(packageJson), target)).href);
}

let loaded = null;
/**
 * @returns {Promise<{values: typeof import("convex/values"), server: typeof import("convex/server"),
 *                    browser: typeof import("convex/browser")}>}
 */
export function convexLibrary() {
  loaded ??= Promise.all([load("values"), load("server"), load("browser")]).then(([values, server, browser]) => ({
    values, server, browser,
  }));
  return loaded;
}
