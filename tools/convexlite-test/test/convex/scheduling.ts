import { v } from "convex/values";
import { internal } from "./_generated/api";
import { action, internalAction, internalMutation, mutation } from "./_generated/server";

export const mutationSchedulingAction = mutation({
  args: { delayMs: v.number() },
  handler: async (ctx, { delayMs }) => ctx.scheduler.runAfter(delayMs, internal.scheduling.actionCallingAI, {}),
});

export const actionCallingAI = internalAction({
  args: {},
  handler: async (ctx) => {
    const answer = await (await fetch("https://ai.example/answer")).text();
    await ctx.runMutation(internal.scheduling.saveTask, { text: answer, author: "AI" });
  },
});

export const saveTask = internalMutation({
  args: { text: v.string(), author: v.string() },
  handler: async (ctx, args) => ctx.db.insert("tasks", args),
});

// A chain: each step schedules the next one until `steps` reaches 0.
export const chain = mutation({
  args: { steps: v.number() },
  handler: async (ctx, { steps }) => {
    await ctx.db.insert("tasks", { text: `step ${steps}` });
    if (steps > 0) await ctx.scheduler.runAfter(1000, internal.scheduling.chainStep, { steps: steps - 1 });
  },
});

export const chainStep = internalMutation({
  args: { steps: v.number() },
  handler: async (ctx, { steps }) => {
    await ctx.db.insert("tasks", { text: `step ${steps}` });
    if (steps > 0) await ctx.scheduler.runAfter(1000, internal.scheduling.chainStep, { steps: steps - 1 });
  },
});

export const forever = internalMutation({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.scheduling.forever, {});
  },
});

export const scheduleAndCancel = mutation({
  args: {},
  handler: async (ctx) => {
    const id = await ctx.scheduler.runAfter(0, internal.scheduling.saveTask, { text: "never", author: "x" });
    await ctx.scheduler.cancel(id);
    return id;
  },
});

export const fetchInAction = action({
  args: {},
  handler: async () => (await fetch("https://example.test/")).text(),
});

export const fetchInMutation = mutation({
  args: {},
  handler: async () => (await fetch("https://example.test/")).text(),
});

export const timerInMutation = mutation({
  args: {},
  handler: async () => {
    setTimeout(() => {}, 10);
    return "set";
  },
});

export const timerInAction = action({
  args: {},
  handler: async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return "waited";
  },
});
