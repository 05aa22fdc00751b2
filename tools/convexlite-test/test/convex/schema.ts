import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ author: v.string(), body: v.string() }).index("by_author", ["author"]),
  tasks: defineTable({ text: v.string(), author: v.optional(v.string()) }),
  posts: defineTable({ title: v.string(), author: v.string() }),
  notes: defineTable({ text: v.string(), owner: v.string() }).index("by_owner", ["owner"]),
  blobs: defineTable({ data: v.string() }),
  accounts: defineTable({ owner: v.string(), balance: v.number() }).index("by_owner", ["owner"]),
});
