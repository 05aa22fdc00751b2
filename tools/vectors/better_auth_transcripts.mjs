#!/usr/bin/env node
// better_auth_transcripts.mjs — record golden HTTP transcripts from the REAL
// better-auth@1.4.7 server (email+password, admin + organization plugins,
// memory adapter) by calling auth.handler(new Request(...)) in-process.
// No network, no C++ build.
//
// How to run (Node >= 20):
//   mkdir -p /tmp/batrans && cd /tmp/batrans
//   npm init -y && npm install better-auth@1.4.7
//   cd /tmp/batrans && env -u NODE_ENV node /work/main/tools/vectors/better_auth_transcripts.mjs \
//       [out.md] [out.json]
// Defaults: out.md   = /work/main/docs/design/better-auth-transcripts.md
//           out.json = /tmp/batrans/better-auth-transcripts.raw.json
// better-auth is resolved from the CURRENT WORKING DIRECTORY (or $BA_DIR), so
// run it from the directory where better-auth@1.4.7 is installed.
//
// NODE_ENV must NOT be "test"/"development": in those modes better-auth's
// getIp() always returns 127.0.0.1 instead of reading x-forwarded-for.
//
// Time is faked: globalThis.Date is replaced by a subclass whose "now" is a
// controlled clock starting at 2025-01-01T00:00:00.000Z and advancing 11 s per
// request (so the 3-per-10s sign-in/sign-up rate limit never trips except in
// the dedicated rate-limit case, which advances 100 ms per request).
// Random values (ids, session tokens, password salts) are NOT replaced: the
// markdown shows the raw transcript verbatim.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";

// ---------------------------------------------------------------- fake clock
const OrigDate = Date;
const clock = { now: OrigDate.UTC(2025, 0, 1, 0, 0, 0, 0), step: 11_000 };
class FakeDate extends OrigDate {
  constructor(...args) {
    if (args.length === 0) super(clock.now);
    else super(...args);
  }
  static now() { return clock.now; }
  static [Symbol.hasInstance](x) { return x instanceof OrigDate; }
}
globalThis.Date = FakeDate;

// --------------------------------------------------------- load better-auth
const baDir = process.env.BA_DIR || process.cwd();
const req = createRequire(path.join(baDir, "package.json"));
const imp = (spec) => import(pathToFileURL(req.resolve(spec)).href);
const { betterAuth } = await imp("better-auth");
const { memoryAdapter } = await imp("better-auth/adapters/memory");
const { admin, organization, bearer } = await imp("better-auth/plugins");
const baVersion = JSON.parse(fs.readFileSync(req.resolve("better-auth").replace(/dist\/.*$/, "package.json"), "utf8")).version;

const BASE = "http://127.0.0.1:3211";
const SECRET = "better-auth-secret-123456789012345678901234567890";

function newDb() {
  return { user: [], session: [], account: [], verification: [], organization: [], member: [], invitation: [] };
}

function makeAuth({ withBearer = false, adapterWrap = null, db = newDb(), baseURL = BASE } = {}) {
  let adapter = memoryAdapter(db);
  if (adapterWrap) adapter = adapterWrap(adapter);
  const plugins = [admin(), organization()];
  if (withBearer) plugins.push(bearer());
  const auth = betterAuth({
    baseURL,
    secret: SECRET,
    database: adapter,
    emailAndPassword: { enabled: true },
    plugins,
    rateLimit: { enabled: true },
    trustedOrigins: ["http://localhost:3000"],
    logger: { disabled: true },
  });
  return { auth, db };
}

// ------------------------------------------------------------- recording
const records = [];
let currentSection = null;
const sections = [];

function section(id, title, note = "") {
  currentSection = { id, title, note, items: [] };
  sections.push(currentSection);
}

const STD_HEADERS = {
  "x-forwarded-for": "1.2.3.4",
  "user-agent": "ua-test",
  "content-type": "application/json",
  origin: "http://localhost:3000",
};

/**
 * call(auth, label, method, pathAndQuery, {headers, body, raw, omit})
 *  headers: extra/override headers (value null removes a default header)
 *  body: object (JSON-encoded) or string (sent verbatim) or undefined
 */
async function call(auth, label, method, p, opts = {}) {
  const hdrs = { ...STD_HEADERS };
  if (method === "GET" || method === "HEAD") delete hdrs["content-type"];
  for (const [k, v] of Object.entries(opts.headers || {})) {
    if (v === null) delete hdrs[k];
    else hdrs[k] = v;
  }
  let bodyText;
  if (opts.body !== undefined) bodyText = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const requestHeaders = Object.entries(hdrs);
  const init = { method, headers: new Headers(requestHeaders) };
  // opts.bytes: send the body as a Uint8Array so undici does NOT add its
  // default "content-type: text/plain;charset=UTF-8" (a real client that
  // omits Content-Type).
  if (bodyText !== undefined) init.body = opts.bytes ? new TextEncoder().encode(bodyText) : bodyText;
  const nowIso = new OrigDate(clock.now).toISOString();
  const res = await auth.handler(new Request(BASE + p, init));
  const setCookie = res.headers.getSetCookie();
  const headers = [];
  for (const [k, v] of res.headers) if (k !== "set-cookie") headers.push([k, v]);
  const text = await res.text();
  const rec = {
    section: currentSection?.id,
    label,
    clock: nowIso,
    request: { method, url: BASE + p, path: p, headers: requestHeaders, body: bodyText ?? null },
    response: { status: res.status, statusText: res.statusText, setCookie, headers, body: text },
  };
  records.push(rec);
  currentSection?.items.push(rec);
  clock.now += clock.step;
  return { res, text, json: safeJson(text), setCookie, rec };
}

