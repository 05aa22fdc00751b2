// The better-auth-convex app of ../shared/docs/seed-app.md (tests/compat/seed_app, pinned
// better-auth-convex 0.5.1, @convex-dev/better-auth 0.10.5, better-auth 1.4.7) pushed
// unmodified with the real CLI and driven by the real better-auth client (with its
// organization and admin plugins) and the real convex clients: the user's deploy order,
// sign-up with its triggers, sessions, tokens, organizations, admin, getAuth(ctx), and key
// rotation through the JWKS env var.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminClient, organizationClient } from "better-auth/client/plugins";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { convexToken, jwtPayload, newAuthClient } from "./auth_client.mjs";
import { registerSharedBetterAuthTests } from "./better_auth_shared.mjs";
import { ADMIN_KEY, startServer } from "./server.mjs";
import { deploy, makeSeedProject, npx, removeProjects } from "./ts_project.mjs";

const api = anyApi;
const PASSWORD = "correct horse battery";
// First deploy: keys from the app's own /api/auth/convex/jwks (JWKS is not set yet).
const AUTH_CONFIG_WITHOUT_JWKS = `import { getAuthConfigProvider } from "@convex-dev/better-auth/auth-config";
import type { AuthConfig } from "convex/server";
export default { providers: [getAuthConfigProvider()] } satisfies AuthConfig;
`;
let server;
let project;
let seedAuthConfig;
let counter = 0;

const uniqueEmail = (tag) => `${tag}-${process.pid}-${++counter}@example.com`;
const client = () => newAuthClient(server.siteUrl, [organizationClient(), adminClient()]);
const run = (fn, args = {}) => {
  const r = npx(server, project, "run", fn, JSON.stringify(args));
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const envSet = (name, value) => {
  const r = npx(server, project, "env", "set", name, value);
  assert.equal(r.status, 0, r.stderr);
};
const adminHttp = () => {
  const http = new ConvexHttpClient(server.url);
  http.setAdminAuth(ADMIN_KEY);
  return http;
};

async function signUp(name = "Ada Lovelace", email = uniqueEmail("ada")) {
  const c = client();
  const { data, error } = await c.client.signUp.email({ name, email, password: PASSWORD });
  assert.equal(error, null, JSON.stringify(error));
  return { ...c, data, email };
}

async function authedHttp(authClient) {
  const http = new ConvexHttpClient(server.url);
  http.setAuth(await convexToken(authClient));
  return http;
}

before(async () => {
  server = await startServer(["--empty"]);
  project = makeSeedProject();
  seedAuthConfig = join(project, "convex", "auth.config.ts");
});

after(async () => {
  assert.equal(await server.stop(), 0);
  removeProjects();
});

test("the user's deploy order: env vars, the seed's auth.config is refused until JWKS is set, then a deploy without it", async () => {
  envSet("SITE_URL", server.siteUrl);
  envSet("BETTER_AUTH_SECRET", "seed-app-secret-of-at-least-32-characters");
  const refused = deploy(server, project);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Environment variable JWKS is used in auth config file but its value was not set/);
  writeFileSync(seedAuthConfig, AUTH_CONFIG_WITHOUT_JWKS);
  const deployed = deploy(server, project);
  assert.equal(deployed.status, 0, deployed.stderr);
});

// The behaviour the native C++ Better Auth shows in better_auth.test.mjs, on the real library
// (the seed sets sessions to 30 days).
registerSharedBetterAuthTests({ siteUrl: () => server.siteUrl, sessionSeconds: 30 * 24 * 3600, bearer: false });

test("sign-up runs the triggers in the writes' transactions: personal organization, owner, active organization", async () => {
  const { client: c, data, email } = await signUp("  Ada Lovelace ", uniqueEmail("Ada.Trigger"));
  assert.equal(data.user.email, email.toLowerCase());
  assert.equal(data.user.name, "Ada Lovelace");  // user.beforeCreate normalized it
  const { data: session } = await c.getSession();
  assert.ok(session.user.personalOrganizationId, "user.onCreate set personalOrganizationId");
  assert.equal(session.session.activeOrganizationId, session.user.personalOrganizationId,
               "session.onCreate set the active organization");
  const me = await (await authedHttp(c)).query(api.app.me, {});
  assert.equal(me.user.id, data.user.id);
  assert.equal(me.organization.id, session.user.personalOrganizationId);
  assert.equal(me.organization.name, "Ada Lovelace's Workspace");
  assert.deepEqual(me.members, [{ userId: data.user.id, role: "owner" }]);
});

