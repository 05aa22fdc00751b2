// Pushed TypeScript queries and mutations running in Node workers on convexlite's engine
// (docs/design/typescript-apps.md, slice 2), driven by the real ConvexHttpClient and
// ConvexClient: results, Convex's errors and log lines, subscriptions, a bank invariant
// under concurrent clients, repushes, restarts, env vars at module scope, determinism,
// time limits, and a worker killed mid-mutation writing nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
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
import { createFunctionHandle } from "convex/server";
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
export const nestedCaught = mutation({ args: {}, handler: async (ctx) => {
  const caught = [];
  // The callee inserts, then throws: its insert is rolled back, the caller's are kept.
  for (const target of [api.probe.fail, await createFunctionHandle(api.probe.fail)]) {
    try { await ctx.runMutation(target, { n: caught.length }); } catch (e) { caught.push(e.data); }
  }
  await ctx.db.insert("messages", { channel: "caught", author: "outer", body: "kept" });
  const failed = await ctx.db.query("messages").withIndex("by_channel", (q) => q.eq("channel", "fail")).collect();
  return { caught, failedSeen: failed.length };
} });
export const meta = mutation({ args: {}, handler: async (ctx) => {
  const before = await ctx.meta.getTransactionMetrics();
  await ctx.db.insert("messages", { channel: "meta", author: "m", body: "x" });
  await ctx.scheduler.cancel(await ctx.scheduler.runAfter(3600e3, internal.probe.insertNested, { body: "never" }));
  return { before, after: await ctx.meta.getTransactionMetrics(), request: await ctx.meta.getRequestMetadata(),
    deployment: await ctx.meta.getDeploymentMetadata(), snapshotTs: ctx.meta.getSnapshotTs(),
    fn: await ctx.meta.getFunctionMetadata() };
} });
export const requestMeta = mutation({ args: {}, handler: async (ctx) => ctx.meta.getRequestMetadata() });
export const recordMeta = internalMutation({ args: {}, handler: async (ctx) => {
  await ctx.db.insert("messages", { channel: "meta-job", author: "job", body: JSON.stringify(await ctx.meta.getRequestMetadata()) });
} });
export const scheduleMeta = mutation({ args: {}, handler: async (ctx) => ctx.scheduler.runAfter(0, internal.probe.recordMeta, {}) });
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