function safeJson(t) { try { return JSON.parse(t); } catch { return undefined; } }

/** Extract "name=value" of the session_token cookie from Set-Cookie lines. */
function sessionCookie(setCookie) {
  const line = setCookie.find((l) => l.startsWith("better-auth.session_token="));
  return line ? line.split(";")[0] : null;
}
function cookieHeader(setCookie) {
  // all non-cleared cookies, as a browser would send them
  return setCookie
    .filter((l) => !/Max-Age=0(;|$)/.test(l))
    .map((l) => l.split(";")[0])
    .join("; ");
}

// ===================================================================== cases
const A = makeAuth();
const auth = A.auth;

// ---- 1
section("1", "Sign-up (success)");
const su = await call(auth, "sign-up Ada", "POST", "/api/auth/sign-up/email", {
  body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
});
const signupCookie = sessionCookie(su.setCookie);

// ---- 2
section("2", "Sign-up duplicate");
await call(auth, "sign-up Ada again (same body)", "POST", "/api/auth/sign-up/email", {
  body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
});
await call(auth, "sign-up duplicate, different case email", "POST", "/api/auth/sign-up/email", {
  body: { name: "Ada", email: "ada@example.com", password: "password123" },
});

// ---- 3
section("3", "Sign-up validation errors");
await call(auth, "password too short", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "bob@example.com", password: "short" },
});
await call(auth, "password too long (129 chars)", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "bob@example.com", password: "x".repeat(129) },
});
await call(auth, "invalid email", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "not-an-email", password: "password123" },
});
await call(auth, "name missing", "POST", "/api/auth/sign-up/email", {
  body: { email: "bob@example.com", password: "password123" },
});
await call(auth, "name empty string", "POST", "/api/auth/sign-up/email", {
  body: { name: "", email: "bob@example.com", password: "password123" },
});
await call(auth, "password missing", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "bob@example.com" },
});
await call(auth, "content-type text/plain", "POST", "/api/auth/sign-up/email", {
  headers: { "content-type": "text/plain" },
  body: { name: "Bob", email: "bob@example.com", password: "password123" },
});
await call(auth, "no content-type header", "POST", "/api/auth/sign-up/email", {
  headers: { "content-type": null },
  body: { name: "Bob", email: "bob@example.com", password: "password123" },
});
await call(auth, "no content-type header at all (byte body)", "POST", "/api/auth/sign-up/email", {
  headers: { "content-type": null }, bytes: true,
  body: { name: "Bob", email: "bob@example.com", password: "password123" },
});
await call(auth, "content-type 'Application/JSON; charset=utf-8' (accepted; still fails on short password)", "POST", "/api/auth/sign-up/email", {
  headers: { "content-type": "Application/JSON; charset=utf-8" },
  body: { name: "Bob", email: "bob@example.com", password: "short" },
});
await call(auth, "content-type application/x-www-form-urlencoded", "POST", "/api/auth/sign-up/email", {
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: "name=Bob&email=bob%40example.com&password=password123",
});
await call(auth, "malformed JSON body", "POST", "/api/auth/sign-up/email", {
  body: "{not json",
});
await call(auth, "empty body with content-type json", "POST", "/api/auth/sign-up/email", {
  body: "",
});
await call(auth, "extra field emailVerified:true (input:false)", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "bob@example.com", password: "password123", emailVerified: true },
});
await call(auth, "extra field role:'admin' (admin plugin, input:false)", "POST", "/api/auth/sign-up/email", {
  body: { name: "Bob", email: "bob2@example.com", password: "password123", role: "admin" },
});
await call(auth, "extra unknown field foo:1", "POST", "/api/auth/sign-up/email", {
  body: { name: "Carol", email: "carol@example.com", password: "password123", foo: 1 },
});
await call(auth, "untrusted callbackURL", "POST", "/api/auth/sign-up/email", {
  body: { name: "Dan", email: "dan@example.com", password: "password123", callbackURL: "http://evil.com/x" },
});
await call(auth, "with image + relative callbackURL + rememberMe:false", "POST", "/api/auth/sign-up/email", {
  headers: { "x-forwarded-for": "5.6.7.8" },
  body: { name: "Eve", email: "eve@example.com", password: "password123", image: "http://img/x.png", callbackURL: "/welcome", rememberMe: false },
});
const fay = await call(auth, "no x-forwarded-for, no user-agent, no origin", "POST", "/api/auth/sign-up/email", {
  headers: { "x-forwarded-for": null, "user-agent": null, origin: null },
  body: { name: "Fay", email: "fay@example.com", password: "password123" },
});
await call(auth, "get-session for that session (shows ipAddress/userAgent when headers were absent)", "GET", "/api/auth/get-session", {
  headers: { cookie: sessionCookie(fay.setCookie) },
});
const carol = await call(auth, "sign-in Carol (user created with unknown field foo:1)", "POST", "/api/auth/sign-in/email", {
  body: { email: "carol@example.com", password: "password123" },
});
await call(auth, "change-password for user without image (user JSON shape)", "POST", "/api/auth/change-password", {
  headers: { cookie: sessionCookie(carol.setCookie) }, body: { currentPassword: "password123", newPassword: "password1234" },
});
await call(auth, "sign-up with image:null", "POST", "/api/auth/sign-up/email", {
  body: { name: "Zoe", email: "zoe@example.com", password: "password123", image: null },
});
await call(auth, "sign-up with non-ASCII name (JSON output escaping)", "POST", "/api/auth/sign-up/email", {
  headers: { "x-forwarded-for": "5.6.7.9" },
  body: { name: "Zoë \u00e9\u2603 \ud83d\ude00 \"q\" </script>", email: "zoe@example.com", password: "password123" },
});

