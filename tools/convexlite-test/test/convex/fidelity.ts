// Functions for the fidelity tests (fidelity.test.ts). `runs` counts how many times each
// handler's JavaScript ran, so a test can see OCC retries re-running it.
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const runs = { transfer: 0, append: 0 };

export const transfer = mutation({
  args: { from: v.string(), to: v.string(), amount: v.number() },
  handler: async (ctx, { from, to, amount }) => {
    runs.transfer++;
    const a = await ctx.db.query("accounts").withIndex("by_owner", (q) => q.eq("owner", from)).unique();
    const b = await ctx.db.query("accounts").withIndex("by_owner", (q) => q.eq("owner", to)).unique();
    await ctx.db.patch(a!._id, { balance: a!.balance - amount });
    await ctx.db.patch(b!._id, { balance: b!.balance + amount });
  },
});

// Appends while fewer than `max` tasks exist: a phantom would let concurrent calls see
// the same count and append past it.
export const appendIfFewer = mutation({
  args: { max: v.number(), text: v.string() },
  handler: async (ctx, { max, text }) => {
    runs.append++;
    const tasks = await ctx.db.query("tasks").collect();
    if (tasks.length < max) await ctx.db.insert("tasks", { text });
  },
});

export const getMessage = query({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => ctx.db.get(id),
});

export const store = mutation({
  args: { bytes: v.number() },
  handler: async (ctx, { bytes }) => ctx.db.insert("blobs", { data: "x".repeat(bytes) }),
});
