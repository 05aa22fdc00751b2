// convex-test's documented examples (posts, auth, errors), unchanged but for the import.
import { expect, test } from "vitest";
import { convexTest } from "convexlite-test";
import { api, internal } from "./_generated/api";
import schema from "./schema";

const modules = import.meta.glob("./**/*.*s");

test("posts: internal mutation, returns validators, descending order", async () => {
  const t = convexTest(schema, modules);
  await t.mutation(internal.posts.add, { title: "First Post", author: "a" });
  await t.mutation(internal.posts.add, { title: "Second Post", author: "b" });
  const posts = await t.query(api.posts.list);
  expect(posts).toHaveLength(2);
  expect(posts[0].title).toBe("Second Post");
  await expect(t.query(api.posts.badReturn)).rejects.toThrow(/ReturnsValidationError/);
});

test("auth: each identity sees its own notes", async () => {
  const t = convexTest(schema, modules);
  const asSarah = t.withIdentity({ name: "Sarah" });
  await asSarah.mutation(api.notes.create, { text: "Add tests" });
  expect(await asSarah.query(api.notes.list)).toMatchObject([{ text: "Add tests" }]);
  const asLee = t.withIdentity({ name: "Lee" });
  expect(await asLee.query(api.notes.list)).toEqual([]);
  // convex-test's subject for {name: "Sarah"} (a hash of the identity's JSON).
  expect((await asSarah.query(api.messages.whoami)).subject).toBe("1775453774");
});

test("errors: a ConvexError's message reaches the test", async () => {
  const t = convexTest(schema, modules);
  await expect(async () => t.withIdentity({ name: "J" }).mutation(api.notes.create, { text: "" })).rejects.toThrowError(
    "Empty note is not allowed",
  );
  await expect(t.mutation(api.notes.create, { text: "x" })).rejects.toThrowError("Not signed in");
});
