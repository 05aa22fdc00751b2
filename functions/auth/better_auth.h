// File: functions/auth/better_auth.h
//
// Better Auth installed locally (better-auth.md; design: docs/design/better-auth.md):
// email and password sign-in with the Convex plugin, its tables in the app schema, its
// triggers inside the writing transaction, `/api/auth/*` for the real better-auth client.
//
//   auth::BetterAuth auth(options, triggers);
//   SchemaDefinition schema = ...;  auth.AddTables(schema);  app.SetSchema(schema);
//   auth.Register(app);   // auth:* internal functions and the /api/auth routes
//
// Every /api/auth request runs as ONE mutation transaction: a sign-up commits its user,
// account, session and everything their triggers write together, or nothing. A response
// with status >= 400 rolls the transaction back. Password hashing runs before the
// transaction where it can (sign-up, change-password) and verification is memoized per
// request, so OCC retries never repeat scrypt.
//
// Runtime configuration comes from environment variables (ctx.Env, which the CLI backs
// with its flags):
//   BETTER_AUTH_SECRET (else AUTH_SECRET, else CONVEXLITE_DEFAULT_AUTH_SECRET, the CLI's
//                                          generated one)  >= 32 chars; signs cookies,
//                                          encrypts JWK private keys
//   CONVEX_SITE_URL                        the base URL: JWT issuer, trusted origin,
//                                          https -> "__Secure-" cookies
//   CONVEXLITE_FAST_PASSWORD_HASH = "1"    the insecure test hash (crypto.h)
//
// Wire behavior follows better-auth@1.4.7 (docs/design/better-auth-transcripts.md): the
// status codes, {code, message} bodies, empty 401/404/500 bodies, cookie strings, the
// origin check on cookie-carrying POSTs, bearer tokens, rate limits and CORS; dates are
// ms numbers as with the Convex adapters.
//
// Thread safety: after Register(), all methods may be called concurrently.

#ifndef CVX_FUNCTIONS_AUTH_BETTER_AUTH_H_
#define CVX_FUNCTIONS_AUTH_BETTER_AUTH_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/value/value.h"
#include "functions/app.h"
#include "functions/auth/adapter.h"
#include "functions/auth/crypto.h"
#include "functions/auth/model.h"
#include "functions/context.h"
#include "functions/http_router.h"

namespace cvx::auth {

struct BetterAuthOptions {
  std::string base_path = "/api/auth";
  ModelOptions models;
  double expires_in_s = 7 * 24 * 3600;  // session lifetime
  double update_age_s = 24 * 3600;      // sliding refresh after this much
  double jwt_expiration_s = 15 * 60;
  size_t min_password_length = 8;
  size_t max_password_length = 128;
  bool auto_sign_in = true;
  bool delete_user_enabled = false;
  // Trusted origins besides the site URL's; "*" matches any run of characters.
  std::vector<std::string> trusted_origins;
  bool cors = false;  // answer preflights and add CORS headers for trusted origins
  struct RateLimit {
    bool enabled = true;
    double window_s = 10;
    int max = 100;
    int strict_max = 3;  // /sign-in*, /sign-up*, /change-password, /change-email
  } rate_limit;
};

// The JWT claims and key rows of the Convex plugin.
struct JwksRow {
  std::string id;
  std::string public_key;   // JWK JSON
  std::string private_key;  // JSON string literal of the encrypted private JWK
  double created_at = 0;
};

class BetterAuth {
 public:
  explicit BetterAuth(BetterAuthOptions options = {}, Triggers triggers = {});
  BetterAuth(const BetterAuth&) = delete;
  BetterAuth& operator=(const BetterAuth&) = delete;

  const Models& models() const { return models_; }
  const BetterAuthOptions& options() const { return options_; }
  void AddTables(SchemaDefinition& schema) const { models_.AddTables(schema); }

  // Registers auth:create ... auth:deleteMany, auth:getLatestJwks, auth:rotateKeys, the
  // routes under base_path (GET and POST; OPTIONS with cors) and the root
  // /.well-known/openid-configuration redirect. `this` must outlive `app`.
  void Register(App& app);

  // One /api/auth request (the registered route handler).
  [[nodiscard]] absl::StatusOr<HttpActionResponse> Handle(ActionCtx& ctx,
                                                          const HttpActionRequest& request);

  // An adapter over `ctx` with these models and triggers.
  Adapter MakeAdapter(MutationCtx& ctx) const { return Adapter(&ctx, &models_, &triggers_); }

  // The session a Convex function's caller holds: the identity's sessionId, read from the
  // session table, or nullopt when absent or expired (unlike better-auth-convex's
  // getSession, this checks expiresAt, as the official safeGetAuthUser does).
  [[nodiscard]] static absl::StatusOr<std::optional<Value>> GetSession(
      DatabaseReader& db, const Auth& auth, double now_ms);
  // The identity's subject (the user id), or nullopt.
  static std::optional<std::string> GetAuthUserId(const Auth& auth);
  // {authorization: "Bearer <session token>", x-forwarded-for: <ipAddress>} for a session.
  static std::map<std::string, std::string> GetHeaders(const Value& session);

  // The newest key row, creating one when there is none (or the newest expired). A key
  // generated here is kept in `*generated` (when given) and reused by a retried transaction.
  [[nodiscard]] absl::StatusOr<JwksRow> LatestJwks(MutationCtx& ctx, std::string_view secret,
                                                   std::optional<JwkPair>* generated = nullptr);
  // getLatestJwks / rotateKeys output: [{id, publicKey, privateKey, createdAt, alg}].
  static Value JwksRowsValue(const JwksRow& row);
  // Converts a JWKS env value (getLatestJwks output rows, or a {keys} document) into a
  // {keys:[{alg, kty, n, e, kid}]} JSON document; nullopt when malformed.
  static std::optional<std::string> PublicJwksFromEnv(std::string_view env_value);

 private:
  struct Request;
  // The runtime configuration of one request (see the file comment).
  struct Config {
    std::string secret;
    std::string site_url;
    bool fast_hash = false;
    bool secure = false;
    std::string prefix;  // "better-auth." or "__Secure-better-auth."
    std::vector<std::string> trusted;
    bool Trusted(std::string_view url_or_origin) const;
    std::string SetCookie(std::string_view name, std::string_view value,
                          std::optional<double> max_age) const;
    std::string SignedCookie(std::string_view name, std::string_view value,
                             std::optional<double> max_age) const;
  };
  absl::StatusOr<Config> LoadConfig(ActionCtx& ctx) const;
  bool RateLimited(const Request& r, double now_ms, HttpActionResponse* out);

  BetterAuthOptions options_;
  Models models_;
  Triggers triggers_;

  // Parsed signing keys by jwks row (id + stored private key), so a JWT costs one RSA
  // signature rather than a decrypt and a key import.
  absl::StatusOr<std::shared_ptr<const RsaSigner>> Signer(const std::string& id,
                                                          const std::string& stored_private_key,
                                                          const std::string& secret);
  std::mutex signers_mu_;
  std::map<std::string, std::shared_ptr<const RsaSigner>> signers_;  // guarded by signers_mu_

  std::mutex rate_mu_;
  std::map<std::string, std::pair<int, double>> rate_;  // key -> (count, window start ms)
};

}  // namespace cvx::auth

#endif  // CVX_FUNCTIONS_AUTH_BETTER_AUTH_H_
