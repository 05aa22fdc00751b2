// The app's own functions: they read Better Auth's tables directly, in their transaction.
import { ConvexError, v } from "convex/values";
import { getAuthUserId, getHeaders, getSession } from "better-auth-convex";
import { mutation, query } from "./_generated/server";
import { getAuth } from "./auth";

export const me = query({
  args: {},
  handler: async (ctx) => {
    const userId = await getAuthUserId(ctx);
    if (!userId) return null;
    const user = await ctx.db.get(ctx.db.normalizeId("user", userId)!);
    const session = await getSession(ctx);
    const organizationId = session?.activeOrganizationId
      ? ctx.db.normalizeId("organization", session.activeOrganizationId)
      : null;
    const organization = organizationId ? await ctx.db.get(organizationId) : null;
    const members = organizationId
      ? await ctx.db
          .query("member")
          .withIndex("organizationId_userId", (q) => q.eq("organizationId", organizationId))
          .collect()
      : [];
    const notes = await ctx.db
      .query("notes")
      .withIndex("userId", (q) => q.eq("userId", userId))
      .collect();
    return {
      user: user && { id: user._id, email: user.email, name: user.name, role: user.role ?? null },
      sessionId: session?._id ?? null,
      organization: organization && { id: organization._id, name: organization.name },
      members: members.map((m) => ({ userId: m.userId, role: m.role })),
      notes: notes.map((n) => n.text),
    };
  },
});

export const addNote = mutation({
  args: { text: v.string() },
  handler: async (ctx, { text }) => {
    const session = await getSession(ctx);
    if (!session) throw new ConvexError({ code: "UNAUTHENTICATED" });
    return ctx.db.insert("notes", {
      userId: session.userId,
      organizationId: session.activeOrganizationId ?? null,
      text,
    });
  },
});

// Better Auth itself, over ctx.db (better-auth-convex's direct adapter).
export const sessionViaQuery = query({
  args: {},
  handler: async (ctx) => {
    const auth = getAuth(ctx);
    const result = await auth.api.getSession({ headers: await getHeaders(ctx) });
    return result && { userId: result.user.id, sessionId: result.session.id };
  },
});

export const sessionViaMutation = mutation({
  args: {},
  handler: async (ctx) => {
    const auth = getAuth(ctx);
    const result = await auth.api.getSession({ headers: await getHeaders(ctx) });
    return result && { userId: result.user.id, sessionId: result.session.id };
  },
});
