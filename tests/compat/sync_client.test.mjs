// The real ConvexClient (WebSocket sync protocol, convex@1.48.0) against convexlite dev,
// and the protocol itself through a raw `ws` socket for what the client hides.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { anyApi } from "convex/server";
import WebSocket from "ws";
import { startServer, ADMIN_KEY } from "./server.mjs";

const api = anyApi;
let server;

before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0); });

async function waitFor(predicate, what, timeoutMs = 5000) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("subscriptions update after mutations", async () => {
  const client = new ConvexClient(server.url);
  try {
    const seen = [];
    const unsubscribe = client.onUpdate(api.lists.read, { key: "sub" }, (v) => seen.push(v));
    await waitFor(() => seen.length >= 1, "the first result");
    assert.deepEqual(seen[0], []);
    await client.mutation(api.lists.append, { key: "sub", element: 1n });
    await waitFor(() => seen.at(-1).length === 1, "the update");
    assert.deepEqual(seen.at(-1), [1n]);
    // A write elsewhere does not re-send an unchanged result.
    const before = seen.length;
    await client.mutation(api.lists.append, { key: "other", element: 9n });
    await client.mutation(api.lists.append, { key: "sub", element: 2n });
    await waitFor(() => seen.at(-1).length === 2, "the second update");
    assert.equal(seen.length, before + 1);
    unsubscribe();
  } finally {
    await client.close();
  }
});

test("mutation promises resolve in order and see their own writes", async () => {
  const client = new ConvexClient(server.url);
  try {
    const order = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) =>
      client.mutation(api.lists.append, { key: "ordered", element: BigInt(i) }).then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await client.query(api.lists.read, { key: "ordered" }),
                     Array.from({ length: 10 }, (_, i) => BigInt(i)));
  } finally {
    await client.close();
  }
});

test("errors over the socket: ConvexError data, validation, unknown functions", async () => {
  const client = new ConvexClient(server.url);
  try {
    const http = new ConvexHttpClient(server.url);
    const a = await http.mutation(api.bank.open, { owner: "ws", balance: 5n });
    await assert.rejects(client.mutation(api.bank.transfer, { from: a, to: a, amount: 1n }), (err) => {
      assert.ok(err instanceof ConvexError);
      assert.deepEqual(err.data, { code: "SAME_ACCOUNT" });
      return true;
    });
    await assert.rejects(client.mutation(api.bank.open, { owner: "x", balance: 1 }), /ArgumentValidationError/);
    await assert.rejects(client.query(api.nope.missing, {}), /Could not find public function/);
    assert.equal(await client.action(api.values.echo, { value: 1 }).catch((e) => e.message).then((m) =>
      /Trying to execute values\.js:echo as Action/.test(m)), true);
  } finally {
    await client.close();
  }
});

