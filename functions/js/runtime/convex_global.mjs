// globalThis.Convex as the convex library calls it (syscall / asyncSyscall / jsSyscall),
// routed to the engine for the call running now (call_context.mjs). Sync syscalls block
// on the sync channel; async ones are frames answered by `ret` frames.
//
// 1.0/queryStreamNext is served from a batch: the engine answers {values, done} for up to
// `batch` documents (growing from 16 to 1024 per stream), and this file hands them out one
// at a time as the library asks, so a query costs one round trip per batch, not per row.

import { current } from "./call_context.mjs";
import { queueFrame, readFrameSync, writeFrame } from "./frames.mjs";
import { importTimeError } from "./import_phase.mjs";

const TO_ENGINE = 4;
const SYNC_REPLY = 5;

/** @type {Map<number, {resolve: Function, reject: Function}>} */
const pending = new Map();
let nextSid = 1;

/** Streams by call and query id: {buffer: string[], done: boolean, batch: number}. */
const streams = new Map();
const streamKey = (rid, queryId) => `${rid}:${queryId}`;

function engineError(err) {
  const error = new Error(err.message);
  if (err.data !== undefined) error.data = err.data;
  return error;
}

function syncCall(op, args) {
  const c = current();
  if (!c) throw importTimeError(op);
  writeFrame(TO_ENGINE, { t: "sync", rid: c.rid, op, args });
  const reply = readFrameSync(SYNC_REPLY);
  if (reply.err) throw engineError(reply.err);
  return reply.ok;
}

/** An async syscall for the call `rid` (by default the one running now). */
function asyncCall(op, args, rid = current()?.rid) {
  if (rid === undefined) return Promise.reject(importTimeError(op));
  const sid = nextSid++;
  return new Promise((resolve, reject) => {
    pending.set(sid, { resolve, reject });
    queueFrame(TO_ENGINE, { t: "sys", rid, sid, op, args });
  });
}

/**
 * The streamed request body of HTTP action `rid`: each read the action makes pulls the next
 * piece from the engine (convexlite/requestBody), so the body is read as the client sends it
 * and never before the action asks (highWaterMark 0).
 * @param {number} rid
 */
export function requestBodyStream(rid) {
  return new ReadableStream({
    async pull(controller) {
      const answer = JSON.parse(await asyncCall("convexlite/requestBody", "{}", rid));
      if (answer.done) controller.close();
      else controller.enqueue(new Uint8Array(Buffer.from(answer.chunk, "base64")));
    },
  }, { highWaterMark: 0 });
}

/** Delivers a `ret` frame. */
export function deliver(frame) {
  const waiter = pending.get(frame.sid);
  if (!waiter) return;
  pending.delete(frame.sid);
  if (frame.err) waiter.reject(engineError(frame.err));
  else waiter.resolve(frame.ok);
}

async function nextFromStream(rid, argsJson) {
  const { queryId } = JSON.parse(argsJson);
  const key = streamKey(rid, queryId);
  let stream = streams.get(key);
  if (!stream) {
    stream = { buffer: [], done: false, batch: 16 };
    streams.set(key, stream);
  }
  if (stream.buffer.length === 0 && !stream.done) {
    const answer = JSON.parse(await asyncCall("1.0/queryStreamNext", JSON.stringify({ queryId, batch: stream.batch })));
    stream.batch = Math.min(stream.batch * 2, 1024);
    stream.buffer = answer.values;
    stream.done = answer.done;
  }
  if (stream.buffer.length === 0) return JSON.stringify({ value: null, done: true });
  return JSON.stringify({ value: stream.buffer.shift(), done: false });
}

/** Drops what a finished call left behind. */
export function forgetCall(rid) {
  for (const key of streams.keys()) {
    if (key.startsWith(`${rid}:`)) streams.delete(key);
  }
}

export function installConvexGlobal() {
  globalThis.Convex = {
    syscall(op, argsJson) {
      if (op === "1.0/queryCleanup") {
        const c = current();
        if (c) streams.delete(streamKey(c.rid, JSON.parse(argsJson).queryId));
      }
      return syncCall(op, argsJson);
    },
    asyncSyscall(op, argsJson) {
      const c = current();
      if (c && op === "1.0/queryStreamNext") return nextFromStream(c.rid, argsJson);
      return asyncCall(op, argsJson);
    },
    jsSyscall(op) {
      throw new Error(`${op} is not supported by convexlite yet`);
    },
    op(op) {
      throw new Error(`Convex.op ${op} is not supported by convexlite`);
    },
  };
}
