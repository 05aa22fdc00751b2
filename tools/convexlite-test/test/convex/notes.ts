// convex-test's documented auth and error examples: data per user, and a ConvexError
// whose data is its message.
import { ConvexError, v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const create = mutation({
  args: { text: v.string() },
  handler: async (ctx, { text }) => {
    const identity = await ctx.auth.getUserIdentity();
    if (!identity) throw new ConvexError("Not signed in");
    if (text === "") throw new ConvexError("Empty note is not allowed");
    return ctx.db.insert("notes", { text, owner: identity.tokenIdentifier });
  },
});

export const list = query({
  args: {},
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    if (!identity) return [];
    return ctx.db.query("notes").withIndex("by_owner", (q) => q.eq("owner", identity.tokenIdentifier)).collect();
  },
});