test("a trigger that throws leaves no user row", async () => {
  const email = uniqueEmail("thrower");
  const c = client();
  const { error } = await c.client.signUp.email({ name: "Throw In Trigger", email, password: PASSWORD });
  assert.notEqual(error, null);
  const signIn = await client().client.signIn.email({ email, password: PASSWORD });
  assert.equal(signIn.error?.code, "INVALID_EMAIL_OR_PASSWORD");
  await signUp("Not A Thrower", email);  // the email is free: nothing of the failed sign-up stayed
});

test("sign-in, wrong password, get-session, sign-out", async () => {
  const { email } = await signUp();
  const c = client();
  const wrong = await c.client.signIn.email({ email, password: "not the password" });
  assert.equal(wrong.error?.status, 401);
  assert.equal(wrong.error?.code, "INVALID_EMAIL_OR_PASSWORD");
  const { data, error } = await c.client.signIn.email({ email, password: PASSWORD });
  assert.equal(error, null, JSON.stringify(error));
  assert.equal(data.user.email, email);
  const { data: session } = await c.client.getSession();
  assert.equal(session.user.id, data.user.id);
  assert.equal((await c.client.signOut()).error, null);
  assert.equal((await c.client.getSession()).data, null);
});

test("the Convex token, the JWKS route and the well-known redirect", async () => {
  const { client: c, data } = await signUp();
  const token = await convexToken(c);
  const claims = jwtPayload(token);
  assert.equal(claims.sub, data.user.id);
  assert.equal(claims.iss, server.siteUrl);
  assert.equal(claims.aud, "convex");
  assert.ok(claims.sessionId);
  const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
  assert.equal(header.alg, "RS256");
  const jwks = await (await fetch(`${server.siteUrl}/api/auth/convex/jwks`)).json();
  assert.ok(jwks.keys.some((k) => k.kid === header.kid));
  const wellKnown = await fetch(`${server.siteUrl}/.well-known/openid-configuration`, { redirect: "manual" });
  assert.equal(wellKnown.status, 302);
  assert.equal(wellKnown.headers.get("location"), `${server.siteUrl}/api/auth/convex/.well-known/openid-configuration`);
});

