// The real ConvexHttpClient (convex@1.48.0) against convexlite dev.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { anyApi } from "convex/server";
import { startServer } from "./server.mjs";

const api = anyApi;
let server;
let client;

before(async () => {
  server = await startServer();
  client = new ConvexHttpClient(server.url);
});

after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, "convexlite dev exits 0 on SIGTERM");
});

test("values round trip through values:echo", async () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]).buffer;
  const cases = [
    null, true, false, 0, 1.5, -2.25, "hello", "emoji 😀 and \u0000 nul",
    1n, -1n, 2n ** 63n - 1n, -(2n ** 63n),
    [1, "two", [3n, null]], { nested: { deeper: { x: 1n, y: [true] } }, "": "empty key" },
  ];
  for (const value of cases) {
    assert.deepEqual(await client.query(api.values.echo, { value }), value);
  }
  assert.ok(Number.isNaN(await client.query(api.values.echo, { value: NaN })));
  assert.ok(Object.is(await client.query(api.values.echo, { value: -0 }), -0));
  assert.equal(await client.query(api.values.echo, { value: Infinity }), Infinity);
  assert.equal(await client.query(api.values.echo, { value: -Infinity }), -Infinity);
  const back = await client.query(api.values.echo, { value: bytes });
  assert.deepEqual(new Uint8Array(back), new Uint8Array(bytes));
});

test("stored documents come back with system fields", async () => {
  const id = await client.mutation(api.values.store, { value: { big: 42n } });
  assert.equal(typeof id, "string");
  const doc = await client.query(api.values.load, { id });
  assert.equal(doc._id, id);
  assert.equal(typeof doc._creationTime, "number");
  assert.deepEqual(doc.value, { big: 42n });
});

test("ConvexError data from bank:transfer", async () => {
  const a = await client.mutation(api.bank.open, { owner: "a", balance: 100n });
  const b = await client.mutation(api.bank.open, { owner: "b", balance: 0n });
  const expectCode = async (args, code) => {
    await assert.rejects(client.mutation(api.bank.transfer, args), (err) => {
      assert.ok(err instanceof ConvexError, `expected ConvexError, got ${err}`);
      assert.deepEqual(err.data, { code });
      return true;
    });
  };
  await expectCode({ from: a, to: a, amount: 1n }, "SAME_ACCOUNT");
  await expectCode({ from: a, to: b, amount: 0n }, "BAD_AMOUNT");
  await expectCode({ from: a, to: b, amount: 1000n }, "INSUFFICIENT_FUNDS");
  assert.equal(await client.mutation(api.bank.transfer, { from: a, to: b, amount: 30n }), null);
  assert.equal(await client.query(api.bank.balance, { id: a }), 70n);
  assert.equal(await client.query(api.bank.balance, { id: b }), 30n);
});

test("argument validation errors", async () => {
  await assert.rejects(client.mutation(api.bank.open, { owner: "x", balance: 5 }),
                       /ArgumentValidationError: Value does not match validator\.\nPath: \.balance\nValue: 5\.0\nValidator: v\.int64\(\)/);
  await assert.rejects(client.query(api.values.echo, {}),
                       /ArgumentValidationError: Object is missing the required field `value`/);
  await assert.rejects(client.query(api.bank.balance, { id: "not-an-id" }),
                       /ArgumentValidationError: Value does not match validator/);
});

test("unknown, wrong-kind and internal functions", async () => {
  await assert.rejects(client.query(api.nope.missing, {}),
                       /Could not find public function for 'nope:missing'/);
  await assert.rejects(client.mutation(api.values.echo, { value: 1 }),
                       /Trying to execute values\.js:echo as Mutation, but it is defined as Query\./);
  await assert.rejects(client.mutation(api.jobs.record, { value: 1 }),
                       /Could not find public function for 'jobs:record'/);
});

test("messages:send without identity is UNAUTHENTICATED", async () => {
  await assert.rejects(client.mutation(api.messages.send, { channel: "c", body: "hi" }), (err) => {
    assert.ok(err instanceof ConvexError);
    assert.deepEqual(err.data, { code: "UNAUTHENTICATED" });
    return true;
  });
});

test("paginated messages list is empty and done", async () => {
  const page = await client.query(api.messages.list,
                                  { channel: "general", paginationOpts: { numItems: 5, cursor: null } });
  assert.deepEqual(page.page, []);
  assert.equal(page.isDone, true);
  assert.equal(typeof page.continueCursor, "string");
});

test("HTTP mutations resolve in order and lists:append is serial", async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.mutation(api.lists.append, { key: "k", element: BigInt(i) })));
  assert.equal(results.length, 20);
  assert.deepEqual(await client.query(api.lists.read, { key: "k" }),
                   Array.from({ length: 20 }, (_, i) => BigInt(i)));
});

test("HTTP actions at the site root and under /http", async () => {
  const site = await fetch(`${server.siteUrl}/hello`);
  assert.equal(site.status, 200);
  assert.equal(await site.text(), "hello");
  const viaApi = await fetch(`${server.url}/http/hello`);
  assert.equal(await viaApi.text(), "hello");
  const missing = await fetch(`${server.siteUrl}/nope`);
  assert.equal(missing.status, 404);
});

test("malformed requests get Convex-shaped errors and the server keeps serving", async () => {
  const bad = await fetch(`${server.url}/api/query`, { method: "POST", body: "{not json",
                                                       headers: { "content-type": "application/json" } });
  assert.equal(bad.status, 400);
  const body = await bad.json();
  assert.equal(body.code, "InvalidJson");
  assert.equal(await client.query(api.values.echo, { value: 1 }), 1);
});
