// Better Auth's tables (generated into authSchema.ts) plus the app's own, in one schema.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { tables } from "./authSchema";

export default defineSchema({
  ...tables,
  // Without it the organization plugin scans member for (organizationId, userId).
  member: tables.member.index("organizationId_userId", ["organizationId", "userId"]),
  notes: defineTable({
    userId: v.string(),
    organizationId: v.optional(v.union(v.null(), v.string())),
    text: v.string(),
  }).index("userId", ["userId"]),
});