const ACTIONS = `
import { v } from "convex/values";
import { action, httpAction, internalMutation } from "./_generated/server";
import { api, internal } from "./_generated/api";

export const post = action({ args: { body: v.string() }, handler: async (ctx, { body }) => {
  const before = Date.now();
  await new Promise((r) => setTimeout(r, 20));  // timers are allowed in actions, and the clock moves
  const realClock = Date.now() - before >= 15;
  const id = await ctx.runMutation(api.messages.send, { channel: "actions", author: "action", body });
  const seen = await ctx.runQuery(api.messages.list, { channel: "actions" });
  console.info("posted", seen.length);
  return { id, count: seen.length, realClock };
} });
export const meta = action({ args: {}, handler: async (ctx) => ({
  own: await ctx.meta.getRequestMetadata(), nested: await ctx.runMutation(api.probe.requestMeta, {}) }) });
export const failing = action({ args: {}, handler: async (ctx) => {
  await ctx.runMutation(api.probe.fail, { n: 9 });
} });
export const tick = internalMutation({ args: {}, handler: async (ctx) =>
  ctx.db.insert("messages", { channel: "cron", author: "cron", body: "tick" }) });
export const echo = httpAction(async (ctx, request) => {
  const text = await request.text();
  const headers = new Headers({ "content-type": "application/json", "x-path": new URL(request.url).pathname });
  headers.append("set-cookie", "a=1; Path=/");
  headers.append("set-cookie", "b=2; Path=/");
  const who = await ctx.auth.getUserIdentity();
  return new Response(JSON.stringify({ method: request.method, text, who }), { status: 201, headers });
});
export const go = httpAction(async () => Response.redirect("http://127.0.0.1/elsewhere", 302));
export const boom = httpAction(async () => { throw new Error("http boom"); });
export const stream = httpAction(async (ctx) => {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      for (let i = 0; i < 3; i++) {
        const n = (await ctx.runQuery(api.messages.list, { channel: "nowhere" })).length;
        controller.enqueue(encoder.encode(\`part \${i} \${n}\\n\`));
        await new Promise((r) => setTimeout(r, 150));
      }
      controller.close();
    },
  });
  return new Response(body, { status: 203, headers: { "content-type": "text/plain" } });
});
// Answers each piece of the request body as it reads it, before the client sends the next.
export const upload = httpAction(async (_ctx, request) => {
  const reader = request.body.getReader();
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      let total = 0;
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        total += step.value.length;
        controller.enqueue(encoder.encode(\`got \${total}\\n\`));
      }
      controller.enqueue(encoder.encode(\`end \${total}\`));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
});
export const digest = httpAction(async (_ctx, request) => {
  const kind = new URL(request.url).searchParams.get("as");
  if (kind === "form") {
    const form = await request.formData();
    return Response.json({ name: form.get("name"), file: (await form.get("file").text()).length });
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return Response.json({ size: bytes.length, hash });
});
export const hog = action({ args: {}, handler: async () => {
  await new Promise((r) => setTimeout(r, 50));  // calls that arrived with it finish first
  const kept = [];
  for (;;) kept.push(new Array(1 << 20).fill(kept.length));  // 8 MB of heap each, never freed
} });
`;
const NODE = `"use node";
import { createHash } from "node:crypto";
import { v } from "convex/values";
import { action } from "./_generated/server";
export const sha = action({ args: { text: v.string() }, handler: async (_ctx, { text }) =>
  createHash("sha256").update(text).digest("hex") });
`;
const HTTP = `
import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server";
import { echo, go, boom, stream, upload, digest } from "./actions";
const http = httpRouter();
http.route({ path: "/hello", method: "GET", handler: httpAction(async (_ctx, req) =>
  new Response("hello " + (new URL(req.url).searchParams.get("name") ?? "world"))) });
http.route({ pathPrefix: "/echo/", method: "POST", handler: echo });
http.route({ path: "/go", method: "GET", handler: go });
http.route({ path: "/boom", method: "GET", handler: boom });
http.route({ path: "/stream", method: "GET", handler: stream });
http.route({ path: "/upload", method: "POST", handler: upload });
http.route({ path: "/digest", method: "POST", handler: digest });
export default http;
`;
const CRONS = `
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";
const crons = cronJobs();
crons.interval("tick", { seconds: 1 }, internal.actions.tick, {});
export default crons;
`;

let server;
let project;
let http;

