// The real better-auth@1.4.7 client as a browser on the site would use it, for the Better
// Auth suites (native C++ in better_auth.test.mjs, the real library in seed_app.test.mjs).
import assert from "node:assert/strict";
import { createAuthClient } from "better-auth/client";

// Node's fetch has no cookie jar: this one stores every Set-Cookie and sends the cookies back,
// with `Origin: <site URL>` as a browser on the site would.
export function cookieJar(siteUrl) {
  const cookies = new Map();
  const responses = [];
  async function customFetchImpl(input, init = {}) {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    headers.set("origin", siteUrl);
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const maxAge = attributes.find((a) => /^max-age=/i.test(a));
      if (value === "" || (maxAge && Number(maxAge.split("=")[1]) <= 0)) cookies.delete(name);
      else cookies.set(name, value);
    }
    responses.push(response);
    return response;
  }
  return { cookies, responses, customFetchImpl };
}

/** A client with its own cookie jar; `plugins` are better-auth client plugins. */
export function newAuthClient(siteUrl, plugins = []) {
  const jar = cookieJar(siteUrl);
  const client = createAuthClient({ baseURL: siteUrl, plugins, fetchOptions: { customFetchImpl: jar.customFetchImpl } });
  return { client, jar };
}

/** GET /api/auth/convex/token: the Convex JWT of the client's session. */
export async function convexToken(client) {
  const { data, error } = await client.$fetch("/convex/token");
  assert.equal(error, null, JSON.stringify(error));
  assert.match(data.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  return data.token;
}

export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}
