// make bench's convexlite-test part (docs/performance.md): the workloads of
// workloads.bench.ts through convex-test and convexlite-test in one vitest run, then the
// wall time of `vitest run` on a one-test file through each (median of 3). Prints markdown.
//
//   CONVEXLITE_BIN=<convexlite> node tools/convexlite-test/bench/run.mjs
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const vitest = path.join(root, "node_modules/.bin/vitest");
const config = path.join(here, "vitest.config.mjs");

function vitestRun(file, env = {}) {
  return execFileSync(vitest, ["run", "--config", config, "--reporter=dot"], {
    cwd: root,
    env: { ...process.env, ...env, BENCH_FILE: file },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

const rows = vitestRun("bench/workloads.bench.ts")
  .split("\n")
  .filter((l) => l.startsWith('{"bench"'))
  .map((l) => JSON.parse(l));

const wall = {};
for (const pkg of ["convex-test", "convexlite-test"]) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    vitestRun(`bench/one.${pkg}.test.ts`);
    times.push(performance.now() - t0);
  }
  wall[pkg] = times.sort((a, b) => a - b)[1];
}

const f = (x, d = 3) => x.toFixed(d);
console.log("## convexlite-test against convex-test (tools/convexlite-test/bench)");
console.log();
console.log(`One vitest run (edge-runtime), ${rows[0]?.calls ?? "?"} calls per sequential workload; the ratio is convexlite-test / convex-test`);
console.log("(p50 time per call: below 1.0 is faster; throughput: above 1.0 is faster).");
console.log();
console.log("| workload | convex-test p50 ms | convexlite-test p50 ms | p50 ratio | convex-test calls/s | convexlite-test calls/s | throughput ratio |");
console.log("|---|---|---|---|---|---|---|");
for (const bench of [...new Set(rows.map((r) => r.bench))]) {
  const a = rows.find((r) => r.bench === bench && r.pkg === "convex-test");
  const b = rows.find((r) => r.bench === bench && r.pkg === "convexlite-test");
  if (!a || !b) continue;
  const perSecond = bench === "fresh instance" ? ["", "", ""] : [f(a.per_s, 0), f(b.per_s, 0), f(b.per_s / a.per_s, 2)];
  console.log(`| ${bench} | ${f(a.p50_ms)} | ${f(b.p50_ms)} | ${f(b.p50_ms / a.p50_ms, 2)} | ${perSecond.join(" | ")} |`);
}
console.log(
  `| one-test file, \`vitest run\` wall time (median of 3) | ${f(wall["convex-test"], 0)} ms | ${f(wall["convexlite-test"], 0)} ms | ` +
    `${f(wall["convexlite-test"] / wall["convex-test"], 2)} (+${f(wall["convexlite-test"] - wall["convex-test"], 0)} ms) | | | |`,
);
