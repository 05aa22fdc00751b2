// The environment a module is imported in (Convex's import phase): the deployment's
// environment variables in process.env, a frozen clock, seeded Math.random, and a
// `Convex` global whose every syscall is refused, because module scope may not touch the
// database or the network.

import { seededRandom } from "./rng.mjs";

/**
 * Convex's refusal for a syscall at import time.
 * @param {string} op
 */
export function importTimeError(op) {
  const db = /^1\.0\/(db\/.*|query(Stream|StreamNext|Cleanup|Page)|get|insert|shallowMerge|patch|replace|remove|count)$/.test(op);
  return new Error(db ? "Can't use database at import time" : `Syscall ${op} unsupported at import time`);
}

/**
 * Installs the import-phase globals.
 * @param {{env: Record<string,string>, seed: number[], nowMs: number}} options
 */
export function installImportPhase({ env, seed, nowMs }) {
  process.env = { ...env };
  Math.random = seededRandom(seed);
  const RealDate = Date;
  const frozen = nowMs;
  class FrozenDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(frozen);
      else super(...args);
    }
    static now() {
      return frozen;
    }
  }
  globalThis.Date = FrozenDate;
  globalThis.Convex = {
    syscall(op) {
      throw importTimeError(op);
    },
    asyncSyscall(op) {
      return Promise.reject(importTimeError(op));
    },
    jsSyscall(op) {
      throw importTimeError(op);
    },
    op(op) {
      throw importTimeError(op);
    },
  };
}

/**
 * A process.env for auth.config evaluation: reading an unset variable throws, as
 * Convex's auth config evaluation does. Only reads from `userFile` throw: Node's own
 * module loader reads variables too, and those must see `undefined`.
 * @param {Record<string,string>} env
 * @param {string} userFile the file URL of auth.config.js
 */
export function strictEnv(env, userFile) {
  return new Proxy(
    { ...env },
    {
      get(target, name) {
        if (typeof name !== "string" || name in target) return target[name];
        const caller = (new Error().stack ?? "").split("\n")[2] ?? "";
        if (!caller.includes(userFile)) return undefined;
        const error = new Error(
          `Environment variable ${name} is used in auth config file but its value was not set`,
        );
        error.convexCode = "AuthConfigMissingEnvironmentVariable";
        throw error;
      },
    },
  );
}
