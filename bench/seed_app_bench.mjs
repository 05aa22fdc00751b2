// seed_app_bench: Better Auth through the real library in the seed app (tests/compat/
// seed_app, pushed by the real CLI to `convexlite dev --empty`) against the native C++
// Better Auth of the reference app (`convexlite dev`), in one run (issue #13):
//   - get-session p50/p99, sequential, on both servers;
//   - sign-in p50 minus one scrypt hash of the same password (@noble/hashes, the library
//     Better Auth hashes with, in this process): what sign-in costs beyond the hash;
//   - per route, the transactions (queries and mutations run) and syscalls it took, from
//     the function log stream (/api/stream_function_logs).
// Prints a markdown section. Run by tools/bench/run.sh:
//   CONVEXLITE_BIN=build/tools/convexlite/convexlite node bench/seed_app_bench.mjs [--iterations N]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { newAuthClient } from "../tests/compat/auth_client.mjs";
import { ADMIN_KEY, startServer } from "../tests/compat/server.mjs";
import { makeSeedProject, npx, removeProjects } from "../tests/compat/ts_project.mjs";

const at = process.argv.indexOf("--iterations");
const ITERATIONS = at > 0 ? Number(process.argv[at + 1]) : 300;
const PASSWORD = "correct horse battery";
const { scryptAsync } = await import(new URL("../tests/compat/node_modules/@noble/hashes/scrypt.js", import.meta.url));

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const ms = (x) => x.toFixed(2);
async function timed(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
function check(r, what) {
  if (r.error) throw new Error(`${what}: ${JSON.stringify(r.error)}`);
  return r.data;
}

async function deploySeedApp(server) {
  const project = makeSeedProject();
  const cli = (...args) => {
    const r = npx(server, project, ...args);
    if (r.status !== 0) throw new Error(`npx convex ${args.join(" ")}: ${r.stderr}`);
  };
  cli("env", "set", "SITE_URL", server.siteUrl);
  cli("env", "set", "BETTER_AUTH_SECRET", "seed-app-bench-secret-of-32-characters");
  writeFileSync(join(project, "convex", "auth.config.ts"),
                'import { getAuthConfigProvider } from "@convex-dev/better-auth/auth-config";\n' +
                "export default { providers: [getAuthConfigProvider()] };\n");
  cli("deploy", "--typecheck", "disable");
}

// The function log after `cursor` (ms), waiting briefly for the entries of a finished request.
async function logAfter(server, cursor) {
  await new Promise((r) => setTimeout(r, 100));
  const r = await fetch(`${server.url}/api/stream_function_logs?cursor=${cursor}`, {
    headers: { authorization: `Convex ${ADMIN_KEY}` },
  });
  return r.json();
}

async function measure(server, label, { costs }) {
  const email = `bench-${label}-${process.pid}@example.com`;
  const { client } = newAuthClient(server.siteUrl);
  check(await client.signUp.email({ name: "Bench User", email, password: PASSWORD }), "sign-up");
  await timed(30, () => client.getSession());  // warm-up
  const session = await timed(ITERATIONS, async () => check(await client.getSession(), "get-session"));
  const signIns = await timed(Math.max(5, ITERATIONS / 30), async () => {
    check(await newAuthClient(server.siteUrl).client.signIn.email({ email, password: PASSWORD }), "sign-in");
  });
  const row = { label, session, signIns, routes: [] };
  if (!costs) return row;
  // Per route: one request, then what the log recorded for it.
  let { newCursor: cursor } = await logAfter(server, 0);  // the head (entries exist by now)
  const fresh = newAuthClient(server.siteUrl).client;
  const routes = [
    ["sign-up/email", () => fresh.signUp.email({ name: "Cost", email: `cost-${process.pid}@example.com`, password: PASSWORD })],
    ["sign-in/email", () => fresh.signIn.email({ email, password: PASSWORD })],
    ["get-session", () => fresh.getSession()],
    ["convex/token", () => fresh.$fetch("/convex/token")],
    ["sign-out", () => fresh.signOut()],
  ];
  for (const [name, call] of routes) {
    check(await call(), name);
    const { entries, newCursor } = await logAfter(server, cursor);
    cursor = newCursor;
    const transactions = entries.filter((e) => e.udfType === "Query" || e.udfType === "Mutation").length;
    const syscalls = entries.reduce((n, e) => n + (e.syscalls ?? 0), 0);
    row.routes.push({ name, transactions, syscalls, executions: entries.length });
  }
  return row;
}

const seedServer = await startServer(["--empty", "--durability", "memory"]);
const nativeServer = await startServer(["--durability", "memory"]);
try {
  await deploySeedApp(seedServer);
  const seed = await measure(seedServer, "seed", { costs: true });
  const native = await measure(nativeServer, "native", { costs: false });
  const hashes = await timed(Math.max(5, ITERATIONS / 30), () =>
    scryptAsync(PASSWORD.normalize("NFKC"), "0123456789abcdef0123456789abcdef",
                { N: 16384, r: 16, p: 1, dkLen: 64, maxmem: 128 * 16384 * 16 * 2 }));
  const scrypt = quantile(hashes, 0.5);
  console.log(`## Better Auth: the real library in the seed app vs native C++ (seed_app_bench)\n`);
  console.log(`Sequential requests from one client over loopback; ${ITERATIONS} get-sessions and ` +
              `${seed.signIns.length} sign-ins per server. scrypt: @noble/hashes in the benchmark ` +
              `process with Better Auth's parameters (N=16384, r=16, p=1), p50 ${ms(scrypt)} ms.\n`);
  console.log("| route | seed app (better-auth-convex, TS) p50 / p99 ms | native C++ p50 / p99 ms | seed / native p50 |");
  console.log("|---|---|---|---|");
  const line = (name, a, b) => console.log(
    `| ${name} | ${ms(quantile(a, 0.5))} / ${ms(quantile(a, 0.99))} | ` +
    `${ms(quantile(b, 0.5))} / ${ms(quantile(b, 0.99))} | ${(quantile(a, 0.5) / quantile(b, 0.5)).toFixed(1)}x |`);
  line("get-session", seed.session, native.session);
  line("sign-in", seed.signIns, native.signIns);
  console.log(`| sign-in minus one scrypt (seed app) | ${ms(quantile(seed.signIns, 0.5) - scrypt)} | | |`);
  console.log(`\nTargets: get-session under 5 ms (the Convex component is reported at 340-360 ms); ` +
              `sign-in minus one scrypt under 10 ms.\n`);
  console.log("What each route of the seed app costs (one request, from the function log):\n");
  console.log("| route | function executions | transactions (queries + mutations) | syscalls |");
  console.log("|---|---|---|---|");
  for (const r of seed.routes) console.log(`| ${r.name} | ${r.executions} | ${r.transactions} | ${r.syscalls} |`);
} finally {
  await seedServer.stop();
  await nativeServer.stop();
  removeProjects();
}
