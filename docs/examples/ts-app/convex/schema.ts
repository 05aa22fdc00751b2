import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({
    channel: v.string(),
    author: v.string(),
    body: v.string(),
  }).index("by_channel", ["channel"]),
  accounts: defineTable({
    owner: v.string(),
    balance: v.number(),
  }).index("by_owner", ["owner"]),
});
