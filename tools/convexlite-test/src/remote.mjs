// The same TestConvex surface against a running deployment (`convexlite dev` with the
// app pushed by `npx convex deploy`), used when CONVEXLITE_TEST_URL is set:
//
//   CONVEXLITE_TEST_URL=http://127.0.0.1:3210 CONVEXLITE_TEST_ADMIN_KEY=<key> \
//   [CONVEXLITE_TEST_SITE_URL=http://127.0.0.1:3211] npx vitest
//
// Calls go through the project's ConvexHttpClient with the admin key, so internal
// functions can be called, and withIdentity acts as that identity (the admin key's
// acting-as form, as `npx convex run --identity` does). t.fetch goes to the site URL.
// The functions run in the server's workers, so the deployment's data is shared by every
// test, and what only an in-process run can do (t.run, vi.mock or fake timers reaching
// the functions, the scheduler helpers) throws, naming the variable to unset.

/** @returns {{url: string, adminKey: string, siteUrl: string} | null} */
export function remoteTarget() {
  const url = process.env.CONVEXLITE_TEST_URL;
  if (!url) return null;
  const adminKey = process.env.CONVEXLITE_TEST_ADMIN_KEY;
  if (!adminKey) throw new Error("convexlite-test: CONVEXLITE_TEST_URL is set but CONVEXLITE_TEST_ADMIN_KEY is not");
  let siteUrl = process.env.CONVEXLITE_TEST_SITE_URL;
  if (!siteUrl) {
    const u = new URL(url);
    u.port = String(Number(u.port || 80) + 1);  // convexlite dev's default: the next port
    siteUrl = u.origin;
  }
  return { url: url.replace(/\/$/, ""), adminKey, siteUrl: siteUrl.replace(/\/$/, "") };
}

const inProcessOnly = (what) =>
  new Error(`convexlite-test: ${what} needs the in-process engine; unset CONVEXLITE_TEST_URL to use it`);

export class RemoteTestConvex {
  #target;
  #library;
  #functionPath;
  #identity;
  #derive;

  /**
   * @param {{url: string, adminKey: string, siteUrl: string}} target
   * @param {Promise<{browser: any, server: any}>} library the project's convex package
   * @param {(server: any, ref: any) => string} functionPath
   * @param {object | undefined} identity the acting-as identity, complete
   * @param {(identity: object) => object} derive convex-test's defaults for an identity
   */
  constructor(target, library, functionPath, identity, derive) {
    this.#target = target;
    this.#library = library;
    this.#functionPath = functionPath;
    this.#identity = identity;
    this.#derive = derive;
  }

  async #client() {
    const { browser } = await this.#library;
    const client = new browser.ConvexHttpClient(this.#target.url);
    client.setAdminAuth(this.#target.adminKey, this.#identity);
    return client;
  }

  async #call(kind, ref, args) {
    const [{ server }, client] = await Promise.all([this.#library, this.#client()]);
    return client[kind](this.#functionPath(server, ref), args ?? {});
  }

  query(ref, args) {
    return this.#call("query", ref, args);
  }

  mutation(ref, args) {
    return this.#call("mutation", ref, args);
  }

  action(ref, args) {
    return this.#call("action", ref, args);
  }

  fetch(path, init) {
    if (typeof path !== "string" || !path.startsWith("/")) {
      return Promise.reject(new Error("Path given to `t.fetch` must start with a `/`"));
    }
    return fetch(`${this.#target.siteUrl}${path}`, init);
  }

  withIdentity(identity) {
    return new RemoteTestConvex(this.#target, this.#library, this.#functionPath, this.#derive(identity), this.#derive);
  }

  run() {
    return Promise.reject(inProcessOnly("t.run"));
  }

  finishInProgressScheduledFunctions() {
    return Promise.reject(inProcessOnly("finishInProgressScheduledFunctions"));
  }

  finishAllScheduledFunctions() {
    return Promise.reject(inProcessOnly("finishAllScheduledFunctions"));
  }

  registerComponent() {
    throw new Error("convexlite-test: components are not supported by convexlite yet");
  }
}