// A raw protocol client: Connect, then messages; collects every server message.
async function rawSocket(sessionId, target = server) {
  const url = target.url.replace("http://", "ws://") + "/api/1.48.0/sync";
  const ws = new WebSocket(url);
  const messages = [];
  ws.on("message", (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => { ws.on("open", resolve); ws.on("error", reject); });
  ws.send(JSON.stringify({ type: "Connect", sessionId, connectionCount: 0, lastCloseReason: null,
                           clientTs: Date.now() }));
  return { ws, messages };
}

test("a mutation resent on a new socket is applied once", async () => {
  const sessionId = "6f1c0e9e-2a36-4c41-9a0b-1b2f3c4d5e6f";
  const mutation = { type: "Mutation", requestId: 0, udfPath: "lists:append",
                     args: [{ key: "once", element: { $integer: "BwAAAAAAAAA=" } }] };
  const first = await rawSocket(sessionId);
  first.ws.send(JSON.stringify(mutation));
  await waitFor(() => first.messages.some((m) => m.type === "MutationResponse"), "the response");
  const response1 = first.messages.find((m) => m.type === "MutationResponse");
  assert.equal(response1.success, true);
  // The Transition after the response reaches the mutation's ts.
  await waitFor(() => first.messages.some((m) => m.type === "Transition"), "a transition");
  first.ws.close();

  const second = await rawSocket(sessionId);
  second.ws.send(JSON.stringify(mutation));
  await waitFor(() => second.messages.some((m) => m.type === "MutationResponse"), "the replay");
  const response2 = second.messages.find((m) => m.type === "MutationResponse");
  assert.equal(response2.success, true);
  assert.equal(response2.ts, response1.ts, "the replay answers with the original ts");
  second.ws.close();

  const http = new ConvexHttpClient(server.url);
  assert.deepEqual(await http.query(api.lists.read, { key: "once" }), [7n]);
});

test("a mutation resent after a server restart is applied once", async () => {
  const own = await startServer();
  const sessionId = "7f1c0e9e-2a36-4c41-9a0b-1b2f3c4d5e6f";
  const mutation = { type: "Mutation", requestId: 3, udfPath: "lists:append",
                     args: [{ key: "restart", element: { $integer: "AgAAAAAAAAA=" } }] };
  const first = await rawSocket(sessionId, own);
  first.ws.send(JSON.stringify(mutation));
  await waitFor(() => first.messages.some((m) => m.type === "MutationResponse"), "the response");
  const response1 = first.messages.find((m) => m.type === "MutationResponse");
  first.ws.close();
  assert.equal(await own.stop({ keepData: true }), 0);

  const again = await startServer([], { dataDir: own.dataDir });
  try {
    const second = await rawSocket(sessionId, again);
    second.ws.send(JSON.stringify(mutation));
    await waitFor(() => second.messages.some((m) => m.type === "MutationResponse"), "the replay");
    const response2 = second.messages.find((m) => m.type === "MutationResponse");
    assert.equal(response2.success, true);
    assert.equal(response2.ts, response1.ts);
    second.ws.close();
    const http = new ConvexHttpClient(again.url);
    assert.deepEqual(await http.query(api.lists.read, { key: "restart" }), [2n]);
  } finally {
    await again.stop();
  }
});

test("protocol errors close only the offending socket", async () => {
  const bad = await rawSocket("11111111-2222-4333-8444-555555555555");
  const closed = new Promise((resolve) => bad.ws.on("close", (code) => resolve(code)));
  bad.ws.send(JSON.stringify({ type: "NoSuchMessage" }));
  assert.equal(await closed, 1008);
  const mismatch = await rawSocket("11111111-2222-4333-8444-555555555556");
  const closed2 = new Promise((resolve) => mismatch.ws.on("close", (code) => resolve(code)));
  mismatch.ws.send(JSON.stringify({ type: "ModifyQuerySet", baseVersion: 5, newVersion: 6, modifications: [] }));
  assert.equal(await closed2, 1008);
  const http = new ConvexHttpClient(server.url);
  assert.equal(await http.query(api.values.echo, { value: "still serving" }), "still serving");
});

test("transitions chain their versions and start at zero", async () => {
  const s = await rawSocket("21111111-2222-4333-8444-555555555555");
  s.ws.send(JSON.stringify({ type: "ModifyQuerySet", baseVersion: 0, newVersion: 1, modifications: [
    { type: "Add", queryId: 0, udfPath: "lists:read", args: [{ key: "chain" }] }] }));
  s.ws.send(JSON.stringify({ type: "Mutation", requestId: 0, udfPath: "lists:append",
                             args: [{ key: "chain", element: { $integer: "AQAAAAAAAAA=" } }] }));
  await waitFor(() => s.messages.filter((m) => m.type === "Transition").length >= 2, "two transitions");
  const transitions = s.messages.filter((m) => m.type === "Transition");
  assert.deepEqual(transitions[0].startVersion, { querySet: 0, identity: 0, ts: "AAAAAAAAAAA=" });
  for (let i = 1; i < transitions.length; i++) {
    assert.deepEqual(transitions[i].startVersion, transitions[i - 1].endVersion);
  }
  assert.equal(transitions[0].modifications[0].type, "QueryUpdated");
  s.ws.close();
});

test("admin authentication over the socket", async () => {
  const s = await rawSocket("31111111-2222-4333-8444-555555555555");
  s.ws.send(JSON.stringify({ type: "Authenticate", baseVersion: 0, tokenType: "Admin", value: ADMIN_KEY,
                             impersonating: { subject: "u1", issuer: "https://test", tokenIdentifier: "https://test|u1" } }));
  s.ws.send(JSON.stringify({ type: "ModifyQuerySet", baseVersion: 0, newVersion: 1, modifications: [
    { type: "Add", queryId: 0, udfPath: "me:whoami", args: [{}] }] }));
  await waitFor(() => s.messages.some((m) => m.type === "Transition" && m.modifications.length > 0), "whoami");
  const t = s.messages.find((m) => m.type === "Transition" && m.modifications.length > 0);
  assert.equal(t.endVersion.identity, 1);
  assert.equal(t.modifications[0].value.subject, "u1");
  s.ws.close();
  const bad = await rawSocket("41111111-2222-4333-8444-555555555555");
  bad.ws.send(JSON.stringify({ type: "Authenticate", baseVersion: 0, tokenType: "Admin", value: "wrong" }));
  await waitFor(() => bad.messages.some((m) => m.type === "AuthError"), "AuthError");
  assert.equal(bad.messages.find((m) => m.type === "AuthError").authUpdateAttempted, true);
});
