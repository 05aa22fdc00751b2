// The package's suite runs twice, in the two environments convex-test users pick.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    projects: [
      { extends: true, test: { name: "edge-runtime", environment: "edge-runtime" } },
      { extends: true, test: { name: "node", environment: "node" } },
    ],
  },
});
