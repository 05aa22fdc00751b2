import { v } from "convex/values";
import { ConvexError } from "convex/values";
import { internalMutation, mutation, query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => ctx.db.query("messages").collect(),
});

export const byAuthor = query({
  args: { author: v.string() },
  handler: async (ctx, { author }) =>
    ctx.db.query("messages").withIndex("by_author", (q) => q.eq("author", author)).collect(),
});

export const send = mutation({
  args: { body: v.string(), author: v.string() },
  handler: async (ctx, { body, author }) => ctx.db.insert("messages", { body, author }),
});

export const sendAndFail = mutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => {
    await ctx.db.insert("messages", { body, author: "ghost" });
    throw new ConvexError({ code: "NOPE", body });
  },
});

export const clear = internalMutation({
  args: {},
  handler: async (ctx) => {
    for (const m of await ctx.db.query("messages").collect()) await ctx.db.delete(m._id);
  },
});

export const whoami = query({
  args: {},
  handler: async (ctx) => ctx.auth.getUserIdentity(),
});
