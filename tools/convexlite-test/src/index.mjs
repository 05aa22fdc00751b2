// convexlite-test: convex-test's `convexTest(schema, modules, options)` on the real
// convexlite engine (docs/design/convexlite-test.md, docs/guides/testing.md).
//
// The functions run here, in the test process, so vi.mock, stubbed globals, fake timers
// and module state behave as with convex-test. Their syscalls go to a `convexlite
// test-engine` process (channel.mjs): every convexTest() is a fresh in-memory database
// there, with Convex's validation, limits, IDs, indexes and serializable transactions.

import { drive, installConvexGlobal } from "./calls.mjs";
import { engine } from "./channel.mjs";
import { convexLibrary } from "./convex_library.mjs";
import { analyze, indexModules } from "./modules.mjs";

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

/** A function reference, name or handle (ours, or convex-test's "function://;path") as a path. */
function functionPath(server, ref) {
  if (typeof ref === "string") {
    const handle = /^function:\/\/(?:[^#;]*#|;)(.*)$/.exec(ref);
    return handle ? handle[1] : ref;
  }
  return server.getFunctionName(ref);
}

class Deployment {
  constructor(schema, modules) {
    this.thrown = new Map();
    this.ready = this.#open(schema, modules);
    // An unawaited failure is reported by the first call that needs the deployment.
    this.ready.catch(() => {});
  }

  async #open(schema, modules) {
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
    const reply = channel.exchange({ t: "open", analysis, schema: schema ? schema.export() : null });
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
    const namespace = this.namespaces.get(module);
    const value = namespace?.[fn];
    if (!value) throw new Error(`convexlite-test: ${module} does not export ${fn}`);
    return value;
  }

  async call(udf, ref, args, identity) {
    await this.ready;
    installConvexGlobal();
    const { values, server } = this.library;
    const request = {
      t: "call",
      db: this.db,
      udf,
      path: functionPath(server, ref),
      args: JSON.stringify(values.convexToJson(args ?? {})),
      identity: identity ? JSON.stringify(values.convexToJson(identity)) : null,
    };
    const reply = await drive(this, this.exchange(request));
    if (reply.err) throw this.#error(reply.err);
    return values.jsonToConvex(JSON.parse(reply.ok));
  }

  /** The error a failed call rejects with: what the JS threw, or the engine's. */
  #error(err) {
    if (err.rid !== undefined && this.thrown.has(err.rid)) {
      const original = this.thrown.get(err.rid);
      this.thrown.clear();
      return original;
    }
    this.thrown.clear();
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

  /** Calls that see `identity` as ctx.auth.getUserIdentity(), with convex-test's defaults. */
  withIdentity(identity) {
    const subject = identity.subject ?? `${simpleHash(JSON.stringify(identity))}`;
    const issuer = identity.issuer ?? "https://convex.test";
    const tokenIdentifier = identity.tokenIdentifier ?? `${issuer}|${subject}`;
    return new TestConvex(this.#deployment, { ...identity, subject, issuer, tokenIdentifier });
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
  return new TestConvex(new Deployment(schema, modules, options ?? {}), undefined);
}