// ---- 4
section("4", "Sign-in");
const si = await call(auth, "correct", "POST", "/api/auth/sign-in/email", {
  body: { email: "Ada@Example.com", password: "password123" },
});
const cookie = sessionCookie(si.setCookie);
const token = si.json?.token;
await call(auth, "wrong password", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "wrongpassword" },
});
await call(auth, "unknown email", "POST", "/api/auth/sign-in/email", {
  body: { email: "nobody@example.com", password: "password123" },
});
await call(auth, "invalid email string", "POST", "/api/auth/sign-in/email", {
  body: { email: "not-an-email", password: "password123" },
});
await call(auth, "password missing", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com" },
});
await call(auth, "password 'x' (sign-in has no length check)", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "x" },
});
const siNoRemember = await call(auth, "rememberMe:false", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "password123", rememberMe: false },
});
const siCb = await call(auth, "callbackURL /dashboard", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "password123", callbackURL: "/dashboard" },
});
await call(auth, "callbackURL untrusted absolute", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "password123", callbackURL: "http://evil.com/" },
});
await call(auth, "callbackURL trusted absolute", "POST", "/api/auth/sign-in/email", {
  body: { email: "ada@example.com", password: "password123", callbackURL: "http://localhost:3000/home" },
});
await call(auth, "sign-in while sending a session Cookie but NO Origin", "POST", "/api/auth/sign-in/email", {
  headers: { origin: null, cookie },
  body: { email: "ada@example.com", password: "password123" },
});
await call(auth, "sign-in without Cookie and without Origin", "POST", "/api/auth/sign-in/email", {
  headers: { origin: null },
  body: { email: "ada@example.com", password: "password123" },
});

// ---- 5
section("5", "get-session");
await call(auth, "with cookie from sign-in", "GET", "/api/auth/get-session", { headers: { cookie } });
await call(auth, "with no cookie", "GET", "/api/auth/get-session");
{
  // tamper: flip one character of the signature part
  const [name, val] = [cookie.slice(0, cookie.indexOf("=")), cookie.slice(cookie.indexOf("=") + 1)];
  const dec = decodeURIComponent(val);
  const dot = dec.lastIndexOf(".");
  const sig = dec.slice(dot + 1);
  const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
  const tampered = `${name}=${encodeURIComponent(dec.slice(0, dot + 1) + flipped)}`;
  await call(auth, "tampered cookie (signature char flipped)", "GET", "/api/auth/get-session", { headers: { cookie: tampered } });
  const tampered2 = `${name}=${encodeURIComponent("X" + dec.slice(1))}`;
  await call(auth, "tampered cookie (token char changed, old signature)", "GET", "/api/auth/get-session", { headers: { cookie: tampered2 } });
  await call(auth, "unsigned raw token as cookie", "GET", "/api/auth/get-session", { headers: { cookie: `${name}=${token}` } });
  await call(auth, "validly signed cookie for a non-existent session", "GET", "/api/auth/get-session", {
    headers: { cookie: `${name}=${encodeURIComponent(await signValue("nonexistenttoken0000000000000000"))}` },
  });
}
await call(auth, "Authorization: Bearer <raw token> (no bearer plugin)", "GET", "/api/auth/get-session", {
  headers: { authorization: `Bearer ${token}` },
});
await call(auth, "with rememberMe:false cookies (session_token + dont_remember)", "GET", "/api/auth/get-session", {
  headers: { cookie: cookieHeader(siNoRemember.setCookie) },
});
await call(auth, "?disableRefresh=true with cookie", "GET", "/api/auth/get-session?disableRefresh=true", { headers: { cookie } });
await call(auth, "POST get-session (wrong method)", "POST", "/api/auth/get-session", { headers: { cookie }, body: {} });

