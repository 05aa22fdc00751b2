// Per-call state and the globals that depend on it. Several calls interleave in one
// worker (at their awaits), so everything a call owns lives in an AsyncLocalStorage
// store: its id, kind, frozen clock, seeded randomness and log lines. Queries and
// mutations are deterministic as in Convex; actions get the real clock and I/O.

import { AsyncLocalStorage } from "node:async_hooks";
import { webcrypto } from "node:crypto";
import { formatArg } from "./console_capture.mjs";
import { seededRandom, seedWords } from "./rng.mjs";

export const calls = new AsyncLocalStorage();

// The real clock and randomness, captured before the import phase replaces them.
const RealDate = Date;
const realNow = Date.now;
const realRandom = Math.random;

/** @returns {{rid: number, udf: string, now: number, random: () => number, logs: string[]}|undefined} */
export const current = () => calls.getStore();
const deterministic = () => {
  const c = current();
  return c !== undefined && (c.udf === "query" || c.udf === "mutation");
};

export function notInQueriesOrMutations(what) {
  return new Error(
    `Can't use ${what} in queries and mutations. Please consider using an action. ` +
      "See https://docs.convex.dev/functions/actions for more details.",
  );
}

/**
 * A call's store.
 * @param {{rid: number, udf: string, seed: string, now: number}} invoke
 */
export function newCall(invoke) {
  return {
    rid: invoke.rid,
    udf: invoke.udf,
    now: invoke.now,
    random: seededRandom(seedWords(invoke.seed)),
    logs: [],
  };
}

const LEVELS = { log: "LOG", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG" };

/** Installs the call-aware globals once per worker. */
export function installGlobals() {
  globalThis.AsyncLocalStorage = AsyncLocalStorage;
  const now = () => (deterministic() ? current().now : realNow());
  class ConvexDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(now());
      else super(...args);
    }
    static now() {
      return now();
    }
  }
  globalThis.Date = ConvexDate;

  Math.random = () => (deterministic() ? current().random() : realRandom());

  const realGetRandomValues = webcrypto.getRandomValues.bind(webcrypto);
  const realRandomUUID = webcrypto.randomUUID.bind(webcrypto);
  const seededBytes = (array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(current().random() * 256);
    return array;
  };
  const cryptoObject = globalThis.crypto;
  cryptoObject.getRandomValues = (array) => (deterministic() ? seededBytes(array) : realGetRandomValues(array));
  cryptoObject.randomUUID = () => {
    if (!deterministic()) return realRandomUUID();
    const b = seededBytes(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  const subtle = cryptoObject.subtle;
  const realGenerateKey = subtle.generateKey.bind(subtle);
  subtle.generateKey = (...args) =>
    deterministic() ? Promise.reject(notInQueriesOrMutations("cryptographic randomness")) : realGenerateKey(...args);

  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) =>
    deterministic() ? Promise.reject(notInQueriesOrMutations("fetch()")) : realFetch(...args);
  for (const name of ["setTimeout", "setInterval"]) {
    const real = globalThis[name];
    globalThis[name] = (...args) => {
      if (deterministic()) throw notInQueriesOrMutations(name);
      return real(...args);
    };
  }

  for (const [method, level] of Object.entries(LEVELS)) {
    const real = console[method].bind(console);
    console[method] = (...args) => {
      const c = current();
      const line = `[${level}] ${args.map(formatArg).join(" ")}`;
      if (c) c.logs.push(line);
      else real(line);
    };
  }
}
