// Stack frames as a Convex user sees them: only frames in the pushed code, each mapped
// through its module's source map to the user's .ts line ("../convex/messages.ts:12:5"),
// and frames inside the convex library's own runtime left out, as Convex leaves them out.

import fs from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// "    at fn (file:///dir/messages.js:10:5)" | "    at file:///dir/messages.js:10:5"
const FRAME = /^\s*at (?:(async )?(.*?) \()?(file:\/\/[^\s()]+):(\d+):(\d+)\)?$/;
const LIBRARY = /(^|\/)node_modules\/convex\/|convex\/src\/server\/impl|udf-runtime\/src/;

export class FrameMapper {
  /** @param {string} dir the code version's directory */
  constructor(dir) {
    this.dir = path.resolve(dir) + path.sep;
    /** @type {Map<string, SourceMap|null>} */
    this.maps = new Map();
  }

  mapFor(file) {
    if (!this.maps.has(file)) {
      let map = null;
      try {
        map = new SourceMap(JSON.parse(fs.readFileSync(file + ".map", "utf8")));
      } catch {
        map = null;
      }
      this.maps.set(file, map);
    }
    return this.maps.get(file);
  }

  /**
   * One V8 frame line in Convex's form, or null when it is not user code.
   * @param {string} line
   */
  mapFrame(line) {
    const m = FRAME.exec(line);
    if (!m) return null;
    const [, isAsync, fn, url, lineText, colText] = m;
    let file;
    try {
      file = fileURLToPath(url);
    } catch {
      return null;
    }
    if (!file.startsWith(this.dir)) return null;
    let location = `${path.relative(this.dir, file)}:${lineText}:${colText}`;
    const map = this.mapFor(file);
    if (map) {
      const entry = map.findEntry(Number(lineText) - 1, Number(colText) - 1);
      if (entry && entry.originalSource) {
        if (LIBRARY.test(entry.originalSource)) return null;
        location = `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
      }
    } else if (file.includes(`${path.sep}_deps${path.sep}`)) {
      return null;
    }
    const prefix = isAsync ? "async " : "";
    return fn ? `${prefix}${fn} (${location})` : `${prefix}${location}`;
  }

  /** @param {string} stack */
  frames(stack) {
    return stack
      .split("\n")
      .filter((l) => /^\s+at /.test(l))
      .map((l) => this.mapFrame(l))
      .filter((f) => f !== null);
  }
}