// second config: bearer plugin
{
  const B = makeAuth({ withBearer: true });
  section("5b", "get-session / sign-in with bearer() plugin (second config: admin, organization, bearer)");
  await call(B.auth, "sign-up (bearer config)", "POST", "/api/auth/sign-up/email", {
    body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
  });
  const bsi = await call(B.auth, "sign-in (bearer config) -> set-auth-token header", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const btoken = bsi.json?.token;
  const bcookie = sessionCookie(bsi.setCookie);
  await call(B.auth, "get-session Authorization: Bearer <raw token>", "GET", "/api/auth/get-session", {
    headers: { authorization: `Bearer ${btoken}` },
  });
  await call(B.auth, "get-session Authorization: Bearer <signed token from set-auth-token>", "GET", "/api/auth/get-session", {
    headers: { authorization: `Bearer ${bsi.res.headers.get("set-auth-token")}` },
  });
  await call(B.auth, "get-session Authorization: Bearer garbage", "GET", "/api/auth/get-session", {
    headers: { authorization: "Bearer garbage" },
  });
  await call(B.auth, "get-session with cookie (bearer config)", "GET", "/api/auth/get-session", { headers: { cookie: bcookie } });
  await call(B.auth, "sign-out with Bearer only, no Origin", "POST", "/api/auth/sign-out", {
    headers: { authorization: `Bearer ${btoken}`, origin: null },
  });
  await call(B.auth, "get-session Bearer after sign-out", "GET", "/api/auth/get-session", {
    headers: { authorization: `Bearer ${btoken}` },
  });
  // bearer raw-token success rate: the 1.4.7 plugin strips only the first "="
  // and verifies with base64url; record several fresh tokens to show whether
  // signatures containing '+' or '/' fail.
  section("5c", "bearer() raw-token acceptance over several fresh sessions");
  for (let i = 0; i < 6; i++) {
    const r = await call(B.auth, `sign-in #${i}`, "POST", "/api/auth/sign-in/email", {
      headers: { "x-forwarded-for": `10.0.0.${i + 1}` },
      body: { email: "ada@example.com", password: "password123" },
    });
    const sigv = decodeURIComponent(sessionCookie(r.setCookie).split("=").slice(1).join("=")).split(".")[1];
    await call(B.auth, `get-session Bearer raw token #${i} (cookie signature ${sigv})`, "GET", "/api/auth/get-session", {
      headers: { authorization: `Bearer ${r.json.token}` },
    });
  }
}

// third config: https baseURL -> __Secure- cookie prefix + Secure attribute
{
  const S = makeAuth({ baseURL: "https://127.0.0.1:3211" });
  section("5d", "https baseURL (third config): __Secure- prefix and Secure attribute");
  const r = await call(S.auth, "sign-up, https baseURL", "POST", "/api/auth/sign-up/email", {
    body: { name: "Ada", email: "Ada@Example.com", password: "password123", rememberMe: false },
  });
  await call(S.auth, "sign-out with the __Secure- cookie", "POST", "/api/auth/sign-out", {
    headers: { cookie: cookieHeader(r.setCookie) }, body: {},
  });
}

async function signValue(v) {
  const { createHmac } = await import("node:crypto");
  const sig = createHmac("sha256", SECRET).update(v).digest("base64");
  return `${v}.${sig}`;
}

// ---- 6
section("6", "sign-out");
{
  const s1 = await call(auth, "fresh sign-in for sign-out tests", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const c1 = sessionCookie(s1.setCookie);
  await call(auth, "sign-out with cookie but NO Origin", "POST", "/api/auth/sign-out", {
    headers: { cookie: c1, origin: null },
  });
  await call(auth, "sign-out with cookie and Origin: null", "POST", "/api/auth/sign-out", {
    headers: { cookie: c1, origin: "null" },
  });
  await call(auth, "sign-out with cookie and untrusted Origin", "POST", "/api/auth/sign-out", {
    headers: { cookie: c1, origin: "http://evil.com" },
  });
  await call(auth, "sign-out with cookie, no Origin, trusted Referer", "POST", "/api/auth/sign-out", {
    headers: { cookie: c1, origin: null, referer: "http://localhost:3000/some/page" },
  });
  const s2 = await call(auth, "another sign-in", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const c2 = sessionCookie(s2.setCookie);
  await call(auth, "sign-out with cookie and Origin = baseURL origin", "POST", "/api/auth/sign-out", {
    headers: { cookie: c2, origin: BASE },
  });
  const s3 = await call(auth, "another sign-in", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const c3 = sessionCookie(s3.setCookie);
  await call(auth, "sign-out with cookie and trusted Origin, no body, no content-type", "POST", "/api/auth/sign-out", {
    headers: { cookie: c3, "content-type": null },
  });
  await call(auth, "sign-out with NO cookie, content-type json, empty body", "POST", "/api/auth/sign-out", { body: "" });
  await call(auth, "get-session after sign-out (same cookie)", "GET", "/api/auth/get-session", { headers: { cookie: c3 } });
  await call(auth, "sign-out without any cookie", "POST", "/api/auth/sign-out", { body: {} });
}

// ---- 7
section("7", "Session management, update-user, change-password, delete-user");
{
  const a = await call(auth, "sign-in A (current session)", "POST", "/api/auth/sign-in/email", {
    headers: { "x-forwarded-for": "7.7.7.1", "user-agent": "ua-A" },
    body: { email: "ada@example.com", password: "password123" },
  });
  const ca = sessionCookie(a.setCookie);
  const b = await call(auth, "sign-in B (other session)", "POST", "/api/auth/sign-in/email", {
    headers: { "x-forwarded-for": "7.7.7.2", "user-agent": "ua-B" },
    body: { email: "ada@example.com", password: "password123" },
  });
  const tb = b.json?.token;
  const c = await call(auth, "sign-in C (other session)", "POST", "/api/auth/sign-in/email", {
    headers: { "x-forwarded-for": "7.7.7.3", "user-agent": "ua-C" },
    body: { email: "ada@example.com", password: "password123" },
  });
  await call(auth, "list-sessions (all non-expired sessions of Ada)", "GET", "/api/auth/list-sessions", { headers: { cookie: ca } });
  await call(auth, "list-sessions without cookie", "GET", "/api/auth/list-sessions");
  await call(auth, "revoke-session {token: B}", "POST", "/api/auth/revoke-session", { headers: { cookie: ca }, body: { token: tb } });
  await call(auth, "revoke-session {token: unknown}", "POST", "/api/auth/revoke-session", { headers: { cookie: ca }, body: { token: "doesnotexist" } });
  await call(auth, "revoke-session {} (token missing)", "POST", "/api/auth/revoke-session", { headers: { cookie: ca }, body: {} });
  await call(auth, "revoke-session without cookie", "POST", "/api/auth/revoke-session", { body: { token: tb } });
  await call(auth, "revoke-other-sessions", "POST", "/api/auth/revoke-other-sessions", { headers: { cookie: ca }, body: {} });
  await call(auth, "list-sessions after revoke-other-sessions", "GET", "/api/auth/list-sessions", { headers: { cookie: ca } });
  await call(auth, "update-user {name:'Ada L'}", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: { name: "Ada L" } });
  await call(auth, "get-session after update-user", "GET", "/api/auth/get-session", { headers: { cookie: ca } });
  await call(auth, "update-user {email:'x@y.z'}", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: { email: "x@y.z" } });
  await call(auth, "update-user {}", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: {} });
  await call(auth, "update-user {image:null}", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: { image: null } });
  await call(auth, "update-user {emailVerified:true} (input:false)", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: { emailVerified: true } });
  await call(auth, "update-user {foo:1} (unknown field only)", "POST", "/api/auth/update-user", { headers: { cookie: ca }, body: { foo: 1 } });
  await call(auth, "update-user without cookie", "POST", "/api/auth/update-user", { body: { name: "X" } });
  await call(auth, "change-password wrong current", "POST", "/api/auth/change-password", {
    headers: { cookie: ca }, body: { currentPassword: "wrongpassword", newPassword: "newpassword123" },
  });
  await call(auth, "change-password new too short", "POST", "/api/auth/change-password", {
    headers: { cookie: ca }, body: { currentPassword: "password123", newPassword: "short" },
  });
  const cp = await call(auth, "change-password right current, revokeOtherSessions:true", "POST", "/api/auth/change-password", {
    headers: { cookie: ca }, body: { currentPassword: "password123", newPassword: "newpassword123", revokeOtherSessions: true },
  });
  await call(auth, "get-session with OLD cookie after change-password+revoke", "GET", "/api/auth/get-session", { headers: { cookie: ca } });
  const cn = sessionCookie(cp.setCookie);
  await call(auth, "list-sessions with NEW cookie", "GET", "/api/auth/list-sessions", { headers: { cookie: cn } });
  await call(auth, "change-password without revokeOtherSessions", "POST", "/api/auth/change-password", {
    headers: { cookie: cn }, body: { currentPassword: "newpassword123", newPassword: "password123" },
  });
  await call(auth, "delete-user {} (deleteUser not enabled)", "POST", "/api/auth/delete-user", { headers: { cookie: cn }, body: {} });
  await call(auth, "delete-user {password} (deleteUser not enabled)", "POST", "/api/auth/delete-user", { headers: { cookie: cn }, body: { password: "password123" } });
  await call(auth, "revoke-sessions", "POST", "/api/auth/revoke-sessions", { headers: { cookie: cn }, body: {} });
  await call(auth, "get-session after revoke-sessions", "GET", "/api/auth/get-session", { headers: { cookie: cn } });
  await call(auth, "revoke-sessions with dead cookie", "POST", "/api/auth/revoke-sessions", { headers: { cookie: cn }, body: {} });
}

