// convex-test's documented posts example: a returns validator and descending order.
import { v } from "convex/values";
import { internalMutation, query } from "./_generated/server";

export const add = internalMutation({
  args: { title: v.string(), author: v.string() },
  returns: v.id("posts"),
  handler: async (ctx, args) => ctx.db.insert("posts", args),
});

export const list = query({
  args: {},
  returns: v.array(v.object({ _id: v.id("posts"), _creationTime: v.number(), title: v.string(), author: v.string() })),
  handler: async (ctx) => ctx.db.query("posts").order("desc").collect(),
});

export const badReturn = query({
  args: {},
  returns: v.string(),
  handler: async () => 5 as any,
});
