// How a JavaScript error reads to a Convex user: "Uncaught Error: boom" followed by its
// stack frames (mapped to the user's sources when a FrameMapper is given), and a
// ConvexError's data kept as Convex JSON text.

/**
 * @param {unknown} error
 * @param {{frames(stack: string): string[]}} [mapper]
 * @returns {{message: string, data?: string, frames: string[]}}
 */
export function describeError(error, mapper) {
  if (error instanceof Error || (error && typeof error === "object" && "message" in error)) {
    const name = error.name || "Error";
    const stack = typeof error.stack === "string" ? error.stack : "";
    const frames = mapper
      ? mapper.frames(stack)
      : stack.split("\n").filter((l) => /^\s+at /.test(l)).map((l) => l.trim());
    const message = error.message ? `${name}: ${error.message}` : name;
    const out = { message, frames };
    if (typeof error.data === "string") out.data = error.data;
    return out;
  }
  return { message: String(error), frames: [] };
}

/**
 * Convex's JsError text: "Uncaught Error: boom\n    at f (../convex/a.ts:1:2)\n" (it always
 * ends in a newline).
 */
export function uncaughtText(error, mapper) {
  const { message, frames } = describeError(error, mapper);
  return ["Uncaught " + message, ...frames.map((f) => "    at " + f)].join("\n") + "\n";
}