// ---- 7b: session expiry / sliding refresh with the fake clock
section("7b", "Sliding refresh and expiry (fake clock jumps)");
{
  const s = await call(auth, "sign-in", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const c = sessionCookie(s.setCookie);
  clock.now += 25 * 3600 * 1000;
  await call(auth, "get-session after +25h (updateAge 1d passed -> refresh, re-set cookie)", "GET", "/api/auth/get-session", { headers: { cookie: c } });
  await call(auth, "get-session again right after refresh (no re-set)", "GET", "/api/auth/get-session", { headers: { cookie: c } });
  clock.now += 8 * 24 * 3600 * 1000;
  await call(auth, "get-session after +8d more (expired)", "GET", "/api/auth/get-session", { headers: { cookie: c } });
  const s2 = await call(auth, "sign-in rememberMe:false", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123", rememberMe: false },
  });
  clock.now += 25 * 3600 * 1000;
  await call(auth, "get-session rememberMe:false session after +25h (expired: 1d lifetime)", "GET", "/api/auth/get-session", {
    headers: { cookie: cookieHeader(s2.setCookie) },
  });
}

// ---- 8
section("8", "Routing: ok, 404s, wrong method, trailing slash");
await call(auth, "GET /ok", "GET", "/api/auth/ok");
await call(auth, "GET /error (built-in error page)", "GET", "/api/auth/error");
await call(auth, "GET /nonexistent", "GET", "/api/auth/nonexistent");
await call(auth, "GET /sign-in/email (wrong method)", "GET", "/api/auth/sign-in/email");
await call(auth, "POST /sign-in/email/ (trailing slash)", "POST", "/api/auth/sign-in/email/", {
  body: { email: "ada@example.com", password: "password123" },
});
await call(auth, "GET /get-session/ (trailing slash)", "GET", "/api/auth/get-session/");
await call(auth, "OPTIONS /sign-in/email (CORS preflight)", "OPTIONS", "/api/auth/sign-in/email", {
  headers: { "access-control-request-method": "POST", "content-type": null },
});
await call(auth, "HEAD /ok", "HEAD", "/api/auth/ok");
await call(auth, "GET /api/other (outside basePath)", "GET", "/api/other");
await call(auth, "GET /api/auth (basePath itself)", "GET", "/api/auth");
await call(auth, "POST /ok (wrong method)", "POST", "/api/auth/ok", { body: {} });

