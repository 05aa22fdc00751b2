// convexlite-test: convex-test's `convexTest(schema, modules, options)` on the real
// convexlite engine (docs/design/convexlite-test.md, docs/guides/testing.md).
//
// The functions run here, in the test process, so vi.mock, stubbed globals, fake timers
// and module state behave as with convex-test. Their syscalls go to a `convexlite
// test-engine` process (channel.mjs): every convexTest() is a fresh in-memory database
// there, with Convex's validation, limits, IDs, indexes and serializable transactions.
// With CONVEXLITE_TEST_URL set, the same surface calls a running deployment instead
// (remote.mjs).

import { drive, installConvexGlobal, outsideCalls, realTurn } from "./calls.mjs";
import { engine } from "./channel.mjs";
import { convexLibrary } from "./convex_library.mjs";
import { analyze, indexModules } from "./modules.mjs";
import { RemoteTestConvex, remoteTarget } from "./remote.mjs";

/** Analyses by module map: a test file's glob is analyzed once, whatever its tests open. */
const analyses = new WeakMap();

/** Deployments nobody can reach any more are closed in the engine. */
const closer = new FinalizationRegistry(({ channel, db }) => {
  try {
    channel.exchange({ t: "close", db });
  } catch {
    // The engine is gone; so is the database.
  }
});

/** convex-test's default subject: a Java-style string hash of the identity's JSON. */
function simpleHash(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    hash = (hash << 5) - hash + text.charCodeAt(i);
    hash |= 0;
  }
  return hash;
}

/** convex-test's derivation of subject, issuer and tokenIdentifier. */
function fullIdentity(identity) {
  const subject = identity.subject ?? `${simpleHash(JSON.stringify(identity))}`;
  const issuer = identity.issuer ?? "https://convex.test";
  const tokenIdentifier = identity.tokenIdentifier ?? `${issuer}|${subject}`;
  return { ...identity, subject, issuer, tokenIdentifier };
}

