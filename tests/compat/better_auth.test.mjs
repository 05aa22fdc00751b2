// Better Auth email+password on the site port (/api/auth/*), driven by the real
// better-auth@1.4.7 client (createAuthClient), and its Convex JWT used through the real
// convex@1.48.0 clients (ConvexHttpClient and ConvexClient) against the reference app.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { anyApi } from "convex/server";
import { convexToken, jwtPayload, newAuthClient as newClientFor } from "./auth_client.mjs";
import { registerSharedBetterAuthTests } from "./better_auth_shared.mjs";
import { startServer } from "./server.mjs";

const api = anyApi;
const PASSWORD = "correct horse battery";
let server;
let counter = 0;

before(async () => { server = await startServer(["--fast-password-hash"]); });
after(async () => { assert.equal(await server.stop(), 0); });

const uniqueEmail = (tag) => `${tag}-${process.pid}-${++counter}@example.com`;

async function waitFor(predicate, what, timeoutMs = 5000) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function newAuthClient() {
  return newClientFor(server.siteUrl);
}

async function signUp(name = "Ada Lovelace", email = uniqueEmail("ada")) {
  const { client, jar } = newAuthClient();
  const { data, error } = await client.signUp.email({ name, email, password: PASSWORD });
  assert.equal(error, null, JSON.stringify(error));
  return { client, jar, data, name, email };
}

// A raw request to /api/auth with explicit headers only (no jar).
function rawAuth(path, { method = "GET", headers = {}, body } = {}) {
  return fetch(`${server.siteUrl}/api/auth${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// The parts both Better Auth implementations share (better_auth_shared.mjs).
registerSharedBetterAuthTests({ siteUrl: () => server.siteUrl, sessionSeconds: 7 * 24 * 3600, bearer: true });

test("the Convex token gives me:whoami and me:organization through ConvexHttpClient", async () => {
  const { client, data: signedUp, name, email } = await signUp("Katherine Johnson");
  const { data: session } = await client.getSession();
  const token = await convexToken(client);
  const claims = jwtPayload(token);
  assert.equal(claims.sub, signedUp.user.id);
  assert.equal(claims.iss, server.siteUrl);
  assert.equal(claims.aud, "convex");
  assert.equal(claims.exp - claims.iat, 900);
  const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
  assert.equal(header.alg, "RS256");
  const jwks = await (await rawAuth("/convex/jwks")).json();
  assert.ok(jwks.keys.some((k) => k.kid === header.kid), "the token's kid is in /convex/jwks");

  // HTTP actions see the same identity through Authorization: Bearer; a forged or
  // non-JWT bearer value leaves them unauthenticated.
  const httpMe = async (authorization) =>
    (await fetch(`${server.siteUrl}/me`, { headers: authorization ? { authorization } : {} })).json();
  assert.equal((await httpMe(`Bearer ${token}`)).subject, signedUp.user.id);
  assert.equal((await fetch(`${server.url}/http/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())).subject,
               signedUp.user.id);
  assert.equal(await httpMe(), null);
  const [h, p] = token.split(".");
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: "someone-else" })).toString("base64url");
  assert.equal(await httpMe(`Bearer ${h}.${forged}.${token.split(".")[2]}`), null);
  assert.equal(await httpMe(`Bearer ${signedUp.token}`), null);
  void p;

  const convex = new ConvexHttpClient(server.url);
  assert.equal(await convex.query(api.me.whoami, {}), null);
  assert.equal(await convex.query(api.me.organization, {}), null);
  convex.setAuth(token);
  const me = await convex.query(api.me.whoami, {});
  assert.equal(me.subject, signedUp.user.id);
  assert.equal(me.sessionId, session.session.id);
  assert.equal(me.issuer, server.siteUrl);
  assert.equal(me.name, name);
  assert.equal(me.email, email);
  assert.equal(me.tokenIdentifier, `${server.siteUrl}|${signedUp.user.id}`);

  const sessionDoc = await convex.query(api.me.session, {});
  assert.equal(sessionDoc._id ?? sessionDoc.id, session.session.id);
  assert.equal(sessionDoc.userId, signedUp.user.id);
  assert.equal(sessionDoc.token, signedUp.token);

  const org = await convex.query(api.me.organization, {});
  assert.equal(org.name, `${name}'s Workspace`);
  assert.equal(org.slug, `personal-${signedUp.user.id}`);
  assert.equal(org._id, sessionDoc.activeOrganizationId);
});

test("ConvexClient (WebSocket) subscriptions see the Better Auth identity", async () => {
  const { client, data: signedUp } = await signUp("Dorothy Vaughan");
  const { data: session } = await client.getSession();
  const convex = new ConvexClient(server.url);
  try {
    let authenticated = null;
    let fetches = 0;
    convex.setAuth(async () => { fetches++; return await convexToken(client); }, (ok) => { authenticated = ok; });
    const seen = [];
    convex.onUpdate(api.me.whoami, {}, (v) => seen.push(v));
    await waitFor(() => seen.at(-1)?.subject === signedUp.user.id, `the identity (seen ${JSON.stringify(seen)})`);
    assert.equal(seen.at(-1).sessionId, session.session.id);
    assert.equal(authenticated, true);
    assert.ok(fetches >= 1);
    const orgs = [];
    convex.onUpdate(api.me.organization, {}, (v) => orgs.push(v));
    await waitFor(() => orgs.length >= 1, "the organization");
    assert.equal(orgs.at(-1).slug, `personal-${signedUp.user.id}`);
  } finally {
    await convex.close();
  }
});

