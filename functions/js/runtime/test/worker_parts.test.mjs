import { test } from "node:test";
import assert from "node:assert/strict";
import { calls, installGlobals, newCall } from "../call_context.mjs";
import { encode, FrameReader } from "../frames.mjs";

test("frames survive any chunking", () => {
  const messages = [{ t: "a", n: 1 }, { t: "b", text: "é".repeat(1000) }, { t: "c" }];
  const bytes = Buffer.concat(messages.map(encode));
  for (const size of [1, 3, 7, 1000, bytes.length]) {
    const got = [];
    const reader = new FrameReader((m) => got.push(m));
    for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
    assert.deepEqual(got, messages);
  }
});

test("frames survive a reader that reuses its buffer (net.Socket onread)", () => {
  const messages = [{ t: "a", s: "x".repeat(300) }, { t: "b" }, { t: "c", n: [1, 2, 3] }];
  const bytes = Buffer.concat(messages.map(encode));
  const reused = Buffer.alloc(7);
  const got = [];
  const reader = new FrameReader((m) => got.push(m));
  for (let i = 0; i < bytes.length; i += reused.length) {
    const n = bytes.copy(reused, 0, i, i + reused.length);
    reader.push(reused.subarray(0, n));
    reused.fill(0xff);  // the owner writes over it before the next read
  }
  assert.deepEqual(got, messages);
});

test("queries and mutations see a frozen clock and seeded randomness; actions the real ones", async () => {
  installGlobals();
  const seed = Buffer.alloc(32, 3).toString("base64");
  const inQuery = (rid) => calls.run(newCall({ rid, udf: "query", seed, now: 1234 }), async () => {
    await Promise.resolve();  // the store survives awaits
    return { now: Date.now(), date: new Date().getTime(), r: Math.random(), bytes: [...crypto.getRandomValues(new Uint8Array(4))], uuid: crypto.randomUUID() };
  });
  const [a, b] = await Promise.all([inQuery(1), inQuery(2)]);
  assert.equal(a.now, 1234);
  assert.equal(a.date, 1234);
  assert.deepEqual(a, b);  // same seed, same draws, even interleaved
  assert.throws(() => calls.run(newCall({ rid: 3, udf: "mutation", seed, now: 1 }), () => setTimeout(() => {}, 1)),
                /Can't use setTimeout in queries and mutations/);
  await assert.rejects(calls.run(newCall({ rid: 4, udf: "query", seed, now: 1 }), () => fetch("http://127.0.0.1:1/")),
                       /Can't use fetch\(\) in queries and mutations/);
  await assert.rejects(calls.run(newCall({ rid: 5, udf: "query", seed, now: 1 }),
                                 () => crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"])),
                       /Can't use cryptographic randomness in queries and mutations/);
  const action = await calls.run(newCall({ rid: 6, udf: "action", seed, now: 1 }), async () => {
    await new Promise((r) => setTimeout(r, 2));
    return Date.now();
  });
  assert.ok(action > 1e12);
  const logs = await calls.run(newCall({ rid: 7, udf: "query", seed, now: 1 }), async () => {
    console.log("a", 1);
    console.warn({ b: 2 });
    return calls.getStore().logs;
  });
  assert.deepEqual(logs, ["[LOG] 'a' 1", "[WARN] { b: 2 }"]);
});
