// A long-lived worker: runs the functions of one code version for the engine.
//
//   node <permission flags> worker.mjs        fds: 3 in, 4 out, 5 sync replies (frames.mjs)
//
//   engine: {t:"init", dir, modules, env, seed, nowMs}   -> worker: {t:"ready"} | {t:"failed", message}
//   engine: {t:"invoke", rid, udf, module, fn, args, seed, now}
//   worker: {t:"sys", rid, sid, op, args} ... engine: {t:"ret", sid, ok | err}
//   worker: {t:"sync", rid, op, args}    ... engine (fd 5): {ok | err}
//   worker: {t:"done", rid, ok, logs} | {t:"done", rid, err: {message, data?}, logs}
//
// Every module is imported once, at init, in the import phase (import_phase.mjs); the
// functions then run with the per-call globals of call_context.mjs.

import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { calls, installGlobals, newCall } from "./call_context.mjs";
import { deliver, forgetCall, installConvexGlobal, requestBodyStream } from "./convex_global.mjs";
import { uncaughtText, describeError } from "./errors.mjs";
import { FrameReader, queueFrame, writeFrame } from "./frames.mjs";
import { installImportPhase } from "./import_phase.mjs";
import { seedWords } from "./rng.mjs";
import { FrameMapper } from "./source_maps.mjs";

const FROM_ENGINE = 3;
const TO_ENGINE = 4;
const namespaces = new Map();
let mapper = null;

async function init(frame) {
  // The import phase: the deployment's env, a frozen clock, seeded randomness.
  installImportPhase({ env: frame.env, seed: seedWords(frame.seed), nowMs: frame.nowMs });
  const importPhaseDate = globalThis.Date;
  mapper = new FrameMapper(frame.dir);
  for (const modulePath of frame.modules) {
    try {
      namespaces.set(modulePath, await import(pathToFileURL(path.join(frame.dir, modulePath)).href));
    } catch (error) {
      writeFrame(TO_ENGINE, { t: "failed", message: `Failed to analyze ${modulePath}: ${uncaughtText(error, mapper)}` });
      return;
    }
  }
  void importPhaseDate;
  installGlobals();
  installConvexGlobal();
  writeFrame(TO_ENGINE, { t: "ready" });
}

/** Convex's text for an uncaught error in a function, and a ConvexError's data. */
function failure(error) {
  const { message, frames, data } = describeError(error, mapper);
  const text = ["Uncaught " + message, ...frames.map((f) => "    at " + f)].join("\n");
  return data === undefined ? { message: text } : { message: text, data };
}

/**
 * An HTTP action: http.js's router finds the handler (exact paths, then the longest
 * prefix), which gets a real Request and returns a Response. The request's body comes
 * whole in the frame, or (`streamBody`: a large or chunked upload) as the handler reads it.
 * A response body that is all there at once goes back whole in the result; one still being
 * produced (a ReadableStream the handler keeps writing) goes out as it comes, when the
 * engine can stream: a `head` frame, then `chunk` frames, and the result {streamed: true}.
 * @param {object} namespace http.js
 * @param {{method: string, url: string, path: string, headers: [string, string][], body: string|null, streamBody?: boolean, stream?: boolean}} req
 * @param {number} rid
 */
async function runHttpAction(namespace, req, rid) {
  const router = namespace.default;
  const match = router.lookup(req.path, req.method);
  if (!match) {
    return JSON.stringify({ status: 404, headers: [["content-type", "text/plain"]], setCookies: [],
                            body: Buffer.from("No matching routes found").toString("base64") });
  }
  const [handler] = match;
  const bodyless = req.method === "GET" || req.method === "HEAD";
  let body;
  if (!bodyless && req.streamBody) body = requestBodyStream(rid);
  else if (!bodyless && req.body !== null) body = Buffer.from(req.body, "base64");
  const request = new Request(req.url, { method: req.method, headers: req.headers, body, duplex: "half" });
  const response = await handler.invokeHttpAction(request);
  const headers = [];
  for (const [name, value] of response.headers) if (name !== "set-cookie") headers.push([name, value]);
  const head = { status: response.status, headers, setCookies: response.headers.getSetCookie() };
  const chunks = [];
  const reader = response.body?.getReader();
  let streaming = false;
  let pending = null;  // a read not answered yet
  while (reader) {
    // A read that is not answered before the event loop turns means the body is still being
    // produced: from then on, stream.
    pending ??= reader.read();
    const step = streaming || !req.stream ? await pending : await settledNow(pending);
    if (step === NOT_YET) {
      queueFrame(TO_ENGINE, { t: "head", rid, ...head });
      for (const c of chunks.splice(0)) queueFrame(TO_ENGINE, { t: "chunk", rid, data: c.toString("base64") });
      streaming = true;
      continue;
    }
    pending = null;
    if (step.done) break;
    const bytes = Buffer.from(step.value);
    if (streaming) queueFrame(TO_ENGINE, { t: "chunk", rid, data: bytes.toString("base64") });
    else chunks.push(bytes);
  }
  if (streaming) return JSON.stringify({ streamed: true });
  return JSON.stringify({ ...head, body: Buffer.concat(chunks).toString("base64") });
}

const NOT_YET = Symbol("not yet");
// Captured before the per-call globals are installed (call_context.mjs).
const realSetImmediate = globalThis.setImmediate;
const realClearImmediate = globalThis.clearImmediate;
/** `promise`'s value if it settles before the next turn of the event loop, else NOT_YET. */
function settledNow(promise) {
  return new Promise((resolve, reject) => {
    const timer = realSetImmediate(() => resolve(NOT_YET));
    promise.then((v) => { realClearImmediate(timer); resolve(v); },
                 (e) => { realClearImmediate(timer); reject(e); });
  });
}

async function invoke(frame) {
  const call = newCall(frame);
  await calls.run(call, async () => {
    let result;
    try {
      const namespace = namespaces.get(frame.module);
      const fn = frame.udf === "http" ? namespace?.default : namespace?.[frame.fn];
      if (!fn) throw new Error(`${frame.module}:${frame.fn} is not exported by this code version`);
      if (frame.udf === "query") result = { ok: await fn.invokeQuery(frame.args) };
      else if (frame.udf === "mutation") result = { ok: await fn.invokeMutation(frame.args) };
      else if (frame.udf === "action") result = { ok: await fn.invokeAction(String(frame.rid), frame.args) };
      else result = { ok: await runHttpAction(namespace, JSON.parse(frame.args), frame.rid) };
    } catch (error) {
      result = { err: failure(error) };
    }
    forgetCall(frame.rid);
    queueFrame(TO_ENGINE, { t: "done", rid: frame.rid, logs: call.logs, ...result });
  });
}

function main() {
  // A rejection nobody awaited (libraries start some at import) must not end the worker.
  process.on("unhandledRejection", () => {});
  const reader = new FrameReader((frame) => {
    if (frame.t === "init") void init(frame);
    else if (frame.t === "invoke") void invoke(frame);
    else if (frame.t === "ret") deliver(frame);
  });
  // A libuv pipe handle (epoll), not fs.createReadStream (whose reads hop through the
  // thread pool): one wake-up per read. `onread` reads into one reused buffer, bypassing
  // the stream machinery.
  const input = new net.Socket({
    fd: 3, readable: true, writable: false,
    onread: { buffer: Buffer.allocUnsafe(65536), callback: (n, buffer) => reader.push(buffer.subarray(0, n)) },
  });
  input.on("end", () => process.exit(0));
  input.on("error", () => process.exit(0));
}

main();
