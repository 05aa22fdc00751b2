import { v } from "convex/values";
import { ConvexError } from "convex/values";
import { createFunctionHandle } from "convex/server";
import { api, internal } from "./_generated/api";
import { action, internalQuery, mutation, query } from "./_generated/server";

export const open = mutation({
  args: { owner: v.string(), balance: v.number() },
  handler: async (ctx, args) => ctx.db.insert("accounts", args),
});

export const balance = query({
  args: { owner: v.string() },
  handler: async (ctx, { owner }) =>
    (await ctx.db.query("accounts").withIndex("by_owner", (q) => q.eq("owner", owner)).unique())?.balance ?? null,
});

export const total = internalQuery({
  args: {},
  handler: async (ctx) => (await ctx.db.query("accounts").collect()).reduce((sum, a) => sum + a.balance, 0),
});

export const transfer = mutation({
  args: { from: v.string(), to: v.string(), amount: v.number() },
  handler: async (ctx, { from, to, amount }) => {
    const a = await ctx.db.query("accounts").withIndex("by_owner", (q) => q.eq("owner", from)).unique();
    const b = await ctx.db.query("accounts").withIndex("by_owner", (q) => q.eq("owner", to)).unique();
    if (!a || !b) throw new ConvexError("no such account");
    if (a.balance < amount) throw new ConvexError({ code: "INSUFFICIENT", balance: a.balance });
    await ctx.db.patch(a._id, { balance: a.balance - amount });
    await ctx.db.patch(b._id, { balance: b.balance + amount });
  },
});

// Nested calls in one transaction: the inner mutation's writes are this mutation's.
export const openTwo = mutation({
  args: { a: v.string(), b: v.string() },
  handler: async (ctx, { a, b }) => {
    await ctx.runMutation(api.bank.open, { owner: a, balance: 10 });
    await ctx.runMutation(api.bank.open, { owner: b, balance: 10 });
    return ctx.runQuery(internal.bank.total, {});
  },
});

export const openTwoThenFail = mutation({
  args: {},
  handler: async (ctx) => {
    await ctx.runMutation(api.bank.open, { owner: "x", balance: 1 });
    throw new Error("after the nested call");
  },
});

export const handleOf = mutation({
  args: {},
  handler: async () => createFunctionHandle(api.bank.balance),
});

export const transferFromAction = action({
  args: { from: v.string(), to: v.string(), amount: v.number() },
  handler: async (ctx, args) => {
    await ctx.runMutation(api.bank.transfer, args);
    return ctx.runQuery(api.bank.balance, { owner: args.to });
  },
});
