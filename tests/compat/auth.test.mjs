// JWT auth on the wire: the reference app's customJwt provider (issuer = site URL, JWKS
// from the JWKS environment variable, set with `convexlite env set`), used through
// ConvexHttpClient.setAuth and ConvexClient.setAuth.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { startServer } from "./server.mjs";

const api = anyApi;
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
let server;

const b64url = (data) => Buffer.from(data).toString("base64url");
function jwt(claims, key = privateKey, kid = "k1") {
  const signing = `${b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${signing}.${b64url(sign("sha256", Buffer.from(signing), key))}`;
}
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra = {}) => ({ iss: server.siteUrl, sub: "user-1", aud: "convex", iat: now(),
                                  exp: now() + 900, name: "Ada", ...extra });

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cvx-compat-auth-"));
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };
  execFileSync(process.env.CONVEXLITE_BIN, ["env", "set", "JWKS", JSON.stringify({ keys: [jwk] }),
                                            "--data", dataDir]);
  assert.match(execFileSync(process.env.CONVEXLITE_BIN, ["env", "list", "--data", dataDir]).toString(),
               /^JWKS=\{"keys"/);
  server = await startServer([], { dataDir });
});
after(async () => { assert.equal(await server.stop(), 0); });

test("ConvexHttpClient.setAuth with a valid JWT gives the identity", async () => {
  const client = new ConvexHttpClient(server.url);
  assert.equal(await client.query(api.me.whoami, {}), null);
  client.setAuth(jwt(claims()));
  const me = await client.query(api.me.whoami, {});
  assert.equal(me.subject, "user-1");
  assert.equal(me.issuer, server.siteUrl);
  assert.equal(me.tokenIdentifier, `${server.siteUrl}|user-1`);
  assert.equal(me.name, "Ada");
});

test("forged, expired and foreign tokens get 401", async () => {
  for (const token of [jwt(claims(), other.privateKey), jwt(claims({ exp: now() - 60 })),
                       jwt(claims({ aud: "someone-else" })), jwt(claims({ iss: "https://evil.example" })),
                       "not.a.jwt"]) {
    const client = new ConvexHttpClient(server.url);
    client.setAuth(token);
    await assert.rejects(client.query(api.me.whoami, {}), /InvalidAuthHeader|NoAuthProvider/);
  }
  const raw = await fetch(`${server.url}/api/query`, {
    method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${jwt(claims(), other.privateKey)}` },
    body: JSON.stringify({ path: "me:whoami", args: [{}] }) });
  assert.equal(raw.status, 401);
});

test("ConvexClient.setAuth confirms auth and subscriptions see the identity", async () => {
  const client = new ConvexClient(server.url);
  try {
    let authenticated = null;
    client.setAuth(async () => jwt(claims({ sub: "user-2" })), (ok) => { authenticated = ok; });
    const seen = [];
    client.onUpdate(api.me.whoami, {}, (v) => seen.push(v));
    const start = Date.now();
    while (!(seen.length && seen.at(-1)?.subject === "user-2")) {
      if (Date.now() - start > 5000) throw new Error(`no authenticated result: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(authenticated, true);
  } finally {
    await client.close();
  }
});
