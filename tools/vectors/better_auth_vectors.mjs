// Generates test vectors for convexlite's C++ reimplementation of Better Auth's
// crypto, using the REAL npm packages (better-auth@1.4.7 and its pinned deps
// @better-auth/utils@0.3.0, better-call@1.1.5, @noble/hashes, @noble/ciphers,
// jose).
//
// Run (needs Node >= 20 and the npm registry; nothing is built):
//   mkdir -p /tmp/x && cd /tmp/x && npm init -y && npm i better-auth@1.4.7 \
//     && node /path/to/convexlite/tools/vectors/better_auth_vectors.mjs \
//        > /path/to/convexlite/tests/functions/auth/better_auth_vectors.h
// The script must be run with the current directory holding that node_modules
// (imports are resolved from process.cwd(), not from this file's location).
// Status/verification lines go to stderr; the C++ header goes to stdout (or to
// the file given as the first argument).
//
// Output is deterministic except where Better Auth itself draws randomness
// (scrypt salts, XChaCha20 nonces, the RSA key pair); the checked-in header is
// one run's output. The "Fixed" vectors use fixed salts / nonces computed with
// the same primitives and are cross-checked with the real verifyPassword /
// symmetricDecrypt so they are reproducible byte-for-byte.

import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { scryptSync } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const load = async (spec) => import(pathToFileURL(require.resolve(spec)).href);

const baCrypto = await load("better-auth/crypto");
const baUtils = await load("better-auth"); // generateId (from @better-auth/core/utils)
const baJwt = await load("better-auth/plugins/jwt"); // generateExportedKeyPair
const betterCall = await load("better-call"); // serializeSignedCookie
const jose = await load("jose");
const { scryptAsync } = await load("@noble/hashes/scrypt.js");
const { xchacha20poly1305 } = await load("@noble/ciphers/chacha.js");
const { sha256 } = await load("@noble/hashes/sha2.js");

// package.json is not in every package's "exports"; read it from node_modules.
const versionOf = (pkg) =>
  JSON.parse(readFileSync(path.join(process.cwd(), "node_modules", pkg, "package.json"), "utf8")).version;
const versions = {};
for (const p of ["better-auth", "@better-auth/utils", "better-call", "@noble/hashes", "@noble/ciphers", "jose"]) {
  try { versions[p] = versionOf(p); } catch { versions[p] = "?"; }
}
if (versions["better-auth"] !== "1.4.7") {
  console.error(`WARNING: better-auth is ${versions["better-auth"]}, expected 1.4.7`);
}

const log = (...a) => console.error(...a);
const fail = (msg) => { console.error("FAIL:", msg); process.exit(1); };
const check = (cond, msg) => { if (!cond) fail(msg); log("ok:", msg); };
const hex = (u8) => Buffer.from(u8).toString("hex");
const te = new TextEncoder();

const entries = []; // [name, value, comment]
const add = (name, value, comment) => entries.push([name, String(value), comment]);

// ---------------------------------------------------------------- scrypt
// better-auth/dist/crypto/password.mjs: N=16384 r=16 p=1 dkLen=64,
// maxmem=128*N*r*2; password.normalize("NFKC") then UTF-8; salt = the 32-char
// lowercase hex STRING's ASCII bytes (16 random bytes hex-encoded); output
// "<salthex>:<keyhex>".
const SCRYPT = { N: 16384, r: 16, p: 1, dkLen: 64, maxmem: 128 * 16384 * 16 * 2 };

const pw1 = "password123";
const hash1 = await baCrypto.hashPassword(pw1);
check(await baCrypto.verifyPassword({ hash: hash1, password: pw1 }), "verifyPassword(hash1, pw1)");
check(!(await baCrypto.verifyPassword({ hash: hash1, password: "password124" })), "verifyPassword(hash1, wrong) is false");
add("kScryptPassword1", pw1, "hashPassword input #1");
add("kScryptHash1", hash1, "hashPassword(kScryptPassword1): \"<32 hex salt>:<128 hex key>\"");

