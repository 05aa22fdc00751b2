// Pushed TypeScript queries and mutations running in Node workers on convexlite's engine
// (docs/design/typescript-apps.md, slice 2), driven by the real ConvexHttpClient and
// ConvexClient: results, Convex's errors and log lines, subscriptions, a bank invariant
// under concurrent clients, repushes, restarts, env vars at module scope, determinism,
// time limits, and a worker killed mid-mutation writing nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { anyApi } from "convex/server";
import { startServer } from "./server.mjs";
import { deploy, makeProject, npx, removeProjects } from "./ts_project.mjs";

const api = anyApi;
const PROBE = `
import { v, ConvexError } from "convex/values";
import { internalMutation, mutation, query } from "./_generated/server";
import { api, internal } from "./_generated/api";

const greetingAtImport = process.env.GREETING ?? null;

export const env = query({ args: {}, handler: async () => ({ atImport: greetingAtImport, site: process.env.CONVEX_SITE_URL }) });
export const clock = query({ args: {}, handler: async () => {
  const a = Date.now();
  console.log("tick", 1);
  return { frozen: a === new Date().getTime(), r: Math.random(), uuid: crypto.randomUUID() };
} });
export const noFetch = query({ args: {}, handler: async () => { await fetch("http://127.0.0.1:1/"); return 1; } });
export const fail = mutation({ args: { n: v.number() }, handler: async (ctx, { n }) => {
  await ctx.db.insert("messages", { channel: "fail", author: "probe", body: String(n) });
  throw new ConvexError({ code: "nope", n });
} });
export const spin = mutation({ args: { ms: v.number(), channel: v.string() }, handler: async (ctx, { ms, channel }) => {
  await ctx.db.insert("messages", { channel, author: "probe", body: "spin" });
  const end = performance.now() + ms;
  while (performance.now() < end) {}
  return null;
} });
export const nested = mutation({ args: {}, handler: async (ctx) => {
  await ctx.runMutation(internal.probe.insertNested, { body: "nested" });
  const seen = await ctx.runQuery(api.messages.list, { channel: "nested" });
  return seen.length;
} });
export const insertNested = internalMutation({ args: { body: v.string() }, handler: async (ctx, { body }) =>
  ctx.db.insert("messages", { channel: "nested", author: "inner", body }) });
export const later = mutation({ args: {}, handler: async (ctx) =>
  ctx.scheduler.runAfter(0, internal.probe.insertNested, { body: "scheduled" }) });
export const page = query({ args: { cursor: v.union(v.string(), v.null()) }, handler: async (ctx, { cursor }) =>
  ctx.db.query("messages").withIndex("by_channel", (q) => q.eq("channel", "paged")).paginate({ numItems: 2, cursor }) });
export const fillPage = mutation({ args: {}, handler: async (ctx) => {
  for (let i = 0; i < 5; i++) await ctx.db.insert("messages", { channel: "paged", author: "p", body: String(i) });
} });
`;

let server;
let project;
let http;

before(async () => {
  server = await startServer(["--empty"]);
  project = makeProject({ "convex/probe.ts": PROBE }, { onlyFiles: false });
  const pushed = deploy(server, project);
  assert.equal(pushed.status, 0, pushed.stderr + pushed.stdout);
  http = new ConvexHttpClient(server.url);
});
after(async () => {
  await server?.stop();
  removeProjects();
});

test("queries and mutations run, with validation, Convex's errors and rollbacks", async () => {
  const id = await http.mutation(api.messages.send, { channel: "general", author: "ada", body: "hi" });
  assert.match(id, /^[0-9a-z]{32}$/);
  const list = await http.query(api.messages.list, { channel: "general" });
  assert.equal(list.length, 1);
  assert.equal(list[0]._id, id);
  assert.equal(list[0].body, "hi");
  await assert.rejects(http.mutation(api.messages.send, { channel: "general", author: "ada", body: " " }),
                       /Uncaught Error: empty message\s+at handler \(\.\.\/convex\/messages\.ts:\d+:\d+\)/);
  await assert.rejects(http.mutation(api.messages.send, { channel: "general", body: "x" }),
                       /ArgumentValidationError: Object is missing the required field `author`/);
  await assert.rejects(http.query(api.messages.clear, { channel: "general" }), /Could not find public function for 'messages:clear'/);
  await assert.rejects(http.query(api.messages.send, { channel: "c", author: "a", body: "b" }),
                       /Trying to execute messages\.js:send as Query, but it is defined as Mutation/);
  // A ConvexError keeps its data, and what the mutation wrote is gone.
  const error = await http.mutation(api.probe.fail, { n: 3 }).catch((e) => e);
  assert.ok(error instanceof ConvexError, String(error));
  assert.deepEqual(error.data, { code: "nope", n: 3 });
  assert.deepEqual(await http.query(api.messages.list, { channel: "fail" }), []);
  // An internal function runs for the admin (npx convex run).
  const cleared = npx(server, project, "run", "messages:clear", '{"channel":"general"}');
  assert.equal(cleared.status, 0, cleared.stderr);
  assert.equal(cleared.stdout.trim(), "1");
});

test("nested functions share the transaction; pagination and the scheduler work", async () => {
  assert.equal(await http.mutation(api.probe.nested, {}), 1);
  await http.mutation(api.probe.later, {});
  const deadline = Date.now() + 5000;
  while ((await http.query(api.messages.list, { channel: "nested" })).length < 2) {
    assert.ok(Date.now() < deadline, "the scheduled mutation did not run");
    await new Promise((r) => setTimeout(r, 50));
  }
  await http.mutation(api.probe.fillPage, {});
  const first = await http.query(api.probe.page, { cursor: null });
  assert.equal(first.page.length, 2);
  assert.equal(first.isDone, false);
  const second = await http.query(api.probe.page, { cursor: first.continueCursor });
  assert.deepEqual(second.page.map((d) => d.body), ["2", "3"]);
});

