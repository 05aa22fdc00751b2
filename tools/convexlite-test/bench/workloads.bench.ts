// The benchmark of docs/performance.md ("convexlite-test against convex-test"): the same
// workloads through convex-test and convexlite-test, in one vitest run (bench/run.mjs
// starts it and adds the one-test-file wall times). Prints one JSON line per measurement.
import { test } from "vitest";
import { convexTest as mockConvexTest } from "convex-test";
import { convexTest } from "convexlite-test";
import { api } from "../test/convex/_generated/api";
import schema from "../test/convex/schema";

const modules = import.meta.glob("../test/convex/**/*.*s");
const N = Number(process.env.BENCH_CALLS ?? 400);
const packages = [
  ["convex-test", mockConvexTest],
  ["convexlite-test", convexTest],
] as const;

function report(name: string, pkg: string, samples: number[], wallMs: number, calls = samples.length) {
  const sorted = [...samples].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  console.log(JSON.stringify({ bench: name, pkg, calls, p50_ms: p(0.5), p90_ms: p(0.9), p99_ms: p(0.99), mean_ms: mean, per_s: (calls / wallMs) * 1000 }));
}

async function timed(n: number, body: (i: number) => Promise<unknown>) {
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await body(i);
    samples.push(performance.now() - t0);
  }
  return { samples, wall: performance.now() - start };
}

async function accounts(t: any, count: number) {
  for (let i = 0; i < count; i++) await t.mutation(api.bank.open, { owner: `o${i}`, balance: 1000 });
}

test.each(packages)("%s", async (pkg, make) => {
  // Warm up: module imports, the engine process, JIT.
  const warm = make(schema, modules);
  await accounts(warm, 2);
  for (let i = 0; i < 50; i++) await warm.mutation(api.bank.transfer, { from: "o0", to: "o1", amount: 1 });

  const t = make(schema, modules);
  for (let i = 0; i < 10; i++) await t.mutation(api.messages.send, { body: `m${i}`, author: "a" });
  let r = await timed(N, () => t.query(api.messages.list, {}));
  report("query (10 rows)", pkg, r.samples, r.wall);
  r = await timed(N, (i) => t.mutation(api.messages.send, { body: `b${i}`, author: "x" }));
  report("insert", pkg, r.samples, r.wall);
  await accounts(t, 2);
  r = await timed(N, () => t.mutation(api.bank.transfer, { from: "o0", to: "o1", amount: 1 }));
  report("transfer", pkg, r.samples, r.wall);

  // 16 clients, each a sequence of transfers between accounts picked from `count`: 256
  // makes conflicts rare (the cost of concurrency), 32 makes them common (of retries).
  for (const count of [256, 32]) {
    const c = make(schema, modules);
    await accounts(c, count);
    const perClient = Math.max(1, Math.floor(N / 16));
    const all: number[] = [];
    // mulberry32: reproducible, and unlike an LCG's low bits, not correlated between draws.
    let seed = 12345;
    const next = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return (((x ^ (x >>> 14)) >>> 0) % count);
    };
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < perClient; i++) {
          const from = next();
          const to = (from + 1 + (next() % (count - 1))) % count;
          const t0 = performance.now();
          await c.mutation(api.bank.transfer, { from: `o${from}`, to: `o${to}`, amount: 1 });
          all.push(performance.now() - t0);
        }
      }),
    );
    report(`16 concurrent clients of transfers, ${count} accounts`, pkg, all, performance.now() - start);
  }

  // A fresh instance: convexTest() and its first call, minus a call on a warm instance.
  const fresh: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    const f = make(schema, modules);
    await f.query(api.messages.list, {});
    const t1 = performance.now();
    await f.query(api.messages.list, {});
    fresh.push(t1 - t0 - (performance.now() - t1));
  }
  report("fresh instance", pkg, fresh, fresh.reduce((a, b) => a + b, 0));
}, 600_000);