// "ﬁ" U+FB01 ligature, "e"+U+0301 combining acute, U+212B ANGSTROM SIGN.
const pw2 = "\uFB01ance\u0301\u212B-pass";
const pw2Nfkc = pw2.normalize("NFKC"); // "fiancé" (U+00E9) "Å" (U+00C5) "-pass"
check(pw2Nfkc === "fianc\u00E9\u00C5-pass", "NFKC(pw2) == \"fianc\\u00E9\\u00C5-pass\"");
const hash2 = await baCrypto.hashPassword(pw2);
check(await baCrypto.verifyPassword({ hash: hash2, password: pw2 }), "verifyPassword(hash2, pw2)");
check(await baCrypto.verifyPassword({ hash: hash2, password: pw2Nfkc }), "verifyPassword(hash2, NFKC(pw2)) (normalization applied)");
check(!(await baCrypto.verifyPassword({ hash: hash2, password: "fiance-pass" })), "verifyPassword(hash2, 'fiance-pass') is false");
add("kScryptPassword2Hex", hex(te.encode(pw2)), "UTF-8 bytes (hex) of \"\\uFB01ance\\u0301\\u212B-pass\" (needs NFKC)");
add("kScryptPassword2", pw2, "same password as a byte string (octal escapes)");
add("kScryptPassword2NfkcHex", hex(te.encode(pw2Nfkc)), "UTF-8 bytes (hex) of NFKC(kScryptPassword2)");
add("kScryptHash2", hash2, "hashPassword(kScryptPassword2)");

// Deterministic: fixed salt string, same primitive, confirmed by verifyPassword.
const fixedSalt = "000102030405060708090a0b0c0d0e0f";
const fixedKey = await scryptAsync(pw1.normalize("NFKC"), fixedSalt, SCRYPT);
const hashFixed = `${fixedSalt}:${hex(fixedKey)}`;
check(await baCrypto.verifyPassword({ hash: hashFixed, password: pw1 }), "verifyPassword(fixed-salt hash, pw1)");
// Independent cross-check with OpenSSL's scrypt (node:crypto): salt = ASCII bytes of the hex string.
check(
  hex(scryptSync(Buffer.from(pw1.normalize("NFKC"), "utf8"), Buffer.from(fixedSalt, "utf8"), 64,
    { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 256 * 1024 * 1024 })) === hex(fixedKey),
  "node:crypto scryptSync(pw, ASCII(salt hex)) == noble scrypt",
);
add("kScryptHashFixedSalt1", hashFixed, "scrypt(kScryptPassword1, salt=ASCII of \"000102...0e0f\"), accepted by verifyPassword");
const fixedKey2 = await scryptAsync(pw2.normalize("NFKC"), fixedSalt, SCRYPT);
const hashFixed2 = `${fixedSalt}:${hex(fixedKey2)}`;
check(await baCrypto.verifyPassword({ hash: hashFixed2, password: pw2 }), "verifyPassword(fixed-salt hash2, pw2)");
add("kScryptHashFixedSalt2", hashFixed2, "scrypt(NFKC(kScryptPassword2), same fixed salt), accepted by verifyPassword");

// ---------------------------------------------------------------- cookies
// better-call/dist/index.js: makeSignature = base64(std, padded) of
// HMAC-SHA256(key=UTF-8(secret), msg=UTF-8(value)); signCookieValue =
// encodeURIComponent(value + "." + sig). serializeSignedCookie(name, ...) =
// `${name}=${signed}` + attributes.
const secret = "better-auth-secret-123456789012345678901234567890";
add("kSecret", secret, "secret used for cookie signing and symmetricEncrypt");
const cookieName = "better-auth.session_token";
add("kCookieName", cookieName, "cookie name used in the serialized examples");

const cookieVal1 = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
const ser1 = await betterCall.serializeSignedCookie(cookieName, cookieVal1, secret);
const signed1 = ser1.slice(cookieName.length + 1);
add("kCookieValue1", cookieVal1, "value passed to setSignedCookie");
add("kSignedCookie1", signed1, "signed value exactly as it appears after '=' in Set-Cookie");
add("kSetCookie1", ser1, "serializeSignedCookie(kCookieName, kCookieValue1, kSecret) with no options");

const cookieVal2 = "user@example.com:tok/en+1=2;é ok";
const ser2 = await betterCall.serializeSignedCookie(cookieName, cookieVal2, secret);
const signed2 = ser2.slice(cookieName.length + 1);
add("kCookieValue2", cookieVal2, "value with characters that encodeURIComponent escapes (non-ASCII as octal escapes)");
add("kSignedCookie2", signed2, "signed value as in Set-Cookie");

