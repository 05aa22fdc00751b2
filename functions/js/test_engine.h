// File: functions/js/test_engine.h
//
// The engine behind the convexlite-test package (docs/design/convexlite-test.md): the
// functions run in the test process, and every syscall they make comes here, to a real
// Database, Runner and schema. The test process starts the calls; the engine runs each
// one through the Runner exactly as it runs a pushed function (validation, limits, OCC
// retries, triggers, scheduler writes), except that "run the JavaScript" is a request
// back to the test process instead of a frame to a Node worker.
//
// Wire format: each frame is a 4-byte little-endian length and that many bytes of UTF-8
// JSON (as runtime/frames.mjs). Every request gets exactly one reply, and the test process
// waits for it before it sends another (its reads are blocking), so there is always at
// most one request outstanding:
//
//   request                                          reply
//   {t:"open", analysis, schema, limits?}            {t:"opened", db} | {t:"error", message}
//   {t:"close", db}                                  {t:"closed"}
//   {t:"call", db, path, args, identity, udf?, now?} invoke | result
//   {t:"run", db, id, identity, now?}                invoke | result   (t.run: JS `id` as a mutation)
//   {t:"job", db, id, now?}                          invoke | result   (ok "true": the job ran)
//   {t:"fetch", db, method, url, path, headers, identity, now?}   invoke | result (ok: the response)
//   {t:"sys", rid, op, args, sync, prefetch?}        {t:"ret", ok, first?} | {t:"ret", err} | invoke
//   {t:"done", rid, ok} | {t:"done", rid, err}       invoke | ret | result
//
//   {t:"resume", rid}                                invoke (after a backoff, below)
//
//   invoke = {t:"invoke", rid, udf, module, fn, args}   run this JS, then send `done`
//   result = {t:"result", ok} | {t:"result", same: rid} | {t:"result", err: {message, data?, rid?}}
//
// A `1.0/queryStream` with `prefetch: n` gets its first queryStreamNext batch of n in the
// same reply (the {values, done} object as `first`, or `firstErr`). A call whose value is
// the `ok` its JS reported in its last `done` (no conversion changed it) is answered
// {same: rid}, naming that done, instead of sending the value back.
//
// `analysis` is the analyze worker's "modules" object (runtime/analyze.mjs); `schema` is
// schema.js's export() text or null; `args` and `ok` are Convex JSON as text; `identity`
// is Convex JSON text of ctx.auth.getUserIdentity()'s object, or null; `udf` (optional)
// is the function type the caller expects. An `err` whose `rid` is set is the JS error
// that invocation reported in its `done`, unchanged, so the test process can rethrow the
// original object.
//
// A call's JS may need more JS: an OCC retry re-runs it (a second `invoke` as the reply
// to `done`), ctx.runQuery/runMutation in a mutation and an action's runQuery & co are
// nested invokes (the reply to that `sys`); their `done` is answered with the syscall's
// `ret`. Calls interleave: each runs on its own engine thread, with its own transaction.
//
// `now` is the test process's Date.now() (ms) as a call starts: each deployment's clock
// (commit timestamps, `_creationTime`, a scheduled job's time) is set to it, so vitest's
// fake timers move them as they move the test's Date. Commit timestamps stay increasing
// when it goes back.
//
// Each `open` is a fresh deployment in an in-memory Database; nothing touches the disk.
// `limits` overrides Convex's transaction limits (convex-test's transactionLimits names).
// Scheduled functions are written but never run by the engine on its own: the test runs
// each with `job` when its timer fires (JobExecutor::RunJob, Convex's exactly-once and
// at-most-once state changes). `fetch` routes with http.js's routes; the test process
// keeps the Request and answers the `invoke` ({method, url, path}) with the response
// ({status, headers, setCookies, body: base64}), which the result carries back.
//
// OCC retries: the reply to a `done` whose commit conflicted is {t:"backoff", rid}; the
// test process lets its other calls run, then sends {t:"resume", rid}, answered by the
// retry's invoke. (A sleep here would stall the test process, which waits on its reply,
// and with it every transaction the retry waits for.)
//
// Thread safety: Serve is called once; it starts the threads it needs.

#ifndef CVX_FUNCTIONS_JS_TEST_ENGINE_H_
#define CVX_FUNCTIONS_JS_TEST_ENGINE_H_

#include "absl/status/status.h"

namespace cvx::js {

// Serves requests read from `requests_fd` with replies written to `replies_fd` until the
// requests pipe closes (the test process exited). OK on a clean close; an error when a
// frame cannot be read or written.
[[nodiscard]] absl::Status ServeTestEngine(int requests_fd, int replies_fd);

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_TEST_ENGINE_H_
