// better-auth-convex's local install (its README), with the four triggers of
// ../shared/docs/seed-app.md: a personal organization per user, removed with the user, and
// the session's active organization.
import { betterAuth, type BetterAuthOptions } from "better-auth";
import { convex } from "@convex-dev/better-auth/plugins";
import type { GenericCtx } from "@convex-dev/better-auth";
import { admin, organization } from "better-auth/plugins";
import { type AuthFunctions, createApi, createClient } from "better-auth-convex";
import { internal } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import authConfig from "./auth.config";
import schema from "./schema";

const authFunctions: AuthFunctions = internal.auth;

export const authClient = createClient<DataModel, typeof schema>({
  authFunctions,
  schema,
  triggers: {
    user: {
      beforeCreate: async (_ctx, data) => ({
        ...data,
        email: data.email.trim().toLowerCase(),
        name: data.name.trim(),
      }),
      onCreate: async (ctx, user) => {
        if (user.name === "Throw In Trigger") throw new Error("onCreate refused this user");
        const organizationId = await ctx.db.insert("organization", {
          name: `${user.name}'s Workspace`,
          slug: `personal-${user._id}`,
          createdAt: Date.now(),
        });
        await ctx.db.insert("member", {
          organizationId,
          userId: user._id,
          role: "owner",
          createdAt: Date.now(),
        });
        await ctx.db.patch(user._id, { personalOrganizationId: organizationId });
      },
      beforeDelete: async (ctx, user) => {
        if (user.personalOrganizationId) {
          const organizationId = ctx.db.normalizeId("organization", user.personalOrganizationId);
          if (organizationId) {
            const members = await ctx.db
              .query("member")
              .withIndex("organizationId", (q) => q.eq("organizationId", organizationId))
              .collect();
            for (const m of members) await ctx.db.delete(m._id);
            await ctx.db.delete(organizationId);
          }
        }
        return user;
      },
    },
    session: {
      onCreate: async (ctx, session) => {
        if (!session.activeOrganizationId) {
          const user = await ctx.db.get(session.userId as DataModel["user"]["document"]["_id"]);
          if (user?.personalOrganizationId) {
            await ctx.db.patch(session._id, { activeOrganizationId: user.personalOrganizationId });
          }
        }
      },
    },
  },
});

export const createAuthOptions = (ctx: GenericCtx<DataModel>) =>
  ({
    baseURL: process.env.SITE_URL!,
    user: {
      additionalFields: { personalOrganizationId: { type: "string", required: false, input: false } },
    },
    emailAndPassword: { enabled: true },
    plugins: [convex({ authConfig, jwks: process.env.JWKS }), admin(), organization()],
    session: {
      expiresIn: 60 * 60 * 24 * 30,
      updateAge: 60 * 60 * 24 * 15,
    },
    database: authClient.httpAdapter(ctx),
  }) satisfies BetterAuthOptions;

export const createAuth = (ctx: GenericCtx<DataModel>) => betterAuth(createAuthOptions(ctx));

// In queries and mutations: Better Auth over ctx.db directly.
export const getAuth = <Ctx extends QueryCtx | MutationCtx>(ctx: Ctx) =>
  betterAuth({
    ...createAuthOptions({} as any),
    database: authClient.adapter(ctx, createAuthOptions),
  });

export const { beforeCreate, beforeDelete, beforeUpdate, onCreate, onDelete, onUpdate } =
  authClient.triggersApi();

export const {
  create,
  deleteMany,
  deleteOne,
  findMany,
  findOne,
  updateMany,
  updateOne,
  getLatestJwks,
  rotateKeys,
} = createApi(schema, createAuth, { skipValidation: true });