// ---- 9
section("9", "Rate limiting (sign-in: 3 per 10 s per IP+path)");
clock.step = 100;
for (let i = 1; i <= 5; i++) {
  await call(auth, `sign-in attempt ${i} from 9.9.9.9 (wrong password)`, "POST", "/api/auth/sign-in/email", {
    headers: { "x-forwarded-for": "9.9.9.9" },
    body: { email: "ada@example.com", password: "wrongpassword" },
  });
}
await call(auth, "same IP, different path (/get-session) is not limited", "GET", "/api/auth/get-session", {
  headers: { "x-forwarded-for": "9.9.9.9" },
});
await call(auth, "sign-in from another IP is not limited", "POST", "/api/auth/sign-in/email", {
  headers: { "x-forwarded-for": "9.9.9.10" },
  body: { email: "ada@example.com", password: "wrongpassword" },
});
clock.now += 9_000;
await call(auth, "9.9.9.9 again 9.5 s after the last COUNTED attempt (429s do not update lastRequest): still limited", "POST", "/api/auth/sign-in/email", {
  headers: { "x-forwarded-for": "9.9.9.9" },
  body: { email: "ada@example.com", password: "wrongpassword" },
});
clock.now += 10_500;
await call(auth, "9.9.9.9 again after >10 s of silence (allowed)", "POST", "/api/auth/sign-in/email", {
  headers: { "x-forwarded-for": "9.9.9.9" },
  body: { email: "ada@example.com", password: "wrongpassword" },
});
clock.step = 11_000;
clock.now += 60_000;

// ---- 10
section("10", "Adapter errors");
{
  // Wrap the adapter (and the per-transaction adapter the memory adapter
  // hands to runWithTransaction callbacks, used by sign-up) so that the
  // selected operations throw a plain Error.
  const throwingWrap = (which) => (factory) => (options) => {
    const wrapAdapter = (a) => new Proxy(a, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (typeof v !== "function") return v;
        if (prop === "transaction") return (cb) => v.call(target, (trx) => cb(wrapAdapter(trx)));
        return async (args) => {
          if (which(prop, args)) throw new Error(`adapter boom: ${String(prop)} ${args?.model}`);
          return v.call(target, args);
        };
      },
    });
    return wrapAdapter(factory(options));
  };
  const C = makeAuth({ adapterWrap: throwingWrap((op, a) => op === "create" && a?.model === "user") });
  await call(C.auth, "sign-up when adapter.create(user) throws Error", "POST", "/api/auth/sign-up/email", {
    body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
  });
  const D = makeAuth({ adapterWrap: throwingWrap((op, a) => op === "create" && a?.model === "session") });
  await call(D.auth, "sign-up when adapter.create(session) throws Error (memory adapter rolls the user back)", "POST", "/api/auth/sign-up/email", {
    body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
  });
  // healthy instance F creates the user; G/H/I share F's db with faulty adapters
  const F = makeAuth();
  const fsu = await call(F.auth, "sign-up on healthy instance F", "POST", "/api/auth/sign-up/email", {
    body: { name: "Ada", email: "Ada@Example.com", password: "password123" },
  });
  const fcookie = sessionCookie(fsu.setCookie);
  const G = makeAuth({ db: F.db, adapterWrap: throwingWrap((op, a) => op === "create" && a?.model === "session") });
  await call(G.auth, "sign-in (existing user) when adapter.create(session) throws Error", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const H = makeAuth({ db: F.db, adapterWrap: throwingWrap((op, a) => op === "findOne" && a?.model === "user") });
  await call(H.auth, "sign-in when adapter.findOne(user) throws Error", "POST", "/api/auth/sign-in/email", {
    body: { email: "ada@example.com", password: "password123" },
  });
  const I = makeAuth({ db: F.db, adapterWrap: throwingWrap((op, a) => a?.model === "session") });
  await call(I.auth, "get-session (validly signed cookie) when every session op throws", "GET", "/api/auth/get-session", {
    headers: { cookie: fcookie },
  });
  await call(I.auth, "list-sessions (validly signed cookie) when every session op throws", "GET", "/api/auth/list-sessions", {
    headers: { cookie: fcookie },
  });
  await call(I.auth, "sign-out (validly signed cookie) when every session op throws", "POST", "/api/auth/sign-out", {
    headers: { cookie: fcookie }, body: {},
  });
}

