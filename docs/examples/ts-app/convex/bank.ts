import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const open = mutation({
  args: { owner: v.string(), balance: v.number() },
  handler: async (ctx, args) => ctx.db.insert("accounts", args),
});

export const transfer = mutation({
  args: { from: v.id("accounts"), to: v.id("accounts"), amount: v.number() },
  handler: async (ctx, { from, to, amount }) => {
    const a = await ctx.db.get(from);
    const b = await ctx.db.get(to);
    if (a === null || b === null) throw new Error("no such account");
    if (a.balance < amount) return false;
    await ctx.db.patch(from, { balance: a.balance - amount });
    await ctx.db.patch(to, { balance: b.balance + amount });
    return true;
  },
});

export const total = query({
  args: {},
  handler: async (ctx) => {
    const all = await ctx.db.query("accounts").collect();
    return all.reduce((sum, a) => sum + a.balance, 0);
  },
});
