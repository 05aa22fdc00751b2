#include "functions/auth/better_auth.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/auth/crypto.h"
#include "functions/auth/jwt.h"
#include "functions/errors.h"

namespace cvx::auth {
namespace {

using Op = Where::Op;
constexpr double kDay = 24 * 3600;

// ---- small helpers ----

std::string JsonString(std::string_view s) {
  std::string out;
  AppendConvexJson(Value::String(std::string(s)), &out);
  return out;
}

// encodeURIComponent over UTF-8 bytes.
std::string EncodeUriComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || std::string_view("-_.!~*'()").find(c) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string DecodeUriComponent(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    std::string byte;
    if (s[i] == '%' && i + 2 < s.size() && HexDecode(s.substr(i + 1, 2), &byte)) {
      out += byte;
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseCookies(std::string_view header) {
  std::map<std::string, std::string> out;
  for (absl::string_view piece : absl::StrSplit(AV(header), ';')) {
    std::string_view part = SV(absl::StripAsciiWhitespace(piece));
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(SV(absl::StripAsciiWhitespace(AV(part.substr(0, eq)))));
    out.emplace(name, std::string(SV(absl::StripAsciiWhitespace(AV(part.substr(eq + 1))))));
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view url) {
  std::map<std::string, std::string> out;
  size_t q = url.find('?');
  if (q == std::string_view::npos) return out;
  for (absl::string_view piece : absl::StrSplit(AV(url.substr(q + 1)), '&')) {
    std::string_view kv = SV(piece);
    size_t eq = kv.find('=');
    out[DecodeUriComponent(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : DecodeUriComponent(kv.substr(eq + 1));
  }
  return out;
}

// The origin ("scheme://host[:port]") of an absolute URL, or "".
std::string OriginOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t end = url.find_first_of("/?#", scheme + 3);
  return absl::AsciiStrToLower(AV(url.substr(0, end)));
}

// A trusted-origin pattern: '*' matches any run of characters ("https://*.example.com").
bool WildcardMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// zod's email pattern, by hand (std::regex costs tens of µs per match):
//   ^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$
bool IsValidEmail(std::string_view email) {
  size_t at = email.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  if (local.front() == '.' || email.find("..") != std::string_view::npos) return false;
  for (char c : local) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("_'+-.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  char last = local.back();
  if (last == '.' || last == '\'') return false;
  // Labels: [A-Za-z0-9][A-Za-z0-9-]* each followed by '.', then a TLD of 2+ letters.
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string_view tld = domain.substr(dot + 1);
  if (tld.size() < 2) return false;
  for (char c : tld) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  for (absl::string_view label : absl::StrSplit(AV(domain.substr(0, dot)), '.')) {
    if (label.empty() || !absl::ascii_isalnum(static_cast<unsigned char>(label[0]))) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

const char* JsTypeName(const Value* v) {
  if (v == nullptr) return "undefined";
  switch (v->type()) {
    case ValueType::kNull: return "null";
    case ValueType::kBoolean: return "boolean";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kObject: return "object";
    default: return "number";
  }
}

// The {code, message} code of a message: upper-cased, spaces to '_', other symbols dropped.
std::string CodeOf(std::string_view message) {
  std::string code;
  for (char c : message) {
    if (c == ' ') {
      code.push_back('_');
    } else if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      code.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  return code;
}

HttpActionResponse JsonResponse(int status, std::string body) {
  HttpActionResponse r;
  r.status = status;
  r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

HttpActionResponse ErrorResponse(int status, std::string_view message,
                                 std::string_view code = {}) {
  return JsonResponse(status, absl::StrCat("{\"code\":",
                                           JsonString(code.empty() ? CodeOf(message) : code),
                                           ",\"message\":", JsonString(message), "}"));
}

HttpActionResponse EmptyResponse(int status, bool json_content_type) {
  HttpActionResponse r;
  r.status = status;
  if (json_content_type) r.headers["content-type"] = "application/json";
  return r;
}

// A Better Auth document as JSON, fields in the model's order and `id` last.
std::string ModelJson(const ModelSpec& model, const Value& doc,
                      const std::vector<std::string>* only = nullptr) {
  std::string out = "{";
  auto field = [&](const std::string& name, const Value& v) {
    if (out.size() > 1) out.push_back(',');
    out += JsonString(name);
    out.push_back(':');
    AppendConvexJson(v, &out);
  };
  if (only != nullptr) {
    for (const std::string& name : *only) {
      if (const Value* v = doc.Find(name)) field(name, *v);
    }
    return out + "}";
  }
  for (const FieldSpec& f : model.fields) {
    if (const Value* v = doc.Find(f.name)) field(f.name, *v);
  }
  if (const Value* id = doc.Find("id")) field("id", *id);
  return out + "}";
}

double Num(const Value& doc, std::string_view field) {
  const Value* v = doc.Find(field);
  if (v == nullptr) return 0;
  return v->is_float64() ? v->float64() : v->is_int64() ? static_cast<double>(v->int64()) : 0;
}

std::string Str(const Value& doc, std::string_view field) {
  const Value* v = doc.Find(field);
  return v != nullptr && v->is_string() ? v->string() : "";
}

// Rolls the request's transaction back: the response travels beside this error.
constexpr char kRollbackMarker[] = "__better_auth_rollback__";

}  // namespace

// ---- per-request state ----

bool BetterAuth::Config::Trusted(std::string_view url_or_origin) const {
  std::string origin = OriginOf(url_or_origin);
  if (origin.empty()) return false;
  for (const std::string& t : trusted) {
    if (t.find('*') != std::string::npos) {
      if (WildcardMatch(absl::AsciiStrToLower(t), origin)) return true;
    } else if (OriginOf(t) == origin) {
      return true;
    }
  }
  return false;
}

std::string BetterAuth::Config::SetCookie(std::string_view name, std::string_view value,
                                          std::optional<double> max_age) const {
  std::string c = absl::StrCat(prefix, AV(name), "=", AV(value));
  if (max_age) absl::StrAppend(&c, "; Max-Age=", static_cast<int64_t>(*max_age));
  absl::StrAppend(&c, "; Path=/; HttpOnly");
  if (secure) absl::StrAppend(&c, "; Secure");
  absl::StrAppend(&c, "; SameSite=Lax");
  return c;
}

std::string BetterAuth::Config::SignedCookie(std::string_view name, std::string_view value,
                                             std::optional<double> max_age) const {
  return SetCookie(name, EncodeUriComponent(SignCookieValue(value, secret)), max_age);
}

struct BetterAuth::Request {
  std::string method;
  std::string path;  // below base_path, e.g. "/sign-in/email"
  std::map<std::string, std::string> query;
  const HttpActionRequest* http = nullptr;
  Object body;
  std::map<std::string, std::string> cookies;  // raw values, after the bearer injection
  std::string ip;  // first x-forwarded-for entry, or ""
  std::string user_agent;

  std::string Header(const std::string& name) const {
    auto it = http->headers.find(name);
    return it == http->headers.end() ? "" : it->second;
  }
  const Value* Field(std::string_view name) const {
    auto it = body.find(std::string(name));
    return it == body.end() ? nullptr : &it->second;
  }
};

BetterAuth::BetterAuth(BetterAuthOptions options, Triggers triggers)
    : options_(std::move(options)), models_(options_.models), triggers_(std::move(triggers)) {}

absl::StatusOr<BetterAuth::Config> BetterAuth::LoadConfig(ActionCtx& ctx) const {
  Config c;
  std::optional<std::string> secret = ctx.Env("BETTER_AUTH_SECRET");
  if (!secret || secret->empty()) secret = ctx.Env("AUTH_SECRET");
  if (!secret || secret->empty()) secret = ctx.Env("CONVEXLITE_DEFAULT_AUTH_SECRET");
  if (!secret || secret->size() < 32) {
    return absl::FailedPreconditionError(
        "Better Auth needs BETTER_AUTH_SECRET (at least 32 characters)");
  }
  c.secret = *secret;
  c.site_url = ctx.Env("CONVEX_SITE_URL").value_or("");
  while (!c.site_url.empty() && c.site_url.back() == '/') c.site_url.pop_back();
  c.fast_hash = ctx.Env("CONVEXLITE_FAST_PASSWORD_HASH").value_or("") == "1";
  c.secure = absl::StartsWith(c.site_url, "https://");
  c.prefix = c.secure ? "__Secure-better-auth." : "better-auth.";
  if (!c.site_url.empty()) c.trusted.push_back(c.site_url);
  for (const std::string& t : options_.trusted_origins) c.trusted.push_back(t);
  return c;
}

namespace {

// The first 12 bytes of an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// The rate limiter's key for a client address: every textual form of one address is one
// key, an IPv4-mapped IPv6 address is its IPv4 address, and IPv6 addresses are grouped by
// their /64, which one host commonly holds whole (rotating within it must not reset the
// count; CVE-2026-45364). Text that is not an address is its own key.
std::string RateLimitKey(const std::string& ip) {
  unsigned char bytes[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) {
    return inet_ntop(AF_INET, bytes, text, sizeof(text)) ? text : ip;
  }
  std::string v6 = ip;
  if (v6.size() > 2 && v6.front() == '[' && v6.back() == ']') v6 = v6.substr(1, v6.size() - 2);
  if (size_t zone = v6.find('%'); zone != std::string::npos) v6.resize(zone);
  if (inet_pton(AF_INET6, v6.c_str(), bytes) != 1) return ip;
  if (std::memcmp(bytes, kMapped, 12) == 0) {
    return inet_ntop(AF_INET, bytes + 12, text, sizeof(text)) ? text : ip;
  }
  std::memset(bytes + 8, 0, 8);
  return inet_ntop(AF_INET6, bytes, text, sizeof(text)) ? absl::StrCat(text, "/64") : ip;
}

// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z.
bool IsLoopback(const std::string& ip) {
  unsigned char bytes[16];
  if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) return bytes[0] == 127;
  if (inet_pton(AF_INET6, ip.c_str(), bytes) != 1) return false;
  static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(bytes, kLoopback, 16) == 0 || (std::memcmp(bytes, kMapped, 12) == 0 && bytes[12] == 127);
}

}  // namespace

bool BetterAuth::RateLimited(const Request& r, double now_ms, HttpActionResponse* out) {
  // Better Auth keys on the forwarded address; without one, on the peer's address, so a
  // direct client from the network is limited too. Loopback peers (the developer's own
  // tests and tools) are not, as Better Auth does not limit a request without an address.
  std::string ip = r.ip;
  if (ip.empty() && r.http != nullptr && !IsLoopback(r.http->remote_addr)) ip = r.http->remote_addr;
  if (!options_.rate_limit.enabled || ip.empty()) return false;
  bool strict = absl::StartsWith(r.path, "/sign-in") || absl::StartsWith(r.path, "/sign-up") ||
                r.path == "/change-password" || r.path == "/change-email";
  int max = strict ? options_.rate_limit.strict_max : options_.rate_limit.max;
  double window_ms = options_.rate_limit.window_s * 1000;
  std::lock_guard<std::mutex> lock(rate_mu_);
  if (rate_.size() > 100000) rate_.clear();  // bounded memory under a flood of IPs
  auto& [count, last] = rate_[RateLimitKey(ip) + " " + r.path];
  if (count > 0 && now_ms - last > window_ms) count = 0;
  if (count >= max) {
    double retry = std::ceil((last + window_ms - now_ms) / 1000);
    out->status = 429;
    out->headers["content-type"] = "text/plain;charset=UTF-8";
    out->headers["x-retry-after"] = absl::StrCat(static_cast<int64_t>(std::max(retry, 0.0)));
    out->body = R"({"message":"Too many requests. Please try again later."})";
    return true;
  }
  ++count;
  last = now_ms;
  return false;
}

// ---- sessions, users, JWTs: the internal adapter ----

namespace {

class Session {
 public:
  Session(MutationCtx& ctx, Adapter& db, const BetterAuthOptions& options)
      : ctx_(ctx), db_(db), options_(options) {}

  absl::StatusOr<std::optional<Value>> UserByEmail(const std::string& email) {
    return db_.FindOne("user", {Where{"email", Value::String(absl::AsciiStrToLower(email))}});
  }
  absl::StatusOr<std::optional<Value>> UserById(const std::string& id) {
    return db_.FindOne("user", {Where{"id", Value::String(id)}});
  }
  absl::StatusOr<std::optional<Value>> CredentialAccount(const std::string& user_id) {
    return db_.FindOne("account", {Where{"userId", Value::String(user_id)},
                                   Where{"providerId", Value::String("credential")}});
  }
  absl::StatusOr<Value> Create(const std::string& user_id, bool dont_remember,
                               const std::string& ip, const std::string& ua) {
    double now = ctx_.Now();
    double expires = now + (dont_remember ? kDay : options_.expires_in_s) * 1000;
    return db_.Create("session", {{"ipAddress", Value::String(ip)},
                                  {"userAgent", Value::String(ua)},
                                  {"expiresAt", Value::Float64(expires)},
                                  {"userId", Value::String(user_id)},
                                  {"token", Value::String(GenerateId(32))},
                                  {"createdAt", Value::Float64(now)},
                                  {"updatedAt", Value::Float64(now)}});
  }
  absl::StatusOr<std::optional<Value>> ByToken(const std::string& token) {
    return db_.FindOne("session", {Where{"token", Value::String(token)}});
  }
  absl::Status DeleteByToken(const std::string& token) {
    return db_.DeleteOne("session", {Where{"token", Value::String(token)}});
  }

 private:
  MutationCtx& ctx_;
  Adapter& db_;
  const BetterAuthOptions& options_;
};

// The rows of a static JWKS: the JWKS variable when it holds getLatestJwks output with
// private keys, newest first; empty otherwise.
std::vector<Value> StaticJwks(MutationCtx& ctx) {
  std::optional<std::string> env = ctx.Env("JWKS");
  if (!env) return {};
  absl::StatusOr<Value> parsed = ParseConvexJson(*env);
  if (!parsed.ok() || !parsed->is_array()) return {};
  std::vector<Value> rows;
  for (const Value& row : parsed->array()) {
    if (row.is_object() && !Str(row, "id").empty() && !Str(row, "privateKey").empty() &&
        !Str(row, "publicKey").empty()) {
      rows.push_back(row);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Value& a, const Value& b) {
    return Num(a, "createdAt") > Num(b, "createdAt");
  });
  return rows;
}

// The session cookie's token when its signature verifies.
std::optional<std::string> SessionToken(const std::map<std::string, std::string>& cookies,
                                        const std::string& prefix, const std::string& secret) {
  auto it = cookies.find(prefix + "session_token");
  if (it == cookies.end()) return std::nullopt;
  std::string raw = it->second.find('%') != std::string::npos ? DecodeUriComponent(it->second)
                                                                : it->second;
  return VerifySignedCookie(raw, secret);
}

bool DontRemember(const std::map<std::string, std::string>& cookies, const std::string& prefix,
                  const std::string& secret) {
  auto it = cookies.find(prefix + "dont_remember");
  if (it == cookies.end()) return false;
  return VerifySignedCookie(DecodeUriComponent(it->second), secret) == "true";
}

}  // namespace

Value BetterAuth::JwksRowsValue(const JwksRow& row) {
  return Value::FromArray({Value::FromObject({{"id", Value::String(row.id)},
                                              {"publicKey", Value::String(row.public_key)},
                                              {"privateKey", Value::String(row.private_key)},
                                              {"createdAt", Value::Float64(row.created_at)},
                                              {"alg", Value::String("RS256")}})});
}

absl::StatusOr<JwksRow> BetterAuth::LatestJwks(MutationCtx& ctx, std::string_view secret,
                                               std::optional<JwkPair>* generated) {
  Adapter db = MakeAdapter(ctx);
  CVX_ASSIGN_OR_RETURN(std::vector<Value> rows,
                       db.FindMany("jwks", {}, 1, SortBy{"createdAt", true}));
  bool usable = !rows.empty();
  if (usable) {
    const Value* expires = rows[0].Find("expiresAt");
    usable = expires == nullptr || expires->is_null() || Num(rows[0], "expiresAt") > ctx.Now();
  }
  if (!usable) {
    std::optional<JwkPair> local;
    if (generated == nullptr) generated = &local;
    if (!*generated) {
      CVX_ASSIGN_OR_RETURN(JwkPair fresh, GenerateRsaJwk());
      *generated = std::move(fresh);
    }
    const JwkPair& pair = **generated;
    CVX_ASSIGN_OR_RETURN(
        Value row,
        db.Create("jwks", {{"publicKey", Value::String(pair.public_jwk)},
                           {"privateKey", Value::String(JsonString(SymmetricEncrypt(secret, pair.private_jwk)))},
                           {"createdAt", Value::Float64(ctx.Now())}}));
    rows = {row};
  }
  return JwksRow{Str(rows[0], "id"), Str(rows[0], "publicKey"), Str(rows[0], "privateKey"),
                 Num(rows[0], "createdAt")};
}

absl::StatusOr<std::shared_ptr<const RsaSigner>> BetterAuth::Signer(
    const std::string& id, const std::string& stored_private_key, const std::string& secret) {
  const std::string key = id + "\n" + stored_private_key + "\n" + Sha256(secret);
  {
    std::lock_guard<std::mutex> lock(signers_mu_);
    if (auto it = signers_.find(key); it != signers_.end()) return it->second;
  }
  absl::StatusOr<Value> stored = ParseConvexJson(stored_private_key);
  std::string private_jwk;
  if (stored.ok() && stored->is_string()) {
    CVX_ASSIGN_OR_RETURN(private_jwk, SymmetricDecrypt(secret, stored->string()));
  } else {
    private_jwk = stored_private_key;  // stored with disablePrivateKeyEncryption
  }
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<const RsaSigner> signer, RsaSigner::FromJwk(private_jwk));
  std::lock_guard<std::mutex> lock(signers_mu_);
  if (signers_.size() > 64) signers_.clear();  // rotated keys: keep the map small
  signers_.emplace(key, signer);
  return signer;
}

std::optional<std::string> BetterAuth::PublicJwksFromEnv(std::string_view env_value) {
  absl::StatusOr<Value> v = ParseConvexJson(env_value);
  if (!v.ok()) return std::nullopt;
  if (v->is_object() && v->Find("keys") != nullptr) return std::string(env_value);
  if (!v->is_array()) return std::nullopt;
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const Value& row : v->array()) {
    absl::StatusOr<Value> jwk = ParseConvexJson(Str(row, "publicKey"));
    if (!jwk.ok() || !jwk->is_object()) return std::nullopt;
    Object key = jwk->object();
    key["alg"] = Value::String(row.Find("alg") ? Str(row, "alg") : "RS256");
    key["kid"] = Value::String(Str(row, "id"));
    if (!first) out.push_back(',');
    first = false;
    out += ToCleanJson(Value::FromObject(std::move(key)));
  }
  return out + "]}";
}

std::optional<std::string> BetterAuth::GetAuthUserId(const Auth& auth) {
  std::optional<Value> identity = auth.GetUserIdentity();
  if (!identity) return std::nullopt;
  const Value* sub = identity->Find("subject");
  if (sub == nullptr || !sub->is_string()) return std::nullopt;
  return sub->string();
}

absl::StatusOr<std::optional<Value>> BetterAuth::GetSession(DatabaseReader& db, const Auth& auth,
                                                            double now_ms) {
  std::optional<Value> identity = auth.GetUserIdentity();
  if (!identity) return std::nullopt;
  const Value* sid = identity->Find("sessionId");
  if (sid == nullptr || !sid->is_string()) return std::nullopt;
  std::optional<std::string> id = db.NormalizeId("session", sid->string());
  if (!id) return std::nullopt;
  CVX_ASSIGN_OR_RETURN(std::optional<Value> session, db.Get(*id));
  if (!session || Num(*session, "expiresAt") <= now_ms) return std::nullopt;
  return session;
}

std::map<std::string, std::string> BetterAuth::GetHeaders(const Value& session) {
  std::map<std::string, std::string> h{{"authorization", "Bearer " + Str(session, "token")}};
  if (!Str(session, "ipAddress").empty()) h["x-forwarded-for"] = Str(session, "ipAddress");
  return h;
}

// ---- the request handler ----

namespace {

// A zod-shaped check of one body field: nullopt when fine, else the 400 response.
std::optional<HttpActionResponse> Expect(const Object& body, const std::string& field,
                                         const char* type, bool required) {
  auto it = body.find(field);
  const Value* v = it == body.end() ? nullptr : &it->second;
  if (v == nullptr && !required) return std::nullopt;
  if (std::string_view(JsTypeName(v)) == type) return std::nullopt;
  return ErrorResponse(400,
                       absl::StrCat("[body.", field, "] Invalid input: expected ", type,
                                    ", received ", JsTypeName(v)),
                       "VALIDATION_ERROR");
}

}  // namespace

absl::StatusOr<HttpActionResponse> BetterAuth::Handle(ActionCtx& actx,
                                                      const HttpActionRequest& http) {
  Request r;
  r.http = &http;
  r.method = http.method;
  const std::string& base = options_.base_path;
  if (!absl::StartsWith(http.path, base + "/")) return EmptyResponse(404, false);
  r.path = http.path.substr(base.size());
  r.query = ParseQuery(http.url);

  // Routing table: (method, path) -> endpoint; unknown -> 404 with no headers at all.
  enum class E { kSignUp, kSignIn, kSignOut, kGetSession, kListSessions, kRevokeSession,
                 kRevokeSessions, kRevokeOther, kUpdateUser, kChangePassword, kDeleteUser, kOk,
                 kToken, kJwks, kOpenId };
  static const std::map<std::pair<std::string, std::string>, E> kRoutes = {
      {{"POST", "/sign-up/email"}, E::kSignUp},
      {{"POST", "/sign-in/email"}, E::kSignIn},
      {{"POST", "/sign-out"}, E::kSignOut},
      {{"GET", "/get-session"}, E::kGetSession},
      {{"GET", "/list-sessions"}, E::kListSessions},
      {{"POST", "/revoke-session"}, E::kRevokeSession},
      {{"POST", "/revoke-sessions"}, E::kRevokeSessions},
      {{"POST", "/revoke-other-sessions"}, E::kRevokeOther},
      {{"POST", "/update-user"}, E::kUpdateUser},
      {{"POST", "/change-password"}, E::kChangePassword},
      {{"POST", "/delete-user"}, E::kDeleteUser},
      {{"GET", "/ok"}, E::kOk},
      {{"GET", "/convex/token"}, E::kToken},
      {{"GET", "/convex/jwks"}, E::kJwks},
      {{"GET", "/convex/.well-known/openid-configuration"}, E::kOpenId},
  };
  auto route = kRoutes.find({r.method, r.path});
  if (route == kRoutes.end()) return EmptyResponse(404, false);
  const E endpoint = route->second;

  absl::StatusOr<Config> loaded = LoadConfig(actx);
  if (!loaded.ok()) {
    actx.Log(LogLevel::kError, std::string(loaded.status().message()));
    return EmptyResponse(500, false);
  }
  const Config& config = *loaded;

  if (auto xff = http.headers.find("x-forwarded-for"); xff != http.headers.end()) {
    r.ip = std::string(SV(absl::StripAsciiWhitespace(
        AV(std::string_view(xff->second).substr(0, xff->second.find(','))))));
  }
  r.user_agent = r.Header("user-agent");
  HttpActionResponse limited;
  if (RateLimited(r, actx.Now(), &limited)) return limited;

  // Body: JSON only. No body and no content type reads as {}.
  if (r.method == "POST") {
    std::string type = r.Header("content-type");
    if (type.empty() && !http.body.empty()) {
      return ErrorResponse(415, "Content-Type is required. Allowed types: application/json",
                           "UNSUPPORTED_MEDIA_TYPE");
    }
    if (!type.empty()) {
      std::string mime = absl::AsciiStrToLower(
          absl::StripAsciiWhitespace(AV(std::string_view(type).substr(0, type.find(';')))));
      if (mime != "application/json") {
        return ErrorResponse(415,
                             absl::StrCat("Content-Type ", JsonString(type),
                                          " is not allowed. Allowed types: application/json"),
                             "UNSUPPORTED_MEDIA_TYPE");
      }
      absl::StatusOr<Value> body = ParseConvexJson(http.body);
      if (!body.ok() || !body->is_object()) return EmptyResponse(500, false);
      r.body = body->object();
    }
  }

  // Cookies, then the bearer plugin: a raw token is signed, a signed one verified, and
  // the result stands in for the session cookie.
  bool cookie_header = http.headers.count("cookie") > 0;
  if (cookie_header) r.cookies = ParseCookies(http.headers.at("cookie"));
  std::string authorization = r.Header("authorization");
  if (absl::StartsWithIgnoreCase(authorization, "bearer ")) {
    std::string token(SV(absl::StripAsciiWhitespace(AV(authorization.substr(7)))));
    std::string decoded = token.find('%') != std::string::npos ? DecodeUriComponent(token) : token;
    std::optional<std::string> signed_value;
    if (decoded.find('.') != std::string::npos) {
      if (VerifySignedCookie(decoded, config.secret)) signed_value = decoded;
    } else if (!decoded.empty()) {
      signed_value = SignCookieValue(decoded, config.secret);
    }
    if (signed_value) r.cookies[config.prefix + "session_token"] = EncodeUriComponent(*signed_value);
  }

  // Origin check: state-changing requests that carry cookies.
  if (r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS" && cookie_header) {
    std::string origin = r.Header("origin");
    if (origin.empty() || origin == "null") origin = r.Header("referer");
    if (origin.empty() || origin == "null") return ErrorResponse(403, "Missing or null Origin");
    if (!config.Trusted(origin)) return ErrorResponse(403, "Invalid origin");
  }
  for (const char* key : {"callbackURL", "redirectTo", "errorCallbackURL", "newUserCallbackURL"}) {
    const Value* v = r.Field(key);
    if (v == nullptr || !v->is_string()) continue;
    const std::string& url = v->string();
    bool relative = absl::StartsWith(url, "/") && !absl::StartsWith(url, "//") &&
                    url.find('\\') == std::string::npos;
    if (!relative && !config.Trusted(url)) {
      std::string name = key;
      name[0] = absl::ascii_tolower(name[0]);
      return ErrorResponse(403, absl::StrCat("Invalid ", name), absl::StrCat("INVALID_", absl::AsciiStrToUpper(name)));
    }
  }

  // Validation and hashing that need no database, before the transaction.
  std::string new_hash;
  auto password_length = [&](const std::string& pw) -> std::optional<HttpActionResponse> {
    size_t n = Utf16Length(pw);
    if (n < options_.min_password_length) return ErrorResponse(400, "Password too short");
    if (n > options_.max_password_length) return ErrorResponse(400, "Password too long");
    return std::nullopt;
  };
  const ModelSpec* user_model = models_.Find("user");
  const ModelSpec* session_model = models_.Find("session");
  Object extra_user_fields;  // sign-up / update-user input fields beyond the core ones
  switch (endpoint) {
    case E::kSignUp: {
      if (auto e = Expect(r.body, "name", "string", true)) return *e;
      if (r.Field("name")->string().empty()) {
        return ErrorResponse(400, "[body.name] Too small: expected string to have >=1 characters",
                             "VALIDATION_ERROR");
      }
      if (auto e = Expect(r.body, "email", "string", true)) return *e;
      if (!IsValidEmail(r.Field("email")->string())) {
        return ErrorResponse(400, "[body.email] Invalid email address", "VALIDATION_ERROR");
      }
      if (auto e = Expect(r.body, "password", "string", true)) return *e;
      if (auto e = Expect(r.body, "image", "string", false)) return *e;
      if (auto e = Expect(r.body, "callbackURL", "string", false)) return *e;
      if (auto e = Expect(r.body, "rememberMe", "boolean", false)) return *e;
      for (const auto& [k, v] : r.body) {
        static const std::set<std::string> kCore = {"name", "email", "password", "image",
                                                    "callbackURL", "rememberMe", "emailVerified",
                                                    "createdAt", "updatedAt", "id"};
        const FieldSpec* f = user_model->Field(k);
        if (kCore.count(k) || f == nullptr) continue;
        if (!f->input) return ErrorResponse(400, absl::StrCat(k, " is not allowed to be set"));
        extra_user_fields[k] = v;
      }
      if (auto e = password_length(r.Field("password")->string())) return *e;
      CVX_ASSIGN_OR_RETURN(new_hash, HashPassword(r.Field("password")->string(), config.fast_hash));
      break;
    }
    case E::kSignIn:
      if (auto e = Expect(r.body, "email", "string", true)) return *e;
      if (auto e = Expect(r.body, "password", "string", true)) return *e;
      if (auto e = Expect(r.body, "callbackURL", "string", false)) return *e;
      if (auto e = Expect(r.body, "rememberMe", "boolean", false)) return *e;
      if (!IsValidEmail(r.Field("email")->string())) return ErrorResponse(400, "Invalid email");
      break;
    case E::kRevokeSession:
      if (auto e = Expect(r.body, "token", "string", true)) return *e;
      break;
    case E::kChangePassword: {
      if (auto e = Expect(r.body, "newPassword", "string", true)) return *e;
      if (auto e = Expect(r.body, "currentPassword", "string", true)) return *e;
      if (auto e = Expect(r.body, "revokeOtherSessions", "boolean", false)) return *e;
      if (auto e = password_length(r.Field("newPassword")->string())) return *e;
      CVX_ASSIGN_OR_RETURN(new_hash,
                           HashPassword(r.Field("newPassword")->string(), config.fast_hash));
      break;
    }
    case E::kUpdateUser:
      if (r.Field("email") != nullptr) return ErrorResponse(400, "Email can not be updated");
      for (const auto& [k, v] : r.body) {
        const FieldSpec* f = user_model->Field(k);
        if (f == nullptr || k == "email" || k == "emailVerified" || k == "createdAt" ||
            k == "updatedAt") {
          continue;
        }
        if (!f->input) return ErrorResponse(400, absl::StrCat(k, " is not allowed to be set"));
        extra_user_fields[k] = v;
      }
      if (extra_user_fields.empty()) return ErrorResponse(400, "No fields to update");
      break;
    case E::kDeleteUser:
      if (!options_.delete_user_enabled) return EmptyResponse(404, true);
      break;
    case E::kOk:
      return JsonResponse(200, R"({"ok":true})");
    default:
      break;
  }

  // Verifications of stored hashes are memoized: an OCC retry must not rerun scrypt.
  std::map<std::pair<std::string, std::string>, bool> verified;
  auto verify = [&](const std::string& stored, const std::string& password) {
    auto key = std::make_pair(stored, password);
    auto it = verified.find(key);
    if (it == verified.end()) it = verified.emplace(key, VerifyPassword(stored, password, config.fast_hash)).first;
    return it->second;
  };
  std::optional<JwkPair> generated_key;  // reused across OCC retries

  HttpActionResponse response;
  bool rolled_back = false;
  auto body = [&](MutationCtx& ctx) -> absl::StatusOr<Value> {
    response = HttpActionResponse{};
    // Sets status, headers and body, keeping the cookies set so far.
    auto reply = [&](HttpActionResponse r) {
      r.set_cookies = std::move(response.set_cookies);
      response = std::move(r);
    };
    Adapter db = MakeAdapter(ctx);
    Session sessions(ctx, db, options_);
    const double now = std::floor(ctx.Now());  // Date.now(): whole ms
    auto cookies_for_session = [&](const Value& session, bool dont_remember) {
      response.set_cookies.push_back(config.SignedCookie(
          "session_token", Str(session, "token"),
          dont_remember ? std::nullopt : std::optional<double>(options_.expires_in_s)));
      if (dont_remember) {
        response.set_cookies.push_back(config.SignedCookie("dont_remember", "true", std::nullopt));
      }
    };
    auto clear_cookies = [&]() {
      for (const char* name : {"session_token", "session_data", "dont_remember"}) {
        response.set_cookies.push_back(config.SetCookie(name, "", 0.0));
      }
    };
    // The Convex plugin's JWT for a session.
    auto mint_jwt = [&](const Value& session, const Value& user) -> absl::StatusOr<std::string> {
      // A static JWKS (the JWKS variable holding getLatestJwks rows, as the seed passes
      // `jwks: process.env.JWKS` to the Convex plugin) signs instead of the table.
      std::string kid, private_key;
      if (std::vector<Value> rows = StaticJwks(ctx); !rows.empty()) {
        kid = Str(rows[0], "id");
        private_key = Str(rows[0], "privateKey");
      } else {
        CVX_ASSIGN_OR_RETURN(JwksRow row, LatestJwks(ctx, config.secret, &generated_key));
        kid = row.id;
        private_key = row.private_key;
      }
      CVX_ASSIGN_OR_RETURN(std::shared_ptr<const RsaSigner> signer,
                           Signer(kid, private_key, config.secret));
      int64_t iat = static_cast<int64_t>(std::floor(now / 1000));
      std::string out = "{";
      for (const FieldSpec& f : user_model->fields) {
        if (f.name == "image") continue;
        if (const Value* v = user.Find(f.name)) {
          if (out.size() > 1) out.push_back(',');
          absl::StrAppend(&out, JsonString(f.name), ":");
          AppendConvexJson(*v, &out);
        }
      }
      absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"sessionId\":", JsonString(Str(session, "id")),
                      ",\"iat\":", iat, ",\"iss\":", JsonString(config.site_url),
                      ",\"aud\":\"convex\",\"exp\":", iat + static_cast<int64_t>(options_.jwt_expiration_s),
                      ",\"sub\":", JsonString(Str(user, "id")), "}");
      return signer->Sign(
          absl::StrCat("{\"alg\":\"RS256\",\"kid\":", JsonString(kid), "}"), out);
    };
    auto set_jwt_cookie = [&](const Value& session, const Value& user) -> absl::Status {
      CVX_ASSIGN_OR_RETURN(std::string jwt, mint_jwt(session, user));
      response.set_cookies.push_back(config.SetCookie("convex_jwt", jwt, options_.jwt_expiration_s));
      return absl::OkStatus();
    };
    auto clear_jwt_cookie = [&]() { response.set_cookies.push_back(config.SetCookie("convex_jwt", "", 0.0)); };
    auto user_json = [&](const Value& user) { return ModelJson(*user_model, user); };

    // sessionMiddleware: the caller's live session and user, or a 401 with no body.
    struct Current {
      Value session, user;
    };
    auto current = [&]() -> absl::StatusOr<std::optional<Current>> {
      std::optional<std::string> token = SessionToken(r.cookies, config.prefix, config.secret);
      if (!token) return std::nullopt;
      CVX_ASSIGN_OR_RETURN(std::optional<Value> session, sessions.ByToken(*token));
      if (!session || Num(*session, "expiresAt") <= now) return std::nullopt;
      CVX_ASSIGN_OR_RETURN(std::optional<Value> user, sessions.UserById(Str(*session, "userId")));
      if (!user) return std::nullopt;
      return Current{*session, *user};
    };

    switch (endpoint) {
      case E::kSignUp: {
        std::string email = absl::AsciiStrToLower(r.Field("email")->string());
        CVX_ASSIGN_OR_RETURN(std::optional<Value> existing, sessions.UserByEmail(email));
        if (existing) {
          reply(ErrorResponse(422, "User already exists. Use another email."));
          break;
        }
        Object data = extra_user_fields;
        data["name"] = *r.Field("name");
        data["email"] = Value::String(email);
        data["emailVerified"] = Value::Boolean(false);
        if (const Value* image = r.Field("image")) data["image"] = *image;
        data["createdAt"] = Value::Float64(now);
        data["updatedAt"] = Value::Float64(now);
        absl::StatusOr<Value> user = db.Create("user", std::move(data));
        if (!user.ok()) {
          ctx.Log(LogLevel::kError, absl::StrCat("createUser failed: ", user.status().message()));
          reply(JsonResponse(422, R"({"code":"FAILED_TO_CREATE_USER","message":"Failed to create user","details":{}})"));
          break;
        }
        std::string id = Str(*user, "id");
        CVX_RETURN_IF_ERROR(db.Create("account", {{"userId", Value::String(id)},
                                                  {"providerId", Value::String("credential")},
                                                  {"accountId", Value::String(id)},
                                                  {"password", Value::String(new_hash)},
                                                  {"createdAt", Value::Float64(now)},
                                                  {"updatedAt", Value::Float64(now)}})
                                .status());
        if (!options_.auto_sign_in) {
          reply(JsonResponse(200, absl::StrCat("{\"token\":null,\"user\":", user_json(*user), "}")));
          break;
        }
        const Value* remember = r.Field("rememberMe");
        bool dont_remember = remember != nullptr && remember->is_boolean() && !remember->boolean();
        CVX_ASSIGN_OR_RETURN(Value session, sessions.Create(id, dont_remember, r.ip, r.user_agent));
        cookies_for_session(session, dont_remember);
        CVX_RETURN_IF_ERROR(set_jwt_cookie(session, *user));
        reply(JsonResponse(200, absl::StrCat("{\"token\":", JsonString(Str(session, "token")),
                                                  ",\"user\":", user_json(*user), "}")));
        break;
      }
      case E::kSignIn: {
        const std::string& password = r.Field("password")->string();
        CVX_ASSIGN_OR_RETURN(std::optional<Value> user, sessions.UserByEmail(r.Field("email")->string()));
        std::optional<Value> account;
        if (user) {
          CVX_ASSIGN_OR_RETURN(account, sessions.CredentialAccount(Str(*user, "id")));
        }
        if (!user || !account || Str(*account, "password").empty()) {
          // Equalize timing with a real verification.
          (void)HashPassword(password, config.fast_hash);
          reply(ErrorResponse(401, "Invalid email or password"));
          break;
        }
        if (!verify(Str(*account, "password"), password)) {
          reply(ErrorResponse(401, "Invalid email or password"));
          break;
        }
        if (const Value* banned = user->Find("banned"); banned && banned->is_boolean() && banned->boolean()) {
          const Value* until = user->Find("banExpires");
          bool expired = until != nullptr && !until->is_null() && Num(*user, "banExpires") < now;
          if (!expired) {
            reply(ErrorResponse(403, "You have been banned from this application. Please "
                                          "contact support if you believe this is an error.",
                                     "BANNED_USER"));
            break;
          }
          CVX_ASSIGN_OR_RETURN(std::optional<Value> updated,
                               db.UpdateOne("user", {Where{"id", Value::String(Str(*user, "id"))}},
                                            {{"banned", Value::Boolean(false)},
                                             {"banReason", Value::Null()},
                                             {"banExpires", Value::Null()},
                                             {"updatedAt", Value::Float64(now)}}));
          if (updated) user = updated;
        }
        const Value* remember = r.Field("rememberMe");
        bool dont_remember = remember != nullptr && !remember->boolean();
        CVX_ASSIGN_OR_RETURN(Value session,
                             sessions.Create(Str(*user, "id"), dont_remember, r.ip, r.user_agent));
        cookies_for_session(session, dont_remember);
        CVX_RETURN_IF_ERROR(set_jwt_cookie(session, *user));
        const Value* callback = r.Field("callbackURL");
        reply(JsonResponse(
            200, absl::StrCat("{\"redirect\":", callback ? "true" : "false",
                              ",\"token\":", JsonString(Str(session, "token")),
                              callback ? absl::StrCat(",\"url\":", JsonString(callback->string())) : "",
                              ",\"user\":", user_json(*user), "}")));
        break;
      }
      case E::kGetSession: {
        std::optional<std::string> token = SessionToken(r.cookies, config.prefix, config.secret);
        if (!token) {
          reply(JsonResponse(200, "null"));
          break;
        }
        CVX_ASSIGN_OR_RETURN(std::optional<Value> session, sessions.ByToken(*token));
        std::optional<Value> user;
        if (session && Num(*session, "expiresAt") > now) {
          CVX_ASSIGN_OR_RETURN(user, sessions.UserById(Str(*session, "userId")));
        }
        if (!user) {
          if (session) CVX_RETURN_IF_ERROR(sessions.DeleteByToken(*token));
          clear_cookies();
          clear_jwt_cookie();
          reply(JsonResponse(200, "null"));
          response.status = 200;
          // A deletion commits even though nothing is returned.
          return Value();
        }
        bool dont_remember = DontRemember(r.cookies, config.prefix, config.secret);
        bool disable_refresh = r.query.count("disableRefresh") &&
                               r.query["disableRefresh"] != "false";
        double expires_in = options_.expires_in_s * 1000;
        if (!dont_remember && !disable_refresh &&
            Num(*session, "expiresAt") - expires_in + options_.update_age_s * 1000 <= now) {
          CVX_ASSIGN_OR_RETURN(
              std::optional<Value> updated,
              db.UpdateOne("session", {Where{"token", Value::String(*token)}},
                           {{"expiresAt", Value::Float64(now + expires_in)},
                            {"updatedAt", Value::Float64(now)}}));
          if (updated) session = updated;
          cookies_for_session(*session, false);
        }
        CVX_RETURN_IF_ERROR(set_jwt_cookie(*session, *user));
        reply(JsonResponse(200, absl::StrCat("{\"session\":", ModelJson(*session_model, *session),
                                                  ",\"user\":", user_json(*user), "}")));
        break;
      }
      case E::kSignOut: {
        if (std::optional<std::string> token = SessionToken(r.cookies, config.prefix, config.secret)) {
          (void)sessions.DeleteByToken(*token);
        }
        clear_cookies();
        clear_jwt_cookie();
        reply(JsonResponse(200, R"({"success":true})"));
        break;
      }
      case E::kOk:
        break;
      default: {
        CVX_ASSIGN_OR_RETURN(std::optional<Current> me, current());
        if (endpoint == E::kJwks || endpoint == E::kOpenId) {
          // Public endpoints (handled below).
        } else if (!me) {
          reply(EmptyResponse(401, true));
          break;
        }
        const std::string user_id = me ? Str(me->user, "id") : "";
        WhereList mine = {Where{"userId", Value::String(user_id)}};
        switch (endpoint) {
          case E::kListSessions: {
            CVX_ASSIGN_OR_RETURN(std::vector<Value> all, db.FindMany("session", mine, 1000));
            std::string out = "[";
            for (Value& s : all) {
              if (Num(s, "expiresAt") <= now) continue;
              s.mutable_object()["token"] = Value::String("");
              if (out.size() > 1) out.push_back(',');
              out += ModelJson(*session_model, s);
            }
            reply(JsonResponse(200, out + "]"));
            break;
          }
          case E::kRevokeSession: {
            CVX_ASSIGN_OR_RETURN(std::optional<Value> target,
                                 sessions.ByToken(r.Field("token")->string()));
            if (target && Str(*target, "userId") == user_id) {
              CVX_RETURN_IF_ERROR(sessions.DeleteByToken(r.Field("token")->string()));
            }
            reply(JsonResponse(200, R"({"status":true})"));
            break;
          }
          case E::kRevokeSessions:
            CVX_RETURN_IF_ERROR(db.DeleteMany("session", mine).status());
            reply(JsonResponse(200, R"({"status":true})"));
            break;
          case E::kRevokeOther: {
            WhereList others = mine;
            others.push_back(Where{"token", Value::String(Str(me->session, "token")), Op::kNe});
            CVX_RETURN_IF_ERROR(db.DeleteMany("session", others).status());
            reply(JsonResponse(200, R"({"status":true})"));
            break;
          }
          case E::kUpdateUser: {
            Object update = extra_user_fields;
            update["updatedAt"] = Value::Float64(now);
            CVX_RETURN_IF_ERROR(
                db.UpdateOne("user", {Where{"id", Value::String(user_id)}}, update).status());
            bool dont_remember = DontRemember(r.cookies, config.prefix, config.secret);
            cookies_for_session(me->session, dont_remember);
            reply(JsonResponse(200, R"({"status":true})"));
            break;
          }
          case E::kChangePassword: {
            CVX_ASSIGN_OR_RETURN(std::optional<Value> account, sessions.CredentialAccount(user_id));
            if (!account || Str(*account, "password").empty()) {
              reply(ErrorResponse(400, "Credential account not found"));
              break;
            }
            if (!verify(Str(*account, "password"), r.Field("currentPassword")->string())) {
              reply(ErrorResponse(400, "Invalid password"));
              break;
            }
            CVX_RETURN_IF_ERROR(db.UpdateOne("account", {Where{"id", Value::String(Str(*account, "id"))}},
                                             {{"password", Value::String(new_hash)},
                                              {"updatedAt", Value::Float64(now)}})
                                    .status());
            std::string token_json = "null";
            const Value* revoke = r.Field("revokeOtherSessions");
            if (revoke != nullptr && revoke->boolean()) {
              CVX_RETURN_IF_ERROR(db.DeleteMany("session", mine).status());
              CVX_ASSIGN_OR_RETURN(Value session, sessions.Create(user_id, false, r.ip, r.user_agent));
              cookies_for_session(session, false);
              token_json = JsonString(Str(session, "token"));
            }
            static const std::vector<std::string> kUserFields = {
                "id", "email", "name", "image", "emailVerified", "createdAt", "updatedAt"};
            reply(JsonResponse(200, absl::StrCat("{\"token\":", token_json, ",\"user\":",
                                                      ModelJson(*user_model, me->user, &kUserFields), "}")));
            break;
          }
          case E::kDeleteUser: {
            if (const Value* pw = r.Field("password"); pw != nullptr && pw->is_string()) {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> account, sessions.CredentialAccount(user_id));
              if (!account || !verify(Str(*account, "password"), pw->string())) {
                reply(ErrorResponse(400, "Invalid password"));
                break;
              }
            }
            CVX_RETURN_IF_ERROR(db.DeleteMany("session", mine).status());
            CVX_RETURN_IF_ERROR(db.DeleteMany("account", mine).status());
            CVX_RETURN_IF_ERROR(db.DeleteOne("user", {Where{"id", Value::String(user_id)}}));
            clear_cookies();
            clear_jwt_cookie();
            reply(JsonResponse(200, R"({"success":true,"message":"User deleted"})"));
            break;
          }
          case E::kToken: {
            CVX_ASSIGN_OR_RETURN(std::string jwt, mint_jwt(me->session, me->user));
            response.set_cookies.push_back(config.SetCookie("convex_jwt", jwt, options_.jwt_expiration_s));
            response.status = 200;
            response.headers["content-type"] = "application/json";
            response.body = absl::StrCat("{\"token\":", JsonString(jwt), "}");
            break;
          }
          case E::kJwks: {
            std::vector<Value> rows = StaticJwks(ctx);
            if (rows.empty()) {
              CVX_RETURN_IF_ERROR(LatestJwks(ctx, config.secret).status());
              Adapter all = MakeAdapter(ctx);
              CVX_ASSIGN_OR_RETURN(rows, all.FindMany("jwks", {}, 1000));
            }
            std::string keys = "{\"keys\":[";
            bool first = true;
            for (const Value& k : rows) {
              const Value* exp = k.Find("expiresAt");
              if (exp && !exp->is_null() && Num(k, "expiresAt") + 30 * kDay * 1000 < now) continue;
              absl::StatusOr<Value> jwk = ParseConvexJson(Str(k, "publicKey"));
              if (!jwk.ok() || !jwk->is_object()) continue;
              if (!first) keys.push_back(',');
              first = false;
              absl::StrAppend(&keys, "{\"alg\":\"RS256\"");
              for (const char* m : {"kty", "n", "e"}) {
                if (const Value* v = jwk->Find(m)) absl::StrAppend(&keys, ",\"", m, "\":", JsonString(v->string()));
              }
              absl::StrAppend(&keys, ",\"kid\":", JsonString(Str(k, "id")), "}");
            }
            reply(JsonResponse(200, keys + "]}"));
            break;
          }
          case E::kOpenId:
            reply(JsonResponse(
                200, absl::StrCat("{\"issuer\":", JsonString(config.site_url), ",\"jwks_uri\":",
                                  JsonString(absl::StrCat(config.site_url, options_.base_path, "/convex/jwks")),
                                  "}")));
            break;
          default:
            break;
        }
      }
    }
    if (response.status >= 400) {
      rolled_back = true;
      return ConvexError(Value::String(kRollbackMarker));
    }
    return Value();
  };
  absl::StatusOr<Value> result =
      actx.RunInTransaction(absl::StrCat("auth", r.path), body);
  if (!result.ok() && !rolled_back) {
    actx.Log(LogLevel::kError, absl::StrCat("Better Auth ", r.method, " ", r.path, ": ",
                                            result.status().message()));
    return EmptyResponse(500, false);
  }
  // The bearer plugin hands the signed session token to clients that cannot read cookies.
  for (const std::string& c : response.set_cookies) {
    std::string name = config.prefix + "session_token=";
    if (absl::StartsWith(c, name) && c.size() > name.size() && c[name.size()] != ';') {
      response.headers["set-auth-token"] = c.substr(name.size(), c.find(';') - name.size());
      response.headers["access-control-expose-headers"] = "set-auth-token";
    }
  }
  return response;
}

}  // namespace cvx::auth
