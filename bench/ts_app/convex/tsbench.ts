// The same functions as the reference app's C++ values:echo / values:load / values:store
// (tools/reference_app/reference_app.cc), for bench/ts_bench.cc's same-run comparison.
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const echo = query({ args: { value: v.any() }, handler: async (_ctx, { value }) => value });

export const load = query({
  args: { id: v.id("blobs") },
  handler: async (ctx, { id }) => ctx.db.get(id),
});

export const store = mutation({
  args: { value: v.any() },
  handler: async (ctx, args) => ctx.db.insert("blobs", args),
});
