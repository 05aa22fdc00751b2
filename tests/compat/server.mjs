// Starts `convexlite dev` on free loopback ports with a temporary data dir, for one test
// file, and stops it afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ADMIN_KEY = "compat-admin-key";

export async function startServer(extraArgs = [], { dataDir: reuseDir } = {}) {
  const bin = process.env.CONVEXLITE_BIN;
  if (!bin) throw new Error("CONVEXLITE_BIN is not set (run through ctest or tests/compat/run.sh)");
  const dataDir = reuseDir ?? mkdtempSync(join(tmpdir(), "cvx-compat-"));
  const child = spawn(bin, ["dev", "--data", dataDir, "--port", "0", "--site-port", "0",
                            "--admin-key", ADMIN_KEY, ...extraArgs],
                      { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const api = output.match(/Convex URL:\s+(\S+)/);
      const site = output.match(/site URL:\s+(\S+)/);
      if (api && site) {
        clearTimeout(timer);
        resolve({ url: api[1], siteUrl: site[1] });
      }
    });
    child.stderr.on("data", (chunk) => { output += chunk; });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  const { url, siteUrl } = await ready;
  return {
    url,
    siteUrl,
    dataDir,
    output: () => output,
    async stop({ keepData = false, signal = "SIGTERM" } = {}) {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill(signal);
      const code = await exited;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