test("ConvexHttpClient and ConvexClient with the token see the user; a subscription updates; no token is refused", async () => {
  const { client: c, data } = await signUp();
  const http = await authedHttp(c);
  const ws = new ConvexClient(server.url);
  try {
    ws.setAuth(async () => convexToken(c));
    const seen = [];
    const unsubscribe = ws.onUpdate(api.app.me, {}, (me) => seen.push(me));
    const waitFor = async (predicate) => {
      const deadline = Date.now() + 5000;
      while (!seen.some(predicate)) {
        assert.ok(Date.now() < deadline, `no update: ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor((me) => me?.user?.id === data.user.id);
    await http.mutation(api.app.addNote, { text: "first note" });
    await waitFor((me) => me?.notes?.includes("first note"));
    unsubscribe();
  } finally {
    await ws.close();
  }
  const anonymous = new ConvexHttpClient(server.url);
  assert.equal(await anonymous.query(api.app.me, {}), null);
  await assert.rejects(anonymous.mutation(api.app.addNote, { text: "x" }), (e) => e.data?.code === "UNAUTHENTICATED");
});

test("getAuth(ctx) in a query and a mutation reads the session through ctx.db", async () => {
  const { client: c, data } = await signUp();
  const http = await authedHttp(c);
  const viaQuery = await http.query(api.app.sessionViaQuery, {});
  const viaMutation = await http.mutation(api.app.sessionViaMutation, {});
  assert.equal(viaQuery.userId, data.user.id);
  assert.deepEqual(viaMutation, viaQuery);
});

test("JWKS in the env: getLatestJwks | env set JWKS, the seed's auth.config; both phases' tokens verify; rotation rejects old ones", async () => {
  const { client: c } = await signUp();
  const before = await convexToken(c);
  envSet("JWKS", run("auth:getLatestJwks"));
  writeFileSync(seedAuthConfig, `import { getAuthConfigProvider } from "@convex-dev/better-auth/auth-config";
import type { AuthConfig } from "convex/server";
export default { providers: [getAuthConfigProvider({ jwks: process.env.JWKS })] } satisfies AuthConfig;
`);
  const deployed = deploy(server, project);
  assert.equal(deployed.status, 0, deployed.stderr);
  const withOld = new ConvexHttpClient(server.url);
  withOld.setAuth(before);
  assert.ok((await withOld.query(api.app.me, {}))?.user);
  const after = await convexToken(c);
  const withNew = new ConvexHttpClient(server.url);
  withNew.setAuth(after);
  assert.ok((await withNew.query(api.app.me, {}))?.user);
  // Rotation: new keys in the env (no push); tokens of the old key are refused.
  envSet("JWKS", run("auth:rotateKeys"));
  await assert.rejects(withNew.query(api.app.me, {}), /no key in the JWKS matches the token's kid/);
  const rotated = new ConvexHttpClient(server.url);
  rotated.setAuth(await convexToken(c));  // the session still stands; its new token verifies
  assert.ok((await rotated.query(api.app.me, {}))?.user);
});

test("organization: create, list, set-active, get-full-organization, invite and accept, remove-member", async () => {
  const owner = await signUp("Olive Owner");
  const org = owner.client.organization;
  const slug = `acme-${process.pid}-${++counter}`;
  const created = await org.create({ name: "Acme", slug });
  assert.equal(created.error, null, JSON.stringify(created.error));
  const organizationId = created.data.id;
  const listed = await org.list();
  assert.deepEqual(listed.data.map((o) => o.name).sort(), ["Acme", "Olive Owner's Workspace"]);
  assert.equal((await org.setActive({ organizationId })).error, null);
  const me = await (await authedHttp(owner.client)).query(api.app.me, {});
  assert.equal(me.organization.id, organizationId);

  const bobEmail = uniqueEmail("bob");
  const invited = await org.inviteMember({ email: bobEmail, role: "member", organizationId });
  assert.equal(invited.error, null, JSON.stringify(invited.error));
  const bob = await signUp("Bob Invitee", bobEmail);
  const accepted = await bob.client.organization.acceptInvitation({ invitationId: invited.data.id });
  assert.equal(accepted.error, null, JSON.stringify(accepted.error));
  const full = await org.getFullOrganization({ query: { organizationId } });
  assert.deepEqual(full.data.members.map((m) => [m.user.email, m.role]).sort(),
                   [[bobEmail, "member"], [owner.email, "owner"]].sort());
  const removed = await org.removeMember({ memberIdOrEmail: bobEmail, organizationId });
  assert.equal(removed.error, null, JSON.stringify(removed.error));
  const after = await org.getFullOrganization({ query: { organizationId } });
  assert.deepEqual(after.data.members.map((m) => m.user.email), [owner.email]);
});

test("admin: list-users, set-role, ban and unban, sessions, impersonation, remove-user with its beforeDelete trigger", async () => {
  const boss = await signUp("Ada Admin");
  await adminHttp().mutation(api.auth.updateOne, {
    input: { model: "user", where: [{ field: "email", value: boss.email }], update: { role: "admin" } },
  });
  const admin = boss.client.admin;
  const target = await signUp("Tom Target");
  const targetId = target.data.user.id;

  const users = await admin.listUsers({ query: { limit: 100 } });
  assert.equal(users.error, null, JSON.stringify(users.error));
  assert.ok(users.data.users.some((u) => u.id === targetId));
  assert.ok(users.data.total >= 2);

  assert.equal((await admin.setRole({ userId: targetId, role: "admin" })).data.user.role, "admin");
  assert.equal((await admin.setRole({ userId: targetId, role: "user" })).data.user.role, "user");

  assert.equal((await admin.banUser({ userId: targetId, banReason: "spam" })).error, null);
  const banned = await client().client.signIn.email({ email: target.email, password: PASSWORD });
  assert.equal(banned.error?.code, "BANNED_USER");
  assert.equal((await admin.unbanUser({ userId: targetId })).error, null);
  const back = client();
  assert.equal((await back.client.signIn.email({ email: target.email, password: PASSWORD })).error, null);

  const sessions = await admin.listUserSessions({ userId: targetId });
  assert.ok(sessions.data.sessions.length >= 1);
  for (const s of sessions.data.sessions) {
    assert.equal((await admin.revokeUserSession({ sessionToken: s.token })).error, null);
  }
  assert.equal((await back.client.getSession()).data, null);

  const impersonating = await admin.impersonateUser({ userId: targetId });
  assert.equal(impersonating.error, null, JSON.stringify(impersonating.error));
  const asTarget = (await boss.client.getSession()).data;
  assert.equal(asTarget.user.id, targetId);
  assert.equal(asTarget.session.impersonatedBy, boss.data.user.id);
  assert.equal((await admin.stopImpersonating()).error, null);
  assert.equal((await boss.client.getSession()).data.user.id, boss.data.user.id);

  const personal = target.data.user.personalOrganizationId
    ?? (await target.client.getSession()).data?.user.personalOrganizationId;
  assert.equal((await admin.removeUser({ userId: targetId })).error, null);
  const http = adminHttp();
  assert.equal(await http.query(api.auth.findOne, { model: "user", where: [{ field: "email", value: target.email }] }), null);
  assert.equal(await http.query(api.auth.findOne, { model: "organization", where: [{ field: "slug", value: `personal-${targetId}` }] }), null,
               `the beforeDelete trigger removes the personal organization ${personal}`);
});

test("the seed's count loop over more than 200 rows times out with Convex's error; the server keeps answering", async () => {
  // better-auth-convex 0.5.1 pages count() 200 rows at a time and, past 200, asks for
  // pages of 0 forever (seed-app.md). On a second server with a 2 s action limit.
  const other = await startServer(["--empty", "--durability", "memory", "--action-time-limit", "2"]);
  const saved = server;
  server = other;
  try {
    const p = makeSeedProject();
    const cli = (...args) => {
      const r = npx(other, p, ...args);
      assert.equal(r.status, 0, r.stderr);
    };
    cli("env", "set", "SITE_URL", other.siteUrl);
    cli("env", "set", "BETTER_AUTH_SECRET", "seed-app-secret-of-at-least-32-characters");
    writeFileSync(join(p, "convex", "auth.config.ts"), AUTH_CONFIG_WITHOUT_JWKS);
    cli("deploy", "--typecheck", "disable");
    const now = Date.now();
    const rows = Array.from({ length: 201 }, (_, i) => JSON.stringify({
      name: `Bulk ${i}`, email: `bulk${i}@example.com`, emailVerified: false, createdAt: now, updatedAt: now, role: "user",
    }));
    writeFileSync(join(p, "users.jsonl"), rows.join("\n") + "\n");
    cli("import", "--table", "user", "users.jsonl", "--append", "-y");
    const boss = await signUp("Ada Admin");
    await adminHttp().mutation(api.auth.updateOne, {
      input: { model: "user", where: [{ field: "email", value: boss.email }], update: { role: "admin" } },
    });
    const started = Date.now();
    const listing = boss.client.admin.listUsers({ query: { limit: 10 } });
    await new Promise((r) => setTimeout(r, 200));
    const meanwhile = await boss.client.getSession();  // served while the loop spins
    assert.equal(meanwhile.data?.user.email, boss.email);
    assert.ok(Date.now() - started < 1500, "get-session waited for the loop");
    const { error } = await listing;
    assert.equal(error?.status, 500);
    assert.match(error.code, /Function execution timed out \(maximum duration: 2s\)/);
    assert.equal((await boss.client.getSession()).data?.user.email, boss.email);
  } finally {
    server = saved;
    assert.equal(await other.stop(), 0);
  }
});