// Raw HMAC (unencoded "value.sig") for convenience, cross-checked.
const hmac = async (v) => {
  const key = await crypto.subtle.importKey("raw", te.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return Buffer.from(await crypto.subtle.sign("HMAC", key, te.encode(v))).toString("base64");
};
const sig1 = await hmac(cookieVal1);
check(signed1 === encodeURIComponent(`${cookieVal1}.${sig1}`), "kSignedCookie1 == encodeURIComponent(value + '.' + b64(HMAC))");
check(signed2 === encodeURIComponent(`${cookieVal2}.${await hmac(cookieVal2)}`), "kSignedCookie2 == encodeURIComponent(value + '.' + b64(HMAC))");
add("kCookieSignature1", sig1, "standard base64 (padded, 44 chars) HMAC-SHA256(kSecret, kCookieValue1)");

// Round trip through better-call's own parser + verifier (getSignedCookie).
{
  const ctx = await betterCall.createInternalContext(
    { headers: new Headers({ cookie: `${cookieName}=${signed2}` }) },
    { options: {}, path: "/" },
  );
  const got = await ctx.getSignedCookie(cookieName, secret);
  check(got === cookieVal2, "better-call getSignedCookie round-trips kSignedCookie2");
  const ctxBad = await betterCall.createInternalContext(
    { headers: new Headers({ cookie: `${cookieName}=${signed1}` }) },
    { options: {}, path: "/" },
  );
  check((await ctxBad.getSignedCookie(cookieName, secret + "x")) === false, "getSignedCookie with wrong secret returns false");
}

// ---------------------------------------------------------------- symmetricEncrypt
// better-auth/dist/crypto/index.mjs: key = SHA-256(UTF-8(secret)) (32 bytes);
// managedNonce(xchacha20poly1305): 24-byte random nonce prepended; output =
// lowercase hex( nonce(24) || ciphertext || tag(16) ); no associated data.
const symData = '{"kty":"RSA","n":"abc","e":"AQAB"}';
const symCt = await baCrypto.symmetricEncrypt({ key: secret, data: symData });
check(symCt.length === 2 * (24 + te.encode(symData).length + 16), "symmetricEncrypt output length = 2*(24+len+16) hex chars");
check((await baCrypto.symmetricDecrypt({ key: secret, data: symCt })) === symData, "symmetricDecrypt(symmetricEncrypt(data)) == data");
add("kSymmetricPlaintext", symData, "symmetricEncrypt data");
add("kSymmetricCiphertext", symCt, "symmetricEncrypt({key: kSecret, data}) = hex(nonce24 || ct || tag16)");

// Deterministic: fixed nonce, same primitive, confirmed by symmetricDecrypt.
const fixedNonce = Uint8Array.from({ length: 24 }, (_, i) => i);
const symKey = sha256(te.encode(secret));
const fixedCt = hex(fixedNonce) + hex(xchacha20poly1305(symKey, fixedNonce).encrypt(te.encode(symData)));
check((await baCrypto.symmetricDecrypt({ key: secret, data: fixedCt })) === symData, "symmetricDecrypt accepts fixed-nonce ciphertext");
add("kSymmetricKeyHex", hex(symKey), "SHA-256(kSecret): the XChaCha20-Poly1305 key");
add("kSymmetricCiphertextFixedNonce", fixedCt, "same plaintext with nonce = 00 01 .. 17 (hex prefix)");

// How the jwt plugin stores the private key in the jwks table:
// JSON.stringify(await symmetricEncrypt(...)) -> a JSON string literal, i.e. the
// hex wrapped in double quotes; read back with JSON.parse before decrypting.
add("kJwksStoredPrivateKeyFixedNonce", JSON.stringify(fixedCt), "jwks.privateKey column form: JSON.stringify(hex ciphertext)");

// ---------------------------------------------------------------- generateId
const id = baUtils.generateId();
check(/^[A-Za-z0-9]{32}$/.test(id), "generateId() is 32 chars of [a-zA-Z0-9]");
add("kGeneratedIdExample", id, "generateId(): 32 chars from a-z A-Z 0-9 (rejection sampling, bytes < 248 kept, idx = b % 62)");
const rnd = baCrypto.generateRandomString(32);
check(/^[A-Za-z0-9_-]{32}$/.test(rnd), "generateRandomString(32) uses a-z0-9A-Z-_");
add("kGeneratedRandomStringExample", rnd, "better-auth/crypto generateRandomString(32): alphabet a-z 0-9 A-Z - _ (64 chars)");

// ---------------------------------------------------------------- RS256 JWT
// Key pair via the jwt plugin's own generateExportedKeyPair (jose
// generateKeyPair(alg, {...cfg, extractable: true}) + exportJWK). The plugin's
// default is EdDSA/Ed25519; RS256 is what we request here.
const { publicWebKey, privateWebKey } = await baJwt.generateExportedKeyPair({
  jwks: { keyPairConfig: { alg: "RS256", modulusLength: 2048 } },
});
const kid = "k1";
const payload = {
  sub: "u1",
  iss: "http://127.0.0.1:3211",
  aud: "convex",
  iat: 1700000000,
  exp: 4102444800,
  sessionId: "s1",
};
// Same builder chain as better-auth/dist/plugins/jwt/sign.mjs signJWT().
const privKey = await jose.importJWK(privateWebKey, "RS256");
const token = await new jose.SignJWT(payload)
  .setProtectedHeader({ alg: "RS256", kid })
  .setExpirationTime(payload.exp)
  .setIssuer(payload.iss)
  .setAudience(payload.aud)
  .setIssuedAt(payload.iat)
  .setSubject(payload.sub)
  .sign(privKey);
{
  const pub = await jose.importJWK(publicWebKey, "RS256");
  const { payload: got, protectedHeader } = await jose.jwtVerify(token, pub, {
    issuer: payload.iss,
    audience: payload.aud,
  });
  check(got.sessionId === "s1" && protectedHeader.kid === kid, "jose.jwtVerify(kRs256Token, public JWK)");
}
add("kRsaPublicJwk", JSON.stringify(publicWebKey), "exportJWK(publicKey) of an RSA-2048 RS256 pair (as stored in jwks.publicKey)");
add("kRsaPrivateJwk", JSON.stringify(privateWebKey), "exportJWK(privateKey) (what symmetricEncrypt encrypts into jwks.privateKey)");
add("kRs256Token", token, "RS256 JWT, header {alg:RS256,kid:k1}, payload " + JSON.stringify(payload));
// JWKS endpoint shape: {keys:[{alg, crv, ...publicJwk, kid}]} (crv undefined for RSA -> dropped by JSON).
add("kJwksResponse", JSON.stringify({ keys: [{ alg: "RS256", crv: undefined, ...publicWebKey, kid }] }),
  "GET /api/auth/jwks body shape for this key");

// ---------------------------------------------------------------- emit
function cppEscape(s) {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x3f) out += "?"; // trigraphs are gone in C++17; keep literal
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\" + b.toString(8).padStart(3, "0"); // octal: at most 3 digits, never greedy
  }
  return out;
}

const lines = [];
lines.push("// Generated by better-auth@1.4.7 via the script tools/vectors/better_auth_vectors.mjs");
lines.push("// (run with the real npm packages; do not edit by hand). Package versions:");
lines.push("//   " + Object.entries(versions).map(([k, v]) => `${k}@${v}`).join(", "));
lines.push("// Values depending on Better Auth's own randomness (salts, nonces, RSA key,");
lines.push("// ids) are one run's output; the *Fixed* entries are reproducible.");
lines.push("// Non-ASCII bytes are written as octal escapes (UTF-8).");
lines.push("#pragma once");
lines.push("");
lines.push("namespace cvx::auth::testdata {");
lines.push("");
for (const [name, value, comment] of entries) {
  if (comment) lines.push(`// ${comment}`);
  lines.push(`inline constexpr char ${name}[] = "${cppEscape(value)}";`);
}
lines.push("");
lines.push("}  // namespace cvx::auth::testdata");
lines.push("");
const header = lines.join("\n");
if (process.argv[2]) {
  writeFileSync(process.argv[2], header);
  log(`wrote ${process.argv[2]}`);
} else {
  process.stdout.write(header);
}
log("all checks passed");
