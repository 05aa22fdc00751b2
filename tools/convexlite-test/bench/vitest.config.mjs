// The benchmark's own vitest config (bench/run.mjs): the files of bench/, in the
// edge-runtime environment convex-test's docs recommend.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: [process.env.BENCH_FILE ?? "bench/workloads.bench.ts"],
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
  },
});
