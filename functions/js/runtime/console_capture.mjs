// Replaces console.* with a recorder: log lines as Convex keeps them
// ({level, messages}), for the engine to show or attach to a result.

import { inspect } from "node:util";

const LEVELS = { log: "LOG", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG" };

/**
 * Formats one console argument as Convex's console does (object-inspect): strings in
 * single quotes with ' and \\ escaped and control characters spelled out, the rest
 * inspected.
 */
export function formatArg(arg) {
  if (typeof arg === "string") {
    const escaped = arg.replace(/[\\']/g, (c) => "\\" + c).replace(/[\x00-\x1f]/g, (c) => {
      const named = { "\n": "\\n", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\r": "\\r" }[c];
      return named ?? "\\x" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
    });
    return `'${escaped}'`;
  }
  return inspect(arg, { depth: 5, breakLength: Infinity });
}

/**
 * @param {(line: {level: string, messages: string[]}) => void} sink
 */
export function captureConsole(sink) {
  for (const [method, level] of Object.entries(LEVELS)) {
    console[method] = (...args) => sink({ level, messages: args.map(formatArg) });
  }
  console.trace = (...args) =>
    sink({ level: "ERROR", messages: [...args.map(formatArg), new Error().stack ?? ""] });
}