test("queries and mutations are deterministic; fetch is refused; console becomes log lines", async () => {
  const a = await http.query(api.probe.clock, {});
  assert.equal(a.frozen, true);
  assert.match(a.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await assert.rejects(http.query(api.probe.noFetch, {}), /Can't use fetch\(\) in queries and mutations\. Please consider using an action\./);
  const res = await fetch(`${server.url}/api/query`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "probe:clock", args: {} }),
  });
  assert.deepEqual((await res.json()).logLines, ["[LOG] 'tick' 1"]);
});

test("a ConvexClient subscription to a TS query updates on commit and on a repush", async () => {
  const client = new ConvexClient(server.url);
  const seen = [];
  const unsubscribe = client.onUpdate(api.messages.list, { channel: "live" }, (v) => seen.push(v));
  const waitFor = async (predicate, what) => {
    const deadline = Date.now() + 10000;
    while (!predicate()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await waitFor(() => seen.length >= 1, "the first result");
    assert.deepEqual(seen.at(-1), []);
    await client.mutation(api.messages.send, { channel: "live", author: "a", body: "one" });
    await waitFor(() => seen.at(-1)?.length === 1, "the update");
    // A repush that changes the query's behaviour re-runs the subscription.
    const other = makeProject({ "convex/probe.ts": PROBE }, { onlyFiles: false });
    const messages = join(other, "convex", "messages.ts");
    const { readFileSync } = await import("node:fs");
    writeFileSync(messages, readFileSync(messages, "utf8").replace(".take(50)", ".take(50).then((r) => r.map((m) => ({ ...m, body: m.body.toUpperCase() })))"));
    const pushed = deploy(server, other);
    assert.equal(pushed.status, 0, pushed.stderr + pushed.stdout);
    await waitFor(() => seen.at(-1)?.[0]?.body === "ONE", "the result of the new code");
    // Push the original back for the other tests.
    assert.equal(deploy(server, project).status, 0);
    await waitFor(() => seen.at(-1)?.[0]?.body === "one", "the result of the old code again");
  } finally {
    unsubscribe();
    await client.close();
  }
});

test("a bank invariant holds under concurrent TS transfers", async () => {
  const accounts = [];
  for (let i = 0; i < 4; i++) accounts.push(await http.mutation(api.bank.open, { owner: `o${i}`, balance: 100 }));
  const clients = Array.from({ length: 8 }, () => new ConvexHttpClient(server.url));
  let seed = 7;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const jobs = [];
  for (const c of clients) {
    jobs.push((async () => {
      for (let k = 0; k < 15; k++) {
        const from = accounts[rand(4)];
        let to = accounts[rand(4)];
        if (to === from) to = accounts[(accounts.indexOf(from) + 1) % 4];
        await c.mutation(api.bank.transfer, { from, to, amount: 1 + rand(30) });
      }
    })());
  }
  await Promise.all(jobs);
  assert.equal(await http.query(api.bank.total, {}), 400);
});

test("env vars reach module scope: setting one restarts the workers", async () => {
  assert.equal((await http.query(api.probe.env, {})).atImport, null);
  assert.equal(npx(server, project, "env", "set", "GREETING", "bonjour").status, 0);
  const after = await http.query(api.probe.env, {});
  assert.equal(after.atImport, "bonjour");
  assert.equal(after.site, server.siteUrl);
});

test("a mutation past its time limit fails with Convex's error and writes nothing", async () => {
  await assert.rejects(http.mutation(api.probe.spin, { ms: 3000, channel: "slow" }),
                       /Function execution timed out \(maximum duration: 1s\)/);
  assert.deepEqual(await http.query(api.messages.list, { channel: "slow" }), []);
  // The server and a fresh worker keep answering.
  assert.ok(Array.isArray(await http.query(api.messages.list, { channel: "general" })));
});

test("a worker killed mid-mutation fails only that call and writes nothing", async () => {
  const pending = http.mutation(api.probe.spin, { ms: 800, channel: "killed" });
  await new Promise((r) => setTimeout(r, 300));
  // Every worker.mjs of this server (the call is running in one of them).
  const pids = execFileSync("pgrep", ["-f", "worker.mjs"], { encoding: "utf8" }).trim().split("\n")
    .filter((pid) => execFileSync("cat", [`/proc/${pid}/cmdline`], { encoding: "utf8" }).includes(server.dataDir));
  assert.ok(pids.length >= 1);
  for (const pid of pids) process.kill(Number(pid), "SIGKILL");
  await assert.rejects(pending, /Node worker running this function exited/);
  assert.deepEqual(await http.query(api.messages.list, { channel: "killed" }), []);
  assert.ok(Array.isArray(await http.query(api.messages.list, { channel: "general" })));
});

test("after a restart the pushed code runs without another push", async () => {
  await http.mutation(api.messages.send, { channel: "restart", author: "a", body: "kept" });
  await server.stop({ keepData: true });
  server = await startServer(["--empty"], { dataDir: server.dataDir });
  http = new ConvexHttpClient(server.url);
  const list = await http.query(api.messages.list, { channel: "restart" });
  assert.deepEqual(list.map((m) => m.body), ["kept"]);
});