before(async () => {
  server = await startServer(["--empty"]);
  project = makeProject({ "convex/probe.ts": PROBE, "convex/actions.ts": ACTIONS, "convex/http.ts": HTTP,
                          "convex/crons.ts": CRONS, "convex/nodeStuff.ts": NODE }, { onlyFiles: false });
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
  // A nested mutation that throws is a sub-transaction: its writes go, the caller's stay.
  const caught = await http.mutation(api.probe.nestedCaught, {});
  assert.deepEqual(caught, { caught: [{ code: "nope", n: 0 }, { code: "nope", n: 1 }], failedSeen: 0 });
  assert.deepEqual(await http.query(api.messages.list, { channel: "fail" }), []);
  assert.deepEqual((await http.query(api.messages.list, { channel: "caught" })).map((m) => m.body), ["kept"]);
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

test("ctx.meta: request, transaction metrics, deployment, snapshot ts, function", async () => {
  const m = await http.mutation(api.probe.meta, {});
  assert.match(m.request.requestId, /^[0-9a-f]{16}$/);
  assert.equal(m.request.ip, "127.0.0.1");
  assert.equal(typeof m.request.userAgent, "string");
  assert.equal(m.request.scheduledFunctionId, null);
  assert.equal(m.request.authToken, null);
  assert.deepEqual(m.deployment, { name: "convexlite", region: null, class: "s16" });
  assert.equal(typeof m.snapshotTs, "bigint");
  assert.ok(m.snapshotTs > BigInt(Date.now() - 60_000) * 1_000_000n);  // nanoseconds
  assert.deepEqual(m.fn, { name: "probe:meta", componentPath: "", type: "mutation", visibility: "public" });
  assert.deepEqual(m.before.documentsWritten, { used: 0, remaining: 16000 });
  assert.equal(m.after.documentsWritten.used, 1);
  assert.ok(m.after.bytesWritten.used > 0);
  assert.equal(m.after.bytesWritten.used + m.after.bytesWritten.remaining, 16 << 20);
  assert.deepEqual(m.after.functionsScheduled, { used: 1, remaining: 999 });
  assert.ok(m.after.scheduledFunctionArgsBytes.used > 0);
  // An action's nested mutation sees the action's request.
  const a = await http.action(api.actions.meta, {});
  assert.equal(a.nested.requestId, a.own.requestId);
  assert.equal(a.own.ip, "127.0.0.1");
  // Over the WebSocket: the connection's peer.
  const client = new ConvexClient(server.url);
  try {
    const w = await client.mutation(api.probe.requestMeta, {});
    assert.equal(w.ip, "127.0.0.1");
    assert.match(w.requestId, /^[0-9a-f]{16}$/);
  } finally {
    await client.close();
  }
  // A scheduled function knows its job.
  const job = await http.mutation(api.probe.scheduleMeta, {});
  const deadline = Date.now() + 5000;
  let rows;
  while ((rows = await http.query(api.messages.list, { channel: "meta-job" })).length === 0) {
    assert.ok(Date.now() < deadline, "the scheduled mutation did not run");
    await new Promise((r) => setTimeout(r, 50));
  }
  const seen = JSON.parse(rows[0].body);
  assert.equal(seen.scheduledFunctionId, job);
  assert.equal(seen.ip, null);
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
    const other = makeProject({ "convex/probe.ts": PROBE, "convex/actions.ts": ACTIONS, "convex/http.ts": HTTP,
                                "convex/crons.ts": CRONS, "convex/nodeStuff.ts": NODE }, { onlyFiles: false });
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

test("npx convex logs streams console output and errors; the server prints them too", async () => {
  const { spawn } = await import("node:child_process");
  const { join: joinPath, dirname } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const cli = joinPath(dirname(fileURLToPath(import.meta.url)), "node_modules", "convex", "bin", "main.js");
  const logs = spawn(process.execPath, [cli, "logs"], {
    cwd: project,
    env: { ...process.env, CONVEX_SELF_HOSTED_URL: server.url, CONVEX_SELF_HOSTED_ADMIN_KEY: "compat-admin-key",
           CONVEX_DEPLOYMENT: "", CI: "1" },
  });
  let output = "";
  logs.stdout.on("data", (d) => { output += d; });
  logs.stderr.on("data", (d) => { output += d; });
  try {
    await new Promise((r) => setTimeout(r, 1500));  // it has read the head cursor
    await http.action(api.actions.post, { body: "logged" });
    await assert.rejects(http.mutation(api.messages.send, { channel: "x", author: "y", body: " " }));
    const deadline = Date.now() + 15000;
    while (!(output.includes("'posted'") && output.includes("empty message"))) {
      assert.ok(Date.now() < deadline, `npx convex logs showed:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(output, /\[CONVEX A\(actions\.js:post\)\] \[INFO\] 'posted' 1/);
    assert.match(server.output(), /Action actions\.js:post \[INFO\] 'posted' 1/);
    // Each entry's usageStats, and convexlite's syscall count.
    const stream = await (await fetch(`${server.url}/api/stream_function_logs?cursor=0`, {
      headers: { authorization: "Convex compat-admin-key" } })).json();
    const list = stream.entries.find((e) => e.identifier === "messages.js:list" && e.usageStats.databaseReadDocuments > 0);
    assert.ok(list, JSON.stringify(stream.entries.map((e) => [e.identifier, e.usageStats, e.syscalls])));
    assert.ok(list.usageStats.databaseReadBytes > 0);
    assert.ok(list.syscalls >= 1);
    const post = stream.entries.find((e) => e.identifier === "actions.js:post");
    assert.ok(post.syscalls >= 2);  // its runMutation and runQuery
    const send = stream.entries.find((e) => e.identifier === "messages.js:send" && !e.error);
    assert.ok(send.usageStats.databaseWriteBytes > 0);
  } finally {
    logs.kill();
  }
});

test("actions run their queries and mutations, with timers and the real clock", async () => {
  const before = (await http.query(api.messages.list, { channel: "actions" })).length;
  const r = await http.action(api.actions.post, { body: "from an action" });
  assert.equal(r.count, before + 1);  // its runQuery saw its own runMutation
  assert.equal(r.realClock, true);
  assert.match(r.id, /^[0-9a-z]{32}$/);
  // A "use node" module runs in the same workers, with Node's own modules.
  assert.equal(await http.action(api.nodeStuff.sha, { text: "abc" }),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const error = await http.action(api.actions.failing, {}).catch((e) => e);
  assert.ok(error instanceof ConvexError, String(error));
  assert.deepEqual(error.data, { code: "nope", n: 9 });
});

test("HTTP actions from http.ts: exact and prefix routes, bodies, headers, cookies, redirects, errors", async () => {
  const hello = await fetch(`${server.siteUrl}/hello?name=ada`);
  assert.equal(hello.status, 200);
  assert.equal(await hello.text(), "hello ada");
  assert.equal(await (await fetch(`${server.url}/http/hello`)).text(), "hello world");  // also under /http/
  const echo = await fetch(`${server.siteUrl}/echo/a/b`, { method: "POST", body: "payload" });
  assert.equal(echo.status, 201);
  assert.equal(echo.headers.get("x-path"), "/echo/a/b");
  assert.deepEqual(echo.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
  assert.deepEqual(await echo.json(), { method: "POST", text: "payload", who: null });
  const go = await fetch(`${server.siteUrl}/go`, { redirect: "manual" });
  assert.equal(go.status, 302);
  assert.equal(go.headers.get("location"), "http://127.0.0.1/elsewhere");
  const boom = await fetch(`${server.siteUrl}/boom`);
  assert.equal(boom.status, 500);
  assert.match((await boom.json()).code, /Server Error: Uncaught Error: http boom/);
  assert.equal((await fetch(`${server.siteUrl}/nowhere`)).status, 404);
  // A ReadableStream body goes out as it is written (chunked), not when it ends.
  const started = Date.now();
  const streamed = await fetch(`${server.siteUrl}/stream`);
  assert.equal(streamed.status, 203);
  assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
  assert.equal(streamed.headers.get("content-type"), "text/plain");
  const reader = streamed.body.getReader();
  const first = await reader.read();
  const firstAfter = Date.now() - started;
  let text = new TextDecoder().decode(first.value);
  for (let step = await reader.read(); !step.done; step = await reader.read()) text += new TextDecoder().decode(step.value);
  const allAfter = Date.now() - started;
  assert.equal(text, "part 0 0\npart 1 0\npart 2 0\n");
  assert.ok(firstAfter < 300 && allAfter >= 400, `first part after ${firstAfter} ms, all after ${allAfter} ms`);
  // The connection stays usable after a streamed response (keep-alive), also under /http/.
  assert.equal(await (await fetch(`${server.url}/http/stream`)).text(), "part 0 0\npart 1 0\npart 2 0\n");
  assert.equal(await (await fetch(`${server.siteUrl}/hello?name=again`)).text(), "hello again");
});

// A raw HTTP/1.1 connection to the site port, so the test decides when each byte goes out.
async function rawConnection() {
  const { port, hostname } = new URL(server.siteUrl);
  const socket = net.connect(Number(port), hostname);
  await once(socket, "connect");
  const conn = { socket, received: "", ended: false };
  socket.setEncoding("latin1");
  socket.on("data", (d) => { conn.received += d; });
  socket.on("end", () => { conn.ended = true; });
  socket.on("error", () => { conn.ended = true; });
  conn.until = async (done, what) => {
    const deadline = Date.now() + 10000;
    while (!done()) {
      assert.ok(Date.now() < deadline, `waited for ${what}; got ${JSON.stringify(conn.received.slice(0, 400))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return conn;
}

test("HTTP actions read request bodies as the client sends them, up to Convex's 20 MiB", async () => {
  // A chunked upload, answered piece by piece: the answer to the first piece arrives before
  // the client sends the second, which only a streamed body allows.
  const up = await rawConnection();
  up.socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  await up.until(() => up.received.includes("got 5\n"), "the answer to the first piece");
  assert.match(up.received, /^HTTP\/1\.1 200/);
  assert.match(up.received, /\r\nconnection: close\r\n/i);  // the body was not over yet
  up.socket.write("6\r\n world\r\n0\r\n\r\n");
  await up.until(() => up.ended, "the end of the response");
  assert.ok(up.received.includes("got 11\n") && up.received.includes("end 11"), up.received);

  // Large bodies (over 64 KiB: streamed) through request.arrayBuffer() and formData(), on
  // the site port and under /http/.
  const big = new Uint8Array(5 << 20).map((_, i) => (i * 7919) % 251);
  const hash = createHash("sha256").update(big).digest("hex");
  for (const base of [server.siteUrl, `${server.url}/http`]) {
    const r = await fetch(`${base}/digest`, { method: "POST", body: big });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { size: big.length, hash });
  }
  const form = new FormData();
  form.append("name", "ada");
  form.append("file", new Blob([new Uint8Array(100 << 10)]), "zeros.bin");
  const formed = await fetch(`${server.siteUrl}/digest?as=form`, { method: "POST", body: form });
  assert.deepEqual(await formed.json(), { name: "ada", file: 100 << 10 });
  // A small body still comes whole (and the same route reads it alike).
  assert.deepEqual(await (await fetch(`${server.siteUrl}/digest`, { method: "POST", body: "abc" })).json(),
                   { size: 3, hash: createHash("sha256").update("abc").digest("hex") });

  // Over the limit: a Content-Length is refused before the action runs...
  const declared = await rawConnection();
  declared.socket.write(`POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${(20 << 20) + 1}\r\n\r\n`);
  await declared.until(() => declared.ended, "the 413");
  assert.match(declared.received, /^HTTP\/1\.1 413/);
  assert.match(declared.received, /"code":"RequestTooLarge","message":"The request body is over the 20 MiB limit"/);
  // ...and a chunked body that grows past it fails the action's read.
  const grown = await rawConnection();
  grown.socket.write("POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     `${(1 << 20).toString(16)}\r\n${"a".repeat(1 << 20)}\r\n${(20 << 20).toString(16)}\r\n`);
  await grown.until(() => grown.ended, "the failed action's answer");
  assert.match(grown.received, /^HTTP\/1\.1 500/);
  assert.match(grown.received, /Uncaught Error: The request body is over the 20 MiB limit for HTTP actions/);
  assert.equal(await (await fetch(`${server.siteUrl}/hello?name=after`)).text(), "hello after");
});

test("crons from crons.ts fire through the scheduler", async () => {
  const deadline = Date.now() + 10000;
  while ((await http.query(api.messages.list, { channel: "cron" })).length < 2) {
    assert.ok(Date.now() < deadline, "the cron did not fire twice");
    await new Promise((r) => setTimeout(r, 100));
  }
});

test("a bank invariant holds under concurrent TS transfers", async () => {
  const accounts = [];
  for (let i = 0; i < 4; i++) accounts.push(await http.mutation(api.bank.open, { owner: `o${i}`, balance: 100 }));
  const clients = Array.from({ length: 8 }, () => new ConvexHttpClient(server.url));
  let seed = 7;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const jobs = [];
  let succeeded = 0;
  for (const c of clients) {
    jobs.push((async () => {
      for (let k = 0; k < 15; k++) {
        const from = accounts[rand(4)];
        let to = accounts[rand(4)];
        if (to === from) to = accounts[(accounts.indexOf(from) + 1) % 4];
        // Under heavy contention Convex gives up after its retries; such a transfer writes nothing.
        try {
          await c.mutation(api.bank.transfer, { from, to, amount: 1 + rand(30) });
          succeeded++;
        } catch (e) {
          if (!/OptimisticConcurrencyControlFailure/.test(String(e))) throw e;
        }
      }
    })());
  }
  await Promise.all(jobs);
  assert.ok(succeeded > 60, `only ${succeeded} of 120 transfers committed`);
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

test("a worker that runs out of memory fails only its call; the server keeps serving", async () => {
  const pending = http.action(api.actions.hog, {});
  let served = 0;
  let settled = false;
  pending.catch(() => {}).finally(() => { settled = true; });
  while (!settled) {  // the other worker and the server answer while the heap fills
    assert.ok(Array.isArray(await http.query(api.messages.list, { channel: "general" })));
    served++;
  }
  await assert.rejects(pending, /Node worker running this function exited \(it crashed, ran out of memory/);
  assert.ok(served >= 1);
  await http.mutation(api.messages.send, { channel: "after-oom", author: "a", body: "ok" });
  assert.equal((await http.query(api.messages.list, { channel: "after-oom" })).length, 1);
});

test("after a restart the pushed code runs without another push", async () => {
  await http.mutation(api.messages.send, { channel: "restart", author: "a", body: "kept" });
  await server.stop({ keepData: true });
  server = await startServer(["--empty"], { dataDir: server.dataDir });
  http = new ConvexHttpClient(server.url);
  const list = await http.query(api.messages.list, { channel: "restart" });
  assert.deepEqual(list.map((m) => m.body), ["kept"]);
});

test("auth.config.ts providers verify tokens for TS functions; an env change rotates them without a push", async () => {
  const { generateKeyPairSync, createSign } = await import("node:crypto");
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const keyPair = (kid) => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
    const jwks = `data:application/json;base64,${Buffer.from(JSON.stringify({ keys: [jwk] })).toString("base64")}`;
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: "RS256", kid })}.${b64({ iss: "https://issuer.test", aud: "convex", sub: "user-1", iat: now, exp: now + 600, name: "Ada" })}`;
    const token = `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url")}`;
    return { jwks, token, unsigned };
  };
  const one = keyPair("k1");
  const two = keyPair("k2");
  const s = await startServer(["--empty", "--durability", "memory"]);
  try {
    const p = makeProject({
      "convex/auth.config.ts": 'export default { providers: [{ type: "customJwt", issuer: "https://issuer.test", jwks: process.env.TEST_JWKS, algorithm: "RS256", applicationID: "convex" }] };\n',
      "convex/me.ts": 'import { query } from "./_generated/server";\nexport const whoami = query({ args: {}, handler: async (ctx) => ctx.auth.getUserIdentity() });\n',
    });
    assert.equal(npx(s, p, "env", "set", "TEST_JWKS", one.jwks).status, 0);
    const pushed = deploy(s, p);
    assert.equal(pushed.status, 0, pushed.stderr + pushed.stdout);
    const client = new ConvexHttpClient(s.url);
    assert.equal(await client.query(api.me.whoami, {}), null);
    client.setAuth(one.token);
    const me = await client.query(api.me.whoami, {});
    assert.equal(me.subject, "user-1");
    assert.equal(me.tokenIdentifier, "https://issuer.test|user-1");
    assert.equal(me.name, "Ada");
    const forged = new ConvexHttpClient(s.url);
    forged.setAuth(`${one.unsigned}.${Buffer.from("not a signature").toString("base64url")}`);
    await assert.rejects(forged.query(api.me.whoami, {}), /Could not verify|InvalidAuthHeader|signature/i);
    // Rotation: auth.config.ts is evaluated again with the new variable; no push needed.
    assert.equal(npx(s, p, "env", "set", "TEST_JWKS", two.jwks).status, 0);
    await assert.rejects(client.query(api.me.whoami, {}), /InvalidAuthHeader|Could not verify|key/i);
    client.setAuth(two.token);
    assert.equal((await client.query(api.me.whoami, {})).subject, "user-1");
  } finally {
    await s.stop();
  }
});
