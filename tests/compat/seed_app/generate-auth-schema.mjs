// Writes convex/authSchema.ts: Better Auth's tables for this app's options (the convex,
// admin and organization plugins, user.personalOrganizationId), as better-auth-convex's
// createSchema prints them. Offline; rerun after changing the options in convex/auth.ts:
//   node generate-auth-schema.mjs
import { writeFileSync } from "node:fs";
import { getAuthTables } from "better-auth/db";
import { admin, organization } from "better-auth/plugins";
import { convex } from "@convex-dev/better-auth/plugins";
import { createSchema } from "better-auth-convex";

const options = {
  user: { additionalFields: { personalOrganizationId: { type: "string", required: false, input: false } } },
  plugins: [
    convex({ authConfig: { providers: [{ applicationID: "convex", domain: "https://example.test" }] } }),
    admin(),
    organization(),
  ],
};
const { code } = await createSchema({ tables: getAuthTables(options), file: "convex/authSchema.ts" });
writeFileSync(new URL("./convex/authSchema.ts", import.meta.url), code);