// ===================================================================== output
// Hand-written summary of the facts below (checked against the recorded run).
const SUMMARY = `# better-auth@1.4.7 golden HTTP transcripts

Recorded in-process from the real better-auth@1.4.7 (\`auth.handler(new Request(...))\`, better-call@1.1.5 router) with
\`tools/vectors/better_auth_transcripts.mjs\`. Config: baseURL \`http://127.0.0.1:3211\`, memoryAdapter, emailAndPassword,
plugins \`admin()\` + \`organization()\` (5b/5c add \`bearer()\`, 5d uses an https baseURL), \`rateLimit.enabled\`, trustedOrigins
\`["http://localhost:3000"]\`, fake clock. Random ids/tokens are left raw. Section numbers below refer to the transcripts.

## Facts that matter for a reimplementation

**Status codes and error bodies**
- Errors from \`APIError\` are \`{"code":"…","message":"…"}\`, \`content-type: application/json\`. Only one extra key
  was seen: sign-up with a throwing \`adapter.create(user)\` gives **422** \`{"code":"FAILED_TO_CREATE_USER","message":"Failed to create user","details":{}}\` (the \`Error\` serialises to \`{}\`) (10.1).
- Zod failures: **400** \`{"code":"VALIDATION_ERROR","message":"[body.<field>] <zod msg>"}\`. Verbatim messages:
  \`Invalid email address\`, \`Invalid input: expected string, received undefined\`, \`Invalid input: expected string, received null\`,
  \`Too small: expected string to have >=1 characters\` (3.x, 4.5, 7.8).
- Sign-up: duplicate (case-insensitive) → 422 \`USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL\` / "User already exists. Use another email.";
  length → 400 \`PASSWORD_TOO_SHORT\`/\`PASSWORD_TOO_LONG\` (8..128); \`role\` sent → 400 \`{"code":"ROLE_IS_NOT_ALLOWED_TO_BE_SET","message":"role is not allowed to be set"}\`;
  **\`emailVerified:true\` and unknown \`foo\` are silently ignored (200)**; \`image:null\` → 400 VALIDATION_ERROR; untrusted callbackURL → 403 \`INVALID_CALLBACKURL\` "Invalid callbackURL".
- Sign-in: bad email string → 400 \`INVALID_EMAIL\` "Invalid email" (not VALIDATION_ERROR); wrong password / unknown user / 1-char
  password → 401 \`INVALID_EMAIL_OR_PASSWORD\` "Invalid email or password".
- update-user: \`email\` → 400 \`EMAIL_CAN_NOT_BE_UPDATED\`; \`{}\`, \`{emailVerified:true}\`, \`{foo:1}\` → 400 \`{"code":"NO_FIELDS_TO_UPDATE","message":"No fields to update"}\`.
- change-password: wrong current → 400 \`INVALID_PASSWORD\` "Invalid password"; short new → 400 \`PASSWORD_TOO_SHORT\`.
- Media type: non-JSON content-type → 415 \`{"code":"UNSUPPORTED_MEDIA_TYPE","message":"Content-Type \\"text/plain\\" is not allowed. Allowed types: application/json"}\`
  (the header value is echoed verbatim). No content-type with a body → 415 message \`Content-Type is required. Allowed types: application/json\`.
  The check is case-insensitive on the part before \`;\`, so \`Application/JSON; charset=utf-8\` is accepted. A request with no body (e.g. sign-out) needs no content-type.
- Origin check (non-GET **with a Cookie header**): no Origin/Referer, or \`Origin: null\` → 403 \`{"code":"MISSING_OR_NULL_ORIGIN","message":"Missing or null Origin"}\`;
  untrusted → 403 \`{"code":"INVALID_ORIGIN","message":"Invalid origin"}\`. A trusted \`Referer\` is enough, and the baseURL origin is trusted.
  This applies to sign-in too if a cookie is sent. Requests without cookies (and bearer-only ones) skip it.

**Empty bodies**
- Router 404 (unknown path, wrong method incl. POST /get-session, GET /sign-in/email, trailing slash, HEAD, OPTIONS, \`/api/auth\` itself):
  status 404, **no headers at all**, empty body.
- Uncaught error (malformed JSON, empty body with JSON content-type, adapter throw in sign-in/session create): 500, **no headers**, empty body.
- \`sessionMiddleware\` failure (list-sessions, revoke-*, update-user without a valid session): **401, \`content-type: application/json\`, empty body**.
- delete-user when not enabled: **404, \`content-type: application/json\`, empty body** (unlike the router 404).
- get-session when the adapter throws: 500 \`{"code":"FAILED_TO_GET_SESSION","message":"Failed to get session"}\`. sign-out swallows adapter errors (200).

**Success bodies** (all \`content-type: application/json\`, no charset, compact \`JSON.stringify\`, non-ASCII not escaped)
- sign-up \`{"token","user"}\`; sign-in \`{"redirect":false,"token","user"}\`, or with callbackURL \`{"redirect":true,"token","url":"/dashboard","user"}\` (no Location header).
- get-session: \`null\` or \`{"session":{…},"user":{…}}\` (session includes the real \`token\`). sign-out \`{"success":true}\`. revoke-* and update-user \`{"status":true}\`.
  ok \`{"ok":true}\`. list-sessions is a JSON array with \`"token":""\`, in insertion order.
- change-password: \`{"token":null|"<new>","user":{"id","email","name","image","emailVerified","createdAt","updatedAt"}}\` (\`image\` omitted when undefined, present when null).
- **Field order = schema order, \`id\` LAST**. Keys that are undefined are omitted; \`null\` is kept.
  user: \`name,email,emailVerified,image?,createdAt,updatedAt,role,banned,(banReason,banExpires),id\` (admin adds \`role:"user"\` and \`banned:false\`).
  session: \`expiresAt,token,createdAt,updatedAt,ipAddress,userAgent,userId,(impersonatedBy,activeOrganizationId),id\`.
- A missing x-forwarded-for or user-agent is stored as \`""\` (not null). Email is lowercased; name is kept as given.
- Dates: stock better-auth sends ISO-8601 with milliseconds (\`"2025-01-01T00:00:00.000Z"\`). **The Convex adapter sends epoch-ms numbers instead**, with the same key order.

**Cookies** (one Set-Cookie per cookie; signed value = \`encodeURIComponent(v + "." + base64std(HMAC-SHA256))\`, so \`+ / =\` become \`%2B %2F %3D\`)
- Set: \`better-auth.session_token=<tok>.<sig>; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax\`.
- rememberMe:false (sign-in or sign-up): no Max-Age on session_token, plus \`better-auth.dont_remember=true.<sig>; Path=/; HttpOnly; SameSite=Lax\`
  (for this secret: \`true.X0AGmDU9TDSqnWS42gHpv6DqYlxLtdefxIsBpVGcl74%3D\`). The session expires after 1 day.
- Clear (sign-out, or get-session on a signed-but-unknown/expired session): three lines, in this order:
  \`better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax\`, then \`…session_data=…\`, then \`…dont_remember=…\`.
  sign-out clears them even when no cookie was sent. get-session without a cookie, or with a bad signature, returns \`null\` **without** Set-Cookie.
- https baseURL: the prefix becomes \`__Secure-better-auth.\` and the attribute order is \`Path=/; HttpOnly; Secure; SameSite=Lax\` (5d).
- update-user re-sets the same session cookie (Max-Age=604800). A get-session more than updateAge (1 d) after the session's last refresh
  re-sets the cookie and moves expiresAt/updatedAt forward (7b.2); calls before that do not.
  change-password with revokeOtherSessions deletes every session (the current one too) and sets a new cookie.

**Rate limit** (memory, key = IP from x-forwarded-for + path; none when there is no IP; NODE_ENV test/dev forces 127.0.0.1)
- sign-in/sign-up: the 4th request within 10 s → **429**, \`content-type: text/plain;charset=UTF-8\`, \`x-retry-after: <ceil secs>\`,
  body \`{"message":"Too many requests. Please try again later."}\` (no \`code\`). Retry-after counts from the last *counted* request,
  and a 429 does not update it (9.8 → \`x-retry-after: 1\`). A different path or IP is not affected.

**Bearer** (only with \`bearer()\`): a response that sets a session cookie also sends \`set-auth-token: <url-encoded signed value>\` and
\`access-control-expose-headers: set-auth-token\`. Both raw and signed tokens authenticate. An unknown token is treated like a signed-but-unknown
cookie (null plus 3 clearing cookies). Without the plugin, Authorization is ignored.

**Misc**: statusText differs (\`BAD_REQUEST\`, \`400\` for VALIDATION_ERROR, \`""\` for 200), but better-call's Node adapter only calls \`writeHead(status)\`, so
this is not on the wire. Response header names are lowercase. The only headers seen were content-type, x-retry-after, set-auth-token and
access-control-expose-headers; there is no CORS or cache header. GET /api/auth/error returns 200 \`text/html\` (the error page).
`;

