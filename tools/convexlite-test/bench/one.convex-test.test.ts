// A one-test file through convex-test, for the wall time of a whole `vitest run` (bench/run.mjs).
import { expect, test } from "vitest";
import { convexTest } from "convex-test";
import { api } from "../test/convex/_generated/api";
import schema from "../test/convex/schema";

test("sending messages", async () => {
  const t = convexTest(schema, import.meta.glob("../test/convex/**/*.*s"));
  await t.mutation(api.messages.send, { body: "Hi!", author: "Sarah" });
  expect(await t.query(api.messages.list)).toMatchObject([{ body: "Hi!" }]);
});
