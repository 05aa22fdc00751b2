// File: functions/auth/jwt.h
//
// JWT verification for Convex's auth providers (convex-protocol.md §7,
// crates/authentication/src/lib.rs), on OpenSSL:
//   customJwt  {issuer, jwks (data: URI or URL), algorithm RS256|ES256, applicationID?}
//   OIDC       {domain, applicationID}: RS256 or EdDSA keys from the issuer's JWKS
//
// A token is matched to a provider by its (unverified) `iss`, normalized the way Convex
// does (https:// added when no scheme, trailing '/' stripped); then its header `alg` must
// be the provider's algorithm (never "none" or an HMAC), its `kid` must name a key of the
// provider's JWKS (or the JWKS must hold exactly one key when there is no kid), the
// signature must verify, `aud` must contain the applicationID when the provider has one,
// `sub` and `exp` must be present, and exp/nbf hold with 5 s leeway.
//
// The identity (ctx.auth.getUserIdentity()) is {tokenIdentifier: "<iss>|<sub>", issuer,
// subject, ...}: for customJwt every other non-registered claim, nested objects flattened
// to dotted keys and `fva` dropped; for OIDC the standard claims as Convex's camelCase
// fields (name, givenName, email, emailVerified, pictureUrl, ...) plus the rest.
//
// Verified tokens are cached until they expire (bounded), so a token is verified once.
// Keys fetched from a URL are refetched when a token names an unknown kid (key rotation),
// at most once every 10 s.
// Thread safety: Verify may be called concurrently.

#ifndef CVX_FUNCTIONS_AUTH_JWT_H_
#define CVX_FUNCTIONS_AUTH_JWT_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/clock.h"
#include "engine/value/value.h"

namespace cvx {

// Provider fields may contain "${CONVEX_SITE_URL}" and "${env:NAME}" (a deployment
// environment variable), resolved through the verifier's FieldResolver when used, as
// auth.config.ts reads process.env.
struct AuthProvider {
  enum class Type { kOidc, kCustomJwt };
  Type type = Type::kCustomJwt;
  std::string issuer;  // customJwt issuer, or the OIDC domain
  std::optional<std::string> application_id;
  std::string jwks;       // customJwt: a data: URI or URL. OIDC: empty (discovered).
  std::string algorithm;  // customJwt: "RS256" or "ES256"
};

// Fetches a URL's body (JWKS documents, OIDC discovery). Returns kUnavailable on failure.
using UrlFetcher = std::function<absl::StatusOr<std::string>(const std::string& url)>;

// Resolves "${...}" placeholders in provider fields (identity when null).
using FieldResolver = std::function<std::string(const std::string&)>;

class JwtVerifier {
 public:
  JwtVerifier(std::vector<AuthProvider> providers, Clock* clock = SystemClock(),
              UrlFetcher fetch = nullptr, FieldResolver resolve = nullptr);
  ~JwtVerifier();

  // The identity of a valid token. kUnauthenticated with tag "NoAuthProvider" when no
  // provider matches the issuer, else "InvalidAuthHeader" with the reason.
  [[nodiscard]] absl::StatusOr<Object> Verify(std::string_view token);

  // Drops cached keys (e.g. after a JWKS rotation) and verified tokens.
  void Reset();

 private:
  struct Keys;
  // The provider's keys, cached by issuer and resolved JWKS source; `refresh` refetches.
  absl::StatusOr<std::shared_ptr<const Keys>> KeysFor(const AuthProvider& provider,
                                                      bool refresh = false);

  std::vector<AuthProvider> providers_;
  Clock* clock_;
  UrlFetcher fetch_;
  FieldResolver resolve_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Keys>> keys_;  // by issuer; guarded by mu_
  std::map<std::string, std::pair<Object, double>> cache_;   // token -> (identity, exp)
};

// Base64url without padding (RFC 7515), used by JWTs and JWKs.
std::string Base64UrlEncode(std::string_view bytes);
[[nodiscard]] bool Base64UrlDecode(std::string_view text, std::string* out);

// Normalizes an issuer as Convex compares them.
std::string NormalizeIssuer(std::string_view issuer);

}  // namespace cvx

#endif  // CVX_FUNCTIONS_AUTH_JWT_H_