const outMd = process.argv[2] || "/work/main/docs/design/better-auth-transcripts.md";
const outJson = process.argv[3] || path.join(baDir, "better-auth-transcripts.raw.json");
fs.writeFileSync(outJson, JSON.stringify({ betterAuthVersion: baVersion, records }, null, 2) + "\n");

const fence = (s, lang = "") => {
  const ticks = s.includes("```") ? "````" : "```";
  return `${ticks}${lang}\n${s}\n${ticks}`;
};
let md = "";
md += SUMMARY.trimEnd() + "\n\n";
md += `## Transcripts\n\nGenerated by \`tools/vectors/better_auth_transcripts.mjs\` against better-auth@${baVersion} ` +
  `(config: baseURL ${BASE}, secret "${SECRET}", memoryAdapter, emailAndPassword enabled, plugins admin()+organization(), ` +
  `rateLimit enabled (memory), trustedOrigins ["http://localhost:3000"]). Fake clock starts 2025-01-01T00:00:00.000Z, +11 s per request ` +
  `unless noted. Unless listed, every request carried the default headers: \`x-forwarded-for: 1.2.3.4\`, \`user-agent: ua-test\`, ` +
  `\`origin: http://localhost:3000\`, and (non-GET) \`content-type: application/json\`. Bodies are verbatim (raw random ids/tokens).\n\n`;
let n = 0;
for (const s of sections) {
  md += `### ${s.id}. ${s.title}\n\n`;
  if (s.note) md += s.note + "\n\n";
  let i = 0;
  for (const r of s.items) {
    i++; n++;
    const q = r.request, a = r.response;
    md += `#### ${s.id}.${i} ${r.label}\n\n`;
    md += `\`${q.method} ${q.path}\`  (clock ${r.clock})\n\n`;
    const nonDefault = q.headers.filter(([k, v]) => STD_HEADERS[k] !== v);
    const missing = Object.keys(STD_HEADERS).filter((k) => !q.headers.some(([h]) => h === k) && !(k === "content-type" && (q.method === "GET" || q.method === "HEAD")));
    if (nonDefault.length || missing.length) {
      md += "Request headers (non-default): ";
      const parts = nonDefault.map(([k, v]) => `\`${k}: ${v}\``);
      for (const k of missing) parts.push(`(no \`${k}\`)`);
      md += parts.join(", ") + "\n\n";
    }
    if (q.body !== null) md += "Request body:\n" + fence(q.body, "json") + "\n\n";
    md += `**Status: ${a.status} ${a.statusText}**\n\n`;
    if (a.setCookie.length) md += "Set-Cookie:\n" + fence(a.setCookie.join("\n")) + "\n\n";
    md += "Headers:\n" + fence(a.headers.map(([k, v]) => `${k}: ${v}`).join("\n") || "(none)") + "\n\n";
    md += "Body" + (a.body === "" ? " (empty)" : "") + ":\n" + fence(a.body === "" ? "" : a.body, "json") + "\n\n";
  }
}
fs.writeFileSync(outMd, md);
console.error(`wrote ${n} transcripts -> ${outMd}\nraw JSON -> ${outJson}`);