test("a session revoked from another session of the same user is rejected everywhere", async () => {
  const { client: first, data: signedUp, email } = await signUp("Mary Jackson");
  const { data: firstSession } = await first.getSession();
  const oldJwt = await convexToken(first);
  const { client: second, jar: secondJar } = newAuthClient();
  const signIn = await second.signIn.email({ email, password: PASSWORD });
  assert.equal(signIn.error, null);

  const listed = await second.listSessions();
  assert.equal(listed.error, null);
  assert.equal(listed.data.length, 2);
  assert.deepEqual(listed.data.map((s) => s.id).sort(),
                   [firstSession.session.id, (await second.getSession()).data.session.id].sort());

  const before = new ConvexHttpClient(server.url);
  before.setAuth(oldJwt);
  assert.equal((await before.query(api.me.session, {}))?.userId, signedUp.user.id);

  const revoked = await second.revokeSession({ token: signedUp.token });
  assert.equal(revoked.error, null, JSON.stringify(revoked.error));
  assert.deepEqual(revoked.data, { status: true });

  // The revoked session is gone for the first client...
  const gone = await first.getSession();
  assert.equal(gone.error, null);
  assert.equal(gone.data, null);
  const raw = await rawAuth("/get-session", { headers: { authorization: `Bearer ${signedUp.token}` } });
  assert.equal(await raw.json(), null);
  const tokenResponse = await rawAuth("/convex/token", { headers: { authorization: `Bearer ${signedUp.token}` } });
  assert.equal(tokenResponse.status, 401);
  const viaClient = await first.$fetch("/convex/token");
  assert.equal(viaClient.data, null);
  assert.equal(viaClient.error.status, 401);
  // ...and its still-unexpired JWT no longer finds a session in Convex.
  const afterRevoke = new ConvexHttpClient(server.url);
  afterRevoke.setAuth(oldJwt);
  assert.equal(await afterRevoke.query(api.me.session, {}), null);
  // The revoking session is unaffected.
  const kept = await second.getSession();
  assert.equal(kept.data.user.id, signedUp.user.id);
  assert.equal((await second.listSessions()).data.length, 1);
  assert.ok(secondJar.cookies.has("better-auth.session_token"));
});

test("revoke-session with someone else's token does nothing", async () => {
  const victim = await signUp("Victor Victim");
  const attacker = await signUp("Mallory");
  const res = await attacker.client.revokeSession({ token: victim.data.token });
  assert.deepEqual(res.data, { status: true });
  const still = await victim.client.getSession();
  assert.equal(still.data?.session.token, victim.data.token);
});

test("messages:send without auth is a ConvexError UNAUTHENTICATED", async () => {
  const convex = new ConvexHttpClient(server.url);
  const error = await convex.mutation(api.messages.send, { channel: "anon", body: "hi" }).then(
    () => assert.fail("messages:send without auth succeeded"), (e) => e);
  assert.ok(error instanceof ConvexError, `${error}`);
  assert.deepEqual(error.data, { code: "UNAUTHENTICATED" });
  const page = await convex.query(api.messages.list, { channel: "anon", paginationOpts: { numItems: 10, cursor: null } });
  assert.deepEqual(page.page, []);
  assert.equal(page.isDone, true);
});

test("25 authenticated messages page through messages:list newest first", async () => {
  const { client, data: signedUp } = await signUp("Paige Nator");
  const convex = new ConvexHttpClient(server.url);
  convex.setAuth(await convexToken(client));
  const channel = `paging-${process.pid}`;
  const ids = [];
  for (let i = 0; i < 25; i++) ids.push(await convex.mutation(api.messages.send, { channel, body: `message ${i}` }));
  assert.equal(new Set(ids).size, 25);
  await convex.mutation(api.messages.send, { channel: `${channel}-other`, body: "elsewhere" });

  const reader = new ConvexHttpClient(server.url);  // listing needs no auth
  const pages = [];
  let cursor = null;
  for (;;) {
    const result = await reader.query(api.messages.list, { channel, paginationOpts: { numItems: 10, cursor } });
    pages.push(result);
    assert.equal(typeof result.continueCursor, "string");
    if (result.isDone) break;
    assert.ok(pages.length < 10, "pagination does not end");
    cursor = result.continueCursor;
  }
  assert.deepEqual(pages.map((p) => p.page.length), [10, 10, 5]);
  assert.deepEqual(pages.map((p) => p.isDone), [false, false, true]);
  const all = pages.flatMap((p) => p.page);
  assert.deepEqual(all.map((m) => m.body), Array.from({ length: 25 }, (_, i) => `message ${24 - i}`));
  assert.deepEqual(all.map((m) => m._id), [...ids].reverse());
  for (const m of all) {
    assert.equal(m.channel, channel);
    assert.equal(m.author, signedUp.user.id);
  }
});
