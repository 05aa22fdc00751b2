// Running the app's JavaScript for the engine. A call is a `call` request whose reply is
// either its result or an `invoke`: run this function, then report `done`. The reply to
// `done` may be another invoke (an OCC retry runs the JS again), and so may the reply to
// a syscall (ctx.runQuery/runMutation, an action's runQuery & co: the nested function
// runs here, in the same engine transaction or its own). `drive` follows invokes until
// the answer it waits for arrives.
//
// globalThis.Convex routes the library's syscalls to the engine for the invocation that
// is running (an AsyncLocalStorage store), so calls may interleave at their awaits, as
// concurrent calls do on Convex.

import { AsyncLocalStorage } from "node:async_hooks";

const store = new AsyncLocalStorage();

/**
 * @typedef {{rid: number, session: Session}} Running
 * @typedef {{exchange: (request: object) => any, lookup: (module: string, fn: string) => any,
 *            thrown: Map<number, unknown>, values: any, scheduled: (id: string, ts: number) => void,
 *            enter: () => {seq: number} | Promise<{seq: number}>, leave: (tx: {seq: number}) => void,
 *            retryTurn: (tx: {seq: number}|null) => Promise<void>}} Session
 *   `lookup` returns the registered function for an invoke (http.js's router for "http");
 *   `thrown` keeps the errors JS threw, by rid, so the original object reaches the test;
 *   `values` is convex/values; `scheduled` hears of each job a call scheduled; `enter`,
 *   `leave` and `retryTurn` order OCC retries after what they conflicted with (index.mjs).
 */

// Captured before a test can fake timers.
const realSetImmediate = globalThis.setImmediate;
/** One turn of the real event loop. */
export const realTurn = () => new Promise((resolve) => realSetImmediate(resolve));

/**
 * Follows invokes (and OCC backoffs) until a reply that is neither. `tx` is the
 * transaction this request started (Session.enter), if it counts.
 *
 * A transaction whose commit conflicted waits before it runs again until every
 * transaction that was running when it conflicted has ended (Session.retryTurn). Without
 * that, the losers of a conflict would re-run together and conflict again, round after
 * round; with it, a retry overlaps only transactions that started after it.
 */
export async function drive(session, reply, tx = null) {
  let done = null;
  for (;;) {
    if (reply.t === "invoke") {
      done = await run(session, reply);
      reply = session.exchange(done);
    } else if (reply.t === "backoff") {
      await session.retryTurn(tx);
      reply = session.exchange({ t: "resume", rid: reply.rid });
    } else {
      // {same: rid}: the value is what that invocation returned (test_engine.h).
      if (reply.same !== undefined && done?.rid === reply.same) reply.ok = done.ok;
      return reply;
    }
  }
}

/** Runs one invoke; its `done` frame. */
async function run(session, invoke) {
  const fn = session.lookup(invoke.module, invoke.fn);
  try {
    if (invoke.udf === "query" || invoke.udf === "mutation") guardGlobals();
    const ok = await store.run({ rid: invoke.rid, session, udf: invoke.udf }, () => {
      if (invoke.udf === "query") return fn.invokeQuery(invoke.args);
      if (invoke.udf === "mutation") return fn.invokeMutation(invoke.args);
      if (invoke.udf === "http") return runHttpAction(fn, invoke);
      return fn.invokeAction(String(invoke.rid), invoke.args);
    });
    return { t: "done", rid: invoke.rid, ok };
  } catch (error) {
    session.thrown.set(invoke.rid, error);
    const err = { message: error instanceof Error ? `${error.name === "Error" ? "" : error.name + ": "}${error.message}` : String(error) };
    if (error !== null && typeof error === "object" && Symbol.for("ConvexError") in error) {
      // The library turned the data into Convex JSON text (serializeConvexErrorData):
      // the engine gets that, and the test gets its error back as it was thrown.
      const json = typeof error.data === "string" ? JSON.parse(error.data) : session.values.convexToJson(error.data ?? null);
      err.data = json;
      error.data = session.values.jsonToConvex(json);
    }
    return { t: "done", rid: invoke.rid, err };
  } finally {
    for (const key of streams.keys()) if (key.startsWith(`${invoke.rid}:`)) streams.delete(key);
  }
}

/**
 * An HTTP action the engine routed: http.js's router finds the handler again (exact paths,
 * then the longest prefix) and runs it on the Request the test made; the response goes
 * back whole ({status, headers, setCookies, body: base64}).
 */
async function runHttpAction(router, invoke) {
  const req = JSON.parse(invoke.args);
  const [handler] = router.lookup(req.path, req.method);
  const response = await handler.invokeHttpAction(invoke.request);
  const headers = [];
  for (const [name, value] of response.headers) if (name !== "set-cookie") headers.push([name, value]);
  const body = Buffer.from(await response.arrayBuffer()).toString("base64");
  return JSON.stringify({ status: response.status, headers, setCookies: response.headers.getSetCookie(), body });
}

const GUARDED = Symbol.for("convexlite-test.guarded");

const inQueryOrMutation = () => {
  const running = store.getStore();
  return running !== undefined && (running.udf === "query" || running.udf === "mutation");
};
const refused = (what) =>
  new Error(`Can't use ${what} in queries and mutations. Please consider using an action. ` +
            "See https://docs.convex.dev/functions/actions for more details.");