/** A function reference, name or handle (ours, or convex-test's "function://;path") as a path. */
function functionPath(server, ref) {
  if (typeof ref === "string") {
    const handle = /^function:\/\/(?:[^#;]*#|;)(.*)$/.exec(ref);
    return handle ? handle[1] : ref;
  }
  return server.getFunctionName(ref);
}

class Deployment {
  constructor(schema, modules, options) {
    this.thrown = new Map();
    this.inline = new Map();
    this.nextInline = 1;
    this.timers = new Set();  // jobs whose timer has not fired
    this.inFlight = new Set();  // jobs running
    // Transactions running, by sequence number (enter, leave, retryTurn).
    this.seq = 0;
    this.running = new Set();
    this.waiters = [];  // woken whenever a transaction leaves
    this.exclusive = [];  // transactions that retry alone, in line
    this.ready = this.#open(schema, modules, options);
    // An unawaited failure is reported by the first call that needs the deployment.
    this.ready.catch(() => {});
  }

  async #open(schema, modules, options) {
    if (modules === undefined) {
      throw new Error(
        "convexlite-test: pass your modules, as convex-test's README shows: " +
          'convexTest(schema, import.meta.glob("./**/*.*s")) in a test file inside convex/',
      );
    }
    const [channel, library] = await Promise.all([engine(), convexLibrary()]);
    let analyzed = analyses.get(modules);
    if (!analyzed) {
      analyzed = analyze(indexModules(modules));
      analyses.set(modules, analyzed);
    }
    const { analysis, namespaces } = await analyzed;
    this.channel = channel;
    this.library = library;
    this.namespaces = namespaces;
    const limits = typeof options.transactionLimits === "object" ? options.transactionLimits : undefined;
    const reply = channel.exchange({ t: "open", analysis, schema: schema ? schema.export() : null, limits });
    if (reply.t !== "opened") throw new Error(reply.message);
    this.db = reply.db;
    closer.register(this, { channel, db: reply.db });
  }

  exchange(request) {
    return this.channel.exchange(request);
  }

  get values() {
    return this.library.values;
  }

  lookup(module, fn) {
    if (module === "") return this.inline.get(fn);
    const namespace = this.namespaces.get(module);
    const value = namespace?.[fn];
    if (!value) throw new Error(`convexlite-test: ${module} does not export ${fn}`);
    return value;
  }

  /**
   * A transaction (a query or mutation the test or an action started) begins; while a
   * transaction retries alone (retryTurn), new ones wait. Returns the transaction, or a
   * promise of it when it had to wait.
   */
  enter() {
    if (this.exclusive.length > 0) return this.#changed().then(() => this.enter());
    const tx = { seq: ++this.seq, retries: 0 };
    this.running.add(tx.seq);
    return tx;  // at once when nothing retries alone: no await on the common path
  }

  leave(tx) {
    this.running.delete(tx.seq);
    if (tx.exclusive) {
      this.exclusive.splice(this.exclusive.indexOf(tx), 1);
      tx.exclusive = false;
    }
    this.#wake();
  }

  #wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  #changed() {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Before `tx` (or an uncounted transaction: null) runs again after a conflict. The first
   * retry waits until every transaction running now has ended, and then overlaps only
   * newer ones. A second conflict means those keep winning: from then on it retries alone,
   * first in line, with new transactions held back until it ends.
   */
  async retryTurn(tx) {
    if (tx) {
      // It stops running while it waits: whoever waits for it to end must hear of it.
      this.running.delete(tx.seq);
      tx.retries++;
      this.#wake();
    }
    const before = this.seq;
    if (tx && tx.retries >= 2 && !tx.exclusive) {
      tx.exclusive = true;
      this.exclusive.push(tx);
    }
    const blocked = () =>
      [...this.running].some((seq) => seq <= before) ||
      (tx?.exclusive && (this.exclusive[0] !== tx || this.running.size > 0));
    while (blocked()) await this.#changed();
    if (tx) {
      tx.seq = ++this.seq;
      this.running.add(tx.seq);
    }
  }

  /** A request to the engine, followed through every invoke it leads to; its value. */
  async #request(request, identity, onInvoke, tx = null) {
    if (this.db === undefined) await this.ready;
    installConvexGlobal();
    const { values } = this.library;
    request.db = this.db;
    request.now = Date.now();  // the engine's clock follows the test's (fake timers too)
    request.identity = identity ? JSON.stringify(values.convexToJson(identity)) : null;
    let reply = this.exchange(request);
    if (onInvoke && reply.t === "invoke") onInvoke(reply);
    reply = await drive(this, reply, tx);
    if (reply.err) throw this.#error(reply.err);
    return reply.ok;
  }

  async call(udf, ref, args, identity) {
    if (this.db === undefined) await this.ready;
    const { values, server } = this.library;
    const path = functionPath(server, ref);
    const request = { t: "call", udf, path, args: JSON.stringify(values.convexToJson(args ?? {})) };
    // Queries and mutations hold up OCC retries of what they overlap; actions are not
    // transactions, and t.run and scheduled jobs may wait on other calls, so they do not.
    let tx = udf !== "action" ? this.enter() : null;
    if (tx instanceof Promise) tx = await tx;
    let ok;
    try {
      ok = await this.#request(request, identity, undefined, tx);
    } finally {
      if (tx) this.leave(tx);
    }
    return values.jsonToConvex(JSON.parse(ok));
  }

  /** t.run: `handler` as an anonymous mutation (convex-test's ctx: db, auth, storage, scheduler...). */
  async run(handler, identity) {
    await this.ready;
    const id = `run${this.nextInline++}`;
    this.inline.set(id, this.library.server.mutationGeneric({ handler: (ctx) => handler(ctx) }));
    try {
      return this.library.values.jsonToConvex(JSON.parse(await this.#request({ t: "run", id }, identity)));
    } finally {
      this.inline.delete(id);
    }
  }

  /** t.fetch: an HTTP action from http.js, routed by the engine, on https://some.convex.site. */
  async fetch(path, init, identity) {
    if (typeof path !== "string" || !path.startsWith("/")) throw new Error("Path given to `t.fetch` must start with a `/`");
    const url = new URL(`https://some.convex.site${path}`);
    const request = new Request(url, init);
    const headers = Object.fromEntries(request.headers);
    const frame = { t: "fetch", method: request.method, url: url.pathname + url.search, path: url.pathname, headers };
    const answer = JSON.parse(await this.#request(frame, identity, (invoke) => (invoke.request = request)));
    const out = new Headers(answer.headers);
    for (const cookie of answer.setCookies) out.append("set-cookie", cookie);
    const nullBody = answer.status === 204 || answer.status === 304 || request.method === "HEAD";
    return new Response(nullBody ? null : Buffer.from(answer.body, "base64"), { status: answer.status, headers: out });
  }

  /** A call scheduled job `id` for `ts` (seconds): a timer (fake ones too) runs it then. */
  scheduled(id, ts) {
    this.timers.add(id);
    outsideCalls(() => setTimeout(() => {
      this.timers.delete(id);
      const job = this.#request({ t: "job", id }, undefined).catch((error) =>
        console.error(`Error when running scheduled function ${id}`, error));
      this.inFlight.add(job);
      job.finally(() => this.inFlight.delete(job));
    }, Math.max(0, ts * 1000 - Date.now())));
  }

  async finishInProgress() {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  async finishAll(advanceTimers, maxIterations = 100) {
    for (let i = 0; i < maxIterations; i++) {
      advanceTimers();
      await this.finishInProgress();
      if (this.timers.size === 0 && this.inFlight.size === 0) return;
      await realTurn();
    }
    throw new Error(
      "finishAllScheduledFunctions: too many iterations. Check for infinitely recursive scheduled functions, or increase maxIterations.",
    );
  }

  /** The error a failed call rejects with: what the JS threw, or the engine's. */
  #error(err) {
    const original = err.rid !== undefined ? this.thrown.get(err.rid) : undefined;
    // Errors that nested calls threw and their callers caught are not asked for again.
    if (this.thrown.size > 1000) this.thrown.clear();
    if (original !== undefined) {
      this.thrown.delete(err.rid);
      return original;
    }
    if (err.data !== undefined) return new this.library.values.ConvexError(this.library.values.jsonToConvex(err.data));
    return new Error(err.message);
  }
}

class TestConvex {
  #deployment;
  #identity;

  constructor(deployment, identity) {
    this.#deployment = deployment;
    this.#identity = identity;
  }

  query(ref, args) {
    return this.#deployment.call("query", ref, args, this.#identity);
  }

  mutation(ref, args) {
    return this.#deployment.call("mutation", ref, args, this.#identity);
  }

  action(ref, args) {
    return this.#deployment.call("action", ref, args, this.#identity);
  }

  run(handler) {
    return this.#deployment.run(handler, this.#identity);
  }

  fetch(path, init) {
    return this.#deployment.fetch(path, init, this.#identity);
  }

  /** Waits for the scheduled functions whose timers fired (and what they schedule for now). */
  finishInProgressScheduledFunctions() {
    return this.#deployment.finishInProgress();
  }

  /** Runs timers (`advanceTimers`, e.g. vi.runAllTimers) and jobs until none are left. */
  finishAllScheduledFunctions(advanceTimers, maxIterations) {
    return this.#deployment.finishAll(advanceTimers, maxIterations);
  }

  /** Calls that see `identity` as ctx.auth.getUserIdentity(), with convex-test's defaults. */
  withIdentity(identity) {
    return new TestConvex(this.#deployment, fullIdentity(identity));
  }

  registerComponent() {
    throw new Error("convexlite-test: components are not supported by convexlite yet");
  }
}

/**
 * convex-test's entry point: a fresh deployment of `schema` (defineSchema's result, or
 * undefined) whose functions are `modules` (import.meta.glob of the convex/ folder).
 * @param {any} [schema]
 * @param {Record<string, () => Promise<any>>} [modules]
 * @param {{transactionLimits?: boolean | Record<string, number>}} [options]
 */
export function convexTest(schema, modules, options) {
  // convex-test's other form: convexTest({schema, modules, transactionLimits}).
  if (schema !== undefined && schema !== null && !(typeof schema.tables === "object") && modules === undefined) {
    ({ schema, modules, ...options } = schema);
  }
  const target = remoteTarget();
  if (target) return new RemoteTestConvex(target, convexLibrary(), functionPath, undefined, fullIdentity);
  return new TestConvex(new Deployment(schema, modules, options ?? {}), undefined);
}
