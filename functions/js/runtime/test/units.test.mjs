import { test } from "node:test";
import assert from "node:assert/strict";
import { formatArg } from "../console_capture.mjs";
import { uncaughtText } from "../errors.mjs";
import { seededRandom, seedWords } from "../rng.mjs";
import { FrameMapper } from "../source_maps.mjs";
import { versionDir } from "./helpers.mjs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

test("seeded randomness repeats per seed and stays in [0, 1)", () => {
  const a = seededRandom(seedWords(Buffer.alloc(32, 7).toString("base64")));
  const b = seededRandom(seedWords(Buffer.alloc(32, 7).toString("base64")));
  const c = seededRandom(seedWords(Buffer.alloc(32, 8).toString("base64")));
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => b()));
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 990);
});

test("console arguments are formatted as Convex formats them", () => {
  assert.equal(formatArg("it's"), "'it\\'s'");
  assert.equal(formatArg("a\nb\\c\u0001"), "'a\\nb\\\\c\\x01'");
  assert.equal(formatArg(5), "5");
  assert.equal(formatArg(null), "null");
  assert.equal(formatArg({ a: 1 }), "{ a: 1 }");
});

test("frames are mapped to the user's sources; the library's frames are dropped", () => {
  // Generated line 1 maps to line 3 of ../convex/user.ts; line 2 to the convex library.
  const map = JSON.stringify({ version: 3, sources: ["../convex/user.ts", "../node_modules/convex/src/server/impl/registration_impl.ts"],
                               names: [], mappings: "AAEA;ACAA" });
  const dir = versionDir({ "user.js": "x\ny\n", "user.js.map": map });
  const mapper = new FrameMapper(dir);
  const url = pathToFileURL(join(dir, "user.js")).href;
  assert.equal(mapper.mapFrame(`    at handler (${url}:1:1)`), "handler (../convex/user.ts:3:1)");
  assert.equal(mapper.mapFrame(`    at ${url}:1:1`), "../convex/user.ts:3:1");
  assert.equal(mapper.mapFrame(`    at async invoke (${url}:2:1)`), null);
  assert.equal(mapper.mapFrame("    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)"), null);
  const error = new Error("boom");
  error.stack = `Error: boom\n    at handler (${url}:1:1)\n    at node:internal/x:1:1`;
  assert.equal(uncaughtText(error, mapper), "Uncaught Error: boom\n    at handler (../convex/user.ts:3:1)\n");
});