/**
 * Queries and mutations cannot fetch or set timers, as on Convex. Each guard wraps whatever
 * is installed when one runs (a test's vi.stubGlobal("fetch", ...) or vi.useFakeTimers()
 * included), so actions and the test itself still get the stub or the fake.
 */
function guardGlobals() {
  guard("fetch", (current) => function fetch(...args) {
    if (inQueryOrMutation()) return Promise.reject(refused("fetch()"));
    return current.apply(this, args);
  });
  for (const name of ["setTimeout", "setInterval"]) {
    guard(name, (current) => function (...args) {
      if (inQueryOrMutation()) throw refused(name);
      return current.apply(this, args);
    });
  }
}

function guard(name, wrap) {
  const current = globalThis[name];
  if (typeof current !== "function" || current[GUARDED]) return;
  const guarded = wrap(current);
  guarded[GUARDED] = true;
  globalThis[name] = guarded;
}

/** Runs `fn` outside any call, so the package's own timers are not refused. */
export const outsideCalls = (fn) => store.exit(fn);

/** An Error for an engine `err` (a ConvexError's data becomes Convex JSON for the library). */
function engineError(err) {
  const error = new Error(err.message);
  if (err.data !== undefined) error.data = err.data;
  return error;
}

/**
 * Streams by rid and query id: queryStreamNext served from batches, as the worker does,
 * the first of them in queryStream's reply.
 */
const streams = new Map();

async function asyncSyscall(running, op, args) {
  const { session, rid } = running;
  if (op === "1.0/queryStreamNext") {
    const { queryId } = JSON.parse(args);
    const key = `${rid}:${queryId}`;
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = { buffer: [], done: false, batch: FIRST_BATCH }));
    if (stream.error) {
      const error = stream.error;
      stream.error = undefined;
      throw engineError(error);
    }
    if (stream.buffer.length === 0 && !stream.done) {
      const reply = session.exchange({ t: "sys", rid, op, args: JSON.stringify({ queryId, batch: stream.batch }), sync: false });
      if (reply.err) throw engineError(reply.err);
      const batch = JSON.parse(reply.ok);
      stream.batch = Math.min(stream.batch * 2, 1024);
      stream.buffer = batch.values;
      stream.done = batch.done;
    }
    if (stream.buffer.length === 0) return JSON.stringify({ value: null, done: true });
    return JSON.stringify({ value: stream.buffer.shift(), done: false });
  }
  // An action's runQuery/runMutation is a transaction of its own.
  let tx = op === "1.0/actions/query" || op === "1.0/actions/mutation" ? session.enter() : null;
  if (tx instanceof Promise) tx = await tx;
  let reply;
  try {
    reply = await drive(session, session.exchange({ t: "sys", rid, op, args, sync: false }), tx);
  } finally {
    if (tx) session.leave(tx);
  }
  if (reply.err) throw engineError(reply.err);
  if (op === "1.0/schedule" || op === "1.0/actions/schedule") session.scheduled(JSON.parse(reply.ok), JSON.parse(args).ts);
  return reply.ok;
}

let fallback = null;  // the Convex global that was there before (convex-test's, say)

const FIRST_BATCH = 16;

const convexGlobal = {
  syscall(op, args) {
    const running = store.getStore();
    if (!running) return fallback.syscall(op, args);
    if (op === "1.0/queryCleanup") {
      const key = `${running.rid}:${JSON.parse(args).queryId}`;
      const stream = streams.get(key);
      streams.delete(key);
      // A stream read to its end holds nothing in the engine that the call's end does not free.
      if (stream && stream.done && stream.buffer.length === 0) return "true";
    }
    const request = { t: "sys", rid: running.rid, op, args, sync: true };
    if (op === "1.0/queryStream") request.prefetch = FIRST_BATCH;
    const reply = running.session.exchange(request);
    if (reply.err) throw engineError(reply.err);
    if (op === "1.0/queryStream") {
      const { queryId } = JSON.parse(reply.ok);
      const first = reply.first ?? { values: [], done: false };
      streams.set(`${running.rid}:${queryId}`, {
        buffer: first.values, done: first.done, batch: FIRST_BATCH * 2, error: reply.firstErr,
      });
    }
    return reply.ok;
  },
  asyncSyscall(op, args) {
    const running = store.getStore();
    if (!running) return fallback.asyncSyscall(op, args);
    return asyncSyscall(running, op, args);
  },
  jsSyscall(op, args) {
    if (!store.getStore() && fallback?.jsSyscall) return fallback.jsSyscall(op, args);
    throw new Error(`${op} is not supported by convexlite yet`);
  },
};

/** Makes globalThis.Convex this package's (again, if another library replaced it). */
export function installConvexGlobal() {
  if (globalThis.Convex === convexGlobal) return;
  fallback = globalThis.Convex ?? {
    syscall: (op) => { throw new Error(`${op}: not inside a convexlite-test call`); },
    asyncSyscall: async (op) => { throw new Error(`${op}: not inside a convexlite-test call`); },
  };
  globalThis.Convex = convexGlobal;
}
