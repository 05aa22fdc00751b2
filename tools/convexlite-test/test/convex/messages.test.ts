import { expect, test } from "vitest";
import { convexTest } from "convexlite-test";
import { api, internal } from "./_generated/api";
import schema from "./schema";

const modules = import.meta.glob("./**/*.*s");

test("sending messages", async () => {
  const t = convexTest(schema, modules);
  await t.mutation(api.messages.send, { body: "Hi!", author: "Sarah" });
  await t.mutation(api.messages.send, { body: "Hey!", author: "Tom" });
  const messages = await t.query(api.messages.list);
  expect(messages).toMatchObject([
    { body: "Hi!", author: "Sarah" },
    { body: "Hey!", author: "Tom" },
  ]);
  expect(await t.query(api.messages.byAuthor, { author: "Tom" })).toMatchObject([{ body: "Hey!" }]);
});

test("a fresh database per convexTest()", async () => {
  const t = convexTest(schema, modules);
  expect(await t.query(api.messages.list)).toEqual([]);
});

test("a mutation that throws leaves nothing and rejects with the ConvexError", async () => {
  const t = convexTest(schema, modules);
  const error = await t.mutation(api.messages.sendAndFail, { body: "x" }).catch((e) => e);
  expect(error.data).toEqual({ code: "NOPE", body: "x" });
  expect(await t.query(api.messages.list)).toEqual([]);
});

test("internal functions and argument validation", async () => {
  const t = convexTest(schema, modules);
  await t.mutation(api.messages.send, { body: "a", author: "b" });
  await t.mutation(internal.messages.clear, {});
  expect(await t.query(api.messages.list)).toEqual([]);
  await expect(t.mutation(api.messages.send, { body: 1 } as any)).rejects.toThrow(/ArgumentValidationError/);
});

test("withIdentity", async () => {
  const t = convexTest(schema, modules);
  expect(await t.query(api.messages.whoami)).toBeNull();
  const asSarah = t.withIdentity({ name: "Sarah", subject: "s1" });
  expect(await asSarah.query(api.messages.whoami)).toMatchObject({
    name: "Sarah", subject: "s1", issuer: "https://convex.test", tokenIdentifier: "https://convex.test|s1",
  });
});
