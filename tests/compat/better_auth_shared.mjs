// The Better Auth behaviour both implementations share, as the real better-auth@1.4.7 client
// and raw requests see it: sign-up, sign-in, get-session, sign-out, bearer tokens and the
// origin check. better_auth.test.mjs runs it on the native C++ Better Auth of the reference
// app, seed_app.test.mjs on the real library in the seed app.
import { test } from "node:test";
import assert from "node:assert/strict";
import { jwtPayload, newAuthClient as newClientFor } from "./auth_client.mjs";

const PASSWORD = "correct horse battery";
let counter = 0;

/**
 * Registers the shared tests (call at module level, after whatever sets the server up).
 * `bearer`: the backend answers with `set-auth-token` and takes `Authorization: Bearer`
 * sessions (Better Auth's bearer plugin; the native C++ one always does, the seed app has
 * no bearer plugin).
 * @param {{siteUrl: () => string, sessionSeconds: number, bearer: boolean}} backend
 */
export function registerSharedBetterAuthTests({ siteUrl, sessionSeconds, bearer }) {
  const uniqueEmail = (tag) => `${tag}-shared-${process.pid}-${++counter}@example.com`;
  const newAuthClient = () => newClientFor(siteUrl());
  async function signUp(name = "Ada Lovelace", email = uniqueEmail("ada")) {
    const { client, jar } = newAuthClient();
    const { data, error } = await client.signUp.email({ name, email, password: PASSWORD });
    assert.equal(error, null, JSON.stringify(error));
    return { client, jar, data, name, email };
  }
  // A raw request to /api/auth with explicit headers only (no jar).
  const rawAuth = (path, { method = "GET", headers = {}, body } = {}) =>
    fetch(`${siteUrl()}/api/auth${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test("sign up returns the user and a token, and sets the session cookie", async () => {
    const email = uniqueEmail("Ada.SignUp");
    const { client, jar } = newAuthClient();
    const { data, error } = await client.signUp.email({ name: "Ada Lovelace", email, password: PASSWORD });
    assert.equal(error, null);
    assert.match(data.token, /^[A-Za-z0-9]{32}$/);
    assert.equal(data.user.name, "Ada Lovelace");
    assert.equal(data.user.email, email.toLowerCase());
    assert.equal(data.user.emailVerified, false);
    assert.match(data.user.id, /^[0-9a-z]{31,37}$/);
    assert.equal(typeof data.user.createdAt, "number");
    assert.ok(Math.abs(data.user.createdAt - Date.now()) < 60_000, `createdAt ${data.user.createdAt}`);
    // better-auth stamps each with its own `new Date()` (db/internal-adapter), so the real
    // library's two may straddle a millisecond.
    assert.ok(Math.abs(data.user.updatedAt - data.user.createdAt) <= 2, `${data.user.updatedAt} vs ${data.user.createdAt}`);
    // The signed session cookie: "<token>.<base64 HMAC>", URL-encoded.
    const cookie = decodeURIComponent(jar.cookies.get("better-auth.session_token"));
    assert.ok(cookie.startsWith(`${data.token}.`), cookie);
    assert.equal(cookie.slice(data.token.length + 1).length, 44);
    const response = jar.responses.at(-1);
    assert.equal(response.headers.get("set-auth-token"), bearer ? jar.cookies.get("better-auth.session_token") : null);
    const sessionCookie = response.headers.getSetCookie().find((c) => c.startsWith("better-auth.session_token="));
    assert.match(sessionCookie, new RegExp(`; Max-Age=${sessionSeconds}; Path=/; HttpOnly; SameSite=Lax$`));
    assert.ok(jar.cookies.has("better-auth.convex_jwt"), "the convex plugin sets convex_jwt on sign-up");
  });

  test("sign in with the right password; wrong password and duplicate email fail", async () => {
    const { email, data: signedUp } = await signUp("Grace Hopper");
    const { client, jar } = newAuthClient();
    const ok = await client.signIn.email({ email: email.toUpperCase(), password: PASSWORD });
    assert.equal(ok.error, null, JSON.stringify(ok.error));
    assert.equal(ok.data.redirect, false);
    assert.match(ok.data.token, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(ok.data.token, signedUp.token);
    assert.equal(ok.data.user.id, signedUp.user.id);
    assert.equal(ok.data.user.email, email);
    assert.ok(decodeURIComponent(jar.cookies.get("better-auth.session_token")).startsWith(`${ok.data.token}.`));

    const wrong = await newAuthClient().client.signIn.email({ email, password: "not the password" });
    assert.equal(wrong.data, null);
    assert.equal(wrong.error.status, 401);
    assert.equal(wrong.error.code, "INVALID_EMAIL_OR_PASSWORD");
    assert.equal(wrong.error.message, "Invalid email or password");

    const nobody = await newAuthClient().client.signIn.email({ email: uniqueEmail("nobody"), password: PASSWORD });
    assert.equal(nobody.error.status, 401);
    assert.equal(nobody.error.code, "INVALID_EMAIL_OR_PASSWORD");

    const duplicate = await newAuthClient().client.signUp.email({ name: "Again", email: email.toUpperCase(), password: PASSWORD });
    assert.equal(duplicate.data, null);
    assert.equal(duplicate.error.status, 422);
    assert.equal(duplicate.error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    assert.equal(duplicate.error.message, "User already exists. Use another email.");
  });

  test("get-session returns {session, user} with session.token; sign-out ends it", async () => {
    const { client, jar, data: signedUp, name, email } = await signUp("Alan Turing");
    const { data, error } = await client.getSession();
    assert.equal(error, null);
    assert.deepEqual(Object.keys(data).sort(), ["session", "user"]);
    assert.equal(data.session.token, signedUp.token);
    assert.equal(data.session.userId, signedUp.user.id);
    assert.match(data.session.id, /^[0-9a-z]{31,37}$/);
    assert.equal(typeof data.session.expiresAt, "number");
    assert.ok(Math.abs(data.session.expiresAt - (Date.now() + sessionSeconds * 1000)) < 60_000, `expiresAt ${data.session.expiresAt}`);
    assert.equal(data.user.id, signedUp.user.id);
    assert.equal(data.user.name, name);
    assert.equal(data.user.email, email);

    const out = await client.signOut();
    assert.equal(out.error, null);
    assert.deepEqual(out.data, { success: true });
    assert.equal(jar.cookies.has("better-auth.session_token"), false, "sign-out clears the cookie");
    const after = await client.getSession();
    assert.equal(after.error, null);
    assert.equal(after.data, null);
    // The old signed cookie no longer names a session either.
    const stale = await rawAuth("/get-session", { headers: { authorization: `Bearer ${signedUp.token}` } });
    assert.equal(stale.status, 200);
    assert.equal(await stale.json(), null);
  });

  test("bearer-only requests (set-auth-token) work without Origin or cookies",
       { skip: !bearer && "no bearer plugin in this app" }, async () => {
    const { jar, data: signedUp } = await signUp("Bea Bearer");
    const bearer = jar.responses.at(-1).headers.get("set-auth-token");
    assert.ok(bearer, "sign-up sends set-auth-token");
    const response = await rawAuth("/get-session", { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.user.id, signedUp.user.id);
    assert.equal(body.session.token, signedUp.token);
    // The raw (unsigned) token is accepted too.
    const raw = await rawAuth("/get-session", { headers: { authorization: `Bearer ${signedUp.token}` } });
    assert.equal((await raw.json()).session.token, signedUp.token);
    const list = await rawAuth("/list-sessions", { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).length, 1);
    const token = await rawAuth("/convex/token", { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(token.status, 200);
    assert.equal(jwtPayload((await token.json()).token).sub, signedUp.user.id);
    // A POST with only the bearer header (no cookie, no Origin) skips the origin check.
    const signOut = await rawAuth("/sign-out", { method: "POST", headers: { authorization: `Bearer ${bearer}` }, body: {} });
    assert.equal(signOut.status, 200);
    assert.deepEqual(await signOut.json(), { success: true });
    const after = await rawAuth("/get-session", { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(await after.json(), null);
  });

  test("a cookie-carrying POST without Origin is refused with 403", async () => {
    const { jar } = await signUp("Olga Origin");
    const cookie = [...jar.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const noOrigin = await rawAuth("/sign-out", { method: "POST", headers: { cookie }, body: {} });
    assert.equal(noOrigin.status, 403);
    const evil = await rawAuth("/sign-out", { method: "POST", headers: { cookie, origin: "https://evil.example" }, body: {} });
    assert.equal(evil.status, 403);
    assert.equal((await evil.json()).code, "INVALID_ORIGIN");
    // The session survived both.
    const still = await rawAuth("/get-session", { headers: { cookie } });
    assert.notEqual(await still.json(), null);
  });
}
