#include "functions/auth/jwt.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/auth/openssl_keys.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/param_build.h"

namespace cvx {
namespace {

constexpr double kLeewaySeconds = 5;
constexpr size_t kMaxCachedTokens = 10000;
constexpr double kRefetchAfterSeconds = 10;

absl::Status Invalid(std::string_view why) {
  return MakeError(absl::StatusCode::kUnauthenticated, "InvalidAuthHeader",
                   absl::StrCat("Could not verify token: ", AV(why)));
}

using auth_internal::KeyFromParams;
using auth_internal::Pkey;

// RSA public key from JWK n/e.
Pkey RsaKey(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), n.size(), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), e.size(), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  Pkey key = KeyFromParams("RSA", EVP_PKEY_PUBLIC_KEY, params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

// P-256 public key from JWK x/y.
Pkey EcKey(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return KeyFromParams("EC", EVP_PKEY_PUBLIC_KEY, params);
}

Pkey Ed25519Key(const std::string& x) {
  return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(x.data()),
                                          x.size()));
}

bool VerifySignature(const std::string& alg, EVP_PKEY* key, std::string_view signed_part,
                     std::string signature) {
  if (alg == "ES256") {
    // JWS carries r||s; OpenSSL wants DER.
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    ECDSA_SIG_set0(sig, r, s);
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), len > 0 ? len : 0);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  const EVP_MD* md = alg == "EdDSA" ? nullptr : EVP_sha256();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()),
                             signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

absl::StatusOr<Value> DecodeJsonPart(std::string_view part) {
  std::string json;
  if (!Base64UrlDecode(part, &json)) return Invalid("bad base64url");
  absl::StatusOr<Value> v = ParseConvexJson(json);
  if (!v.ok() || !v->is_object()) return Invalid("a JWT part is not a JSON object");
  return v;
}

void Flatten(const std::string& prefix, const Value& v, Object* out) {
  if (v.is_object() && !v.object().empty()) {
    for (const auto& [k, child] : v.object()) Flatten(prefix.empty() ? k : prefix + "." + k, child, out);
    return;
  }
  out->insert_or_assign(prefix, v);
}

}  // namespace

struct JwtVerifier::Keys {
  // kid -> (kty-derived alg family, key)
  std::map<std::string, std::pair<std::string, std::shared_ptr<EVP_PKEY>>> by_kid;
  bool fetched = false;     // from a URL (may rotate), not a data: URI
  double fetched_at_s = 0;  // clock time of the fetch
};

std::string Base64UrlEncode(std::string_view bytes) {
  return std::string(absl::WebSafeBase64Escape(AV(bytes)));
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return absl::WebSafeBase64Unescape(AV(text), out);
}

std::string NormalizeIssuer(std::string_view issuer) {
  std::string out(issuer);
  if (out.find("://") == std::string::npos) out = "https://" + out;
  while (absl::EndsWith(out, "/")) out.pop_back();
  return out;
}

JwtVerifier::JwtVerifier(std::vector<AuthProvider> providers, Clock* clock, UrlFetcher fetch,
                         FieldResolver resolve)
    : providers_(std::move(providers)), clock_(clock), fetch_(std::move(fetch)),
      resolve_(std::move(resolve)) {}

JwtVerifier::~JwtVerifier() = default;

void JwtVerifier::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  keys_.clear();
  cache_.clear();
}

absl::StatusOr<std::shared_ptr<const JwtVerifier::Keys>> JwtVerifier::KeysFor(
    const AuthProvider& provider, bool refresh) {
  const std::string issuer = NormalizeIssuer(resolve_ ? resolve_(provider.issuer) : provider.issuer);
  std::string source = resolve_ ? resolve_(provider.jwks) : provider.jwks;
  const std::string cache_key = issuer + "\n" + source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = keys_.find(cache_key); it != keys_.end()) {
      if (!refresh) return it->second;
      keys_.erase(it);
    }
  }
  std::string jwks_text;
  if (provider.type == AuthProvider::Type::kOidc) {
    if (!fetch_) return Invalid("no fetcher for OIDC discovery");
    CVX_ASSIGN_OR_RETURN(std::string discovery,
                         fetch_(absl::StrCat(issuer, "/.well-known/openid-configuration")));
    absl::StatusOr<Value> doc = ParseConvexJson(discovery);
    const Value* uri = doc.ok() ? doc->Find("jwks_uri") : nullptr;
    if (uri == nullptr || !uri->is_string()) return Invalid("OIDC discovery has no jwks_uri");
    source = uri->string();
  }
  if (absl::StartsWith(source, "data:")) {
    size_t comma = source.find(',');
    if (comma == std::string::npos) return Invalid("malformed data: URI");
    std::string meta = source.substr(5, comma - 5);
    std::string payload = source.substr(comma + 1);
    if (absl::EndsWith(meta, ";base64")) {
      if (!absl::Base64Unescape(payload, &jwks_text)) return Invalid("malformed data: URI");
    } else {
      std::string unescaped;
      for (size_t i = 0; i < payload.size(); ++i) {
        if (payload[i] == '%' && i + 2 < payload.size()) {
          unescaped.push_back(static_cast<char>(std::stoi(payload.substr(i + 1, 2), nullptr, 16)));
          i += 2;
        } else {
          unescaped.push_back(payload[i]);
        }
      }
      jwks_text = unescaped;
    }
  } else {
    if (!fetch_) return Invalid("no fetcher for the JWKS URL");
    CVX_ASSIGN_OR_RETURN(jwks_text, fetch_(source));
  }
  absl::StatusOr<Value> jwks = ParseConvexJson(jwks_text);
  const Value* list = jwks.ok() ? jwks->Find("keys") : nullptr;
  if (list == nullptr || !list->is_array()) return Invalid("the JWKS has no keys");
  auto keys = std::make_shared<Keys>();
  keys->fetched = !absl::StartsWith(source, "data:");
  keys->fetched_at_s = clock_->NowNanos() / 1e9;
  for (const Value& jwk : list->array()) {
    auto field = [&](const char* name) -> std::string {
      const Value* v = jwk.Find(name);
      return v && v->is_string() ? v->string() : std::string();
    };
    auto bytes = [&](const char* name) {
      std::string out;
      if (!Base64UrlDecode(field(name), &out)) out.clear();
      return out;
    };
    std::string kty = field("kty");
    Pkey key;
    std::string family;
    if (kty == "RSA") {
      key = RsaKey(bytes("n"), bytes("e"));
      family = "RS256";
    } else if (kty == "EC" && field("crv") == "P-256") {
      key = EcKey(bytes("x"), bytes("y"));
      family = "ES256";
    } else if (kty == "OKP" && field("crv") == "Ed25519") {
      key = Ed25519Key(bytes("x"));
      family = "EdDSA";
    }
    if (key) keys->by_kid[field("kid")] = {family, std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free)};
  }
  std::lock_guard<std::mutex> lock(mu_);
  keys_[cache_key] = keys;
  return std::shared_ptr<const Keys>(keys);
}

absl::StatusOr<Object> JwtVerifier::Verify(std::string_view token) {
  const double now = static_cast<double>(clock_->NowNanos()) / 1e9;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(std::string(token)); it != cache_.end()) {
      if (now < it->second.second + kLeewaySeconds) return it->second.first;
      cache_.erase(it);
    }
  }
  std::vector<absl::string_view> parts = absl::StrSplit(AV(token), '.');
  if (parts.size() != 3) return Invalid("a JWT has three parts");
  CVX_ASSIGN_OR_RETURN(Value header, DecodeJsonPart(SV(parts[0])));
  CVX_ASSIGN_OR_RETURN(Value payload, DecodeJsonPart(SV(parts[1])));
  const Value* iss = payload.Find("iss");
  if (iss == nullptr || !iss->is_string()) return Invalid("missing iss");
  const std::string issuer = NormalizeIssuer(iss->string());
  const AuthProvider* provider = nullptr;
  for (const AuthProvider& p : providers_) {
    if (NormalizeIssuer(resolve_ ? resolve_(p.issuer) : p.issuer) == issuer) {
      provider = &p;
      break;
    }
  }
  if (provider == nullptr) {
    return MakeError(absl::StatusCode::kUnauthenticated, "NoAuthProvider",
                     absl::StrCat("No auth provider found matching the given token (issuer ",
                                  issuer, ")"));
  }
  const Value* alg = header.Find("alg");
  if (alg == nullptr || !alg->is_string()) return Invalid("missing alg");
  const bool allowed = provider->type == AuthProvider::Type::kCustomJwt
                           ? alg->string() == provider->algorithm
                           : (alg->string() == "RS256" || alg->string() == "EdDSA");
  if (!allowed) return Invalid(absl::StrCat("algorithm ", alg->string(), " is not accepted"));
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<const Keys> keys, KeysFor(*provider));
  const Value* kid = header.Find("kid");
  if (kid && kid->is_string() && !keys->by_kid.count(kid->string()) && keys->fetched &&
      clock_->NowNanos() / 1e9 - keys->fetched_at_s >= kRefetchAfterSeconds) {
    // An unknown kid from a fetched JWKS: the keys may have rotated. Refetch, at most once
    // per kRefetchAfterSeconds, so forged kids cannot make us hammer the endpoint.
    CVX_ASSIGN_OR_RETURN(keys, KeysFor(*provider, /*refresh=*/true));
  }
  const std::pair<std::string, std::shared_ptr<EVP_PKEY>>* key = nullptr;
  if (kid && kid->is_string()) {
    auto it = keys->by_kid.find(kid->string());
    if (it != keys->by_kid.end()) key = &it->second;
  } else if (keys->by_kid.size() == 1) {
    key = &keys->by_kid.begin()->second;
  }
  if (key == nullptr) return Invalid("no key in the JWKS matches the token's kid");
  if (key->first != alg->string()) return Invalid("the key does not match the algorithm");
  std::string signature;
  if (!Base64UrlDecode(SV(parts[2]), &signature) || signature.empty()) {
    return Invalid("bad signature");
  }
  std::string_view signed_part(token.data(), parts[0].size() + 1 + parts[1].size());
  if (!VerifySignature(alg->string(), key->second.get(), signed_part, signature)) {
    return Invalid("the signature does not verify");
  }
  // Claims.
  const Value* sub = payload.Find("sub");
  const Value* exp = payload.Find("exp");
  if (sub == nullptr || !sub->is_string()) return Invalid("missing sub");
  if (exp == nullptr || !exp->is_float64()) return Invalid("missing exp");
  if (now > exp->float64() + kLeewaySeconds) return Invalid("the token has expired");
  if (const Value* nbf = payload.Find("nbf"); nbf && nbf->is_float64() &&
                                              now + kLeewaySeconds < nbf->float64()) {
    return Invalid("the token is not valid yet (nbf)");
  }
  if (provider->application_id) {
    const Value* aud = payload.Find("aud");
    bool match = aud && aud->is_string() && aud->string() == *provider->application_id;
    if (aud && aud->is_array()) {
      for (const Value& a : aud->array()) match |= a.is_string() && a.string() == *provider->application_id;
    }
    if (!match) return Invalid("the audience does not match the applicationID");
    // OIDC Core 3.1.3.7: several audiences need an authorized party, and an authorized
    // party must be this application.
    if (provider->type == AuthProvider::Type::kOidc) {
      const Value* azp = payload.Find("azp");
      if (azp == nullptr && aud->is_array() && aud->array().size() > 1) {
        return Invalid("several audiences and no authorized party (azp)");
      }
      if (azp != nullptr && !(azp->is_string() && azp->string() == *provider->application_id)) {
        return Invalid("the authorized party (azp) is not the applicationID");
      }
    }
  }
  Object identity;
  static const char* kRegistered[] = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"};
  if (provider->type == AuthProvider::Type::kCustomJwt) {
    for (const auto& [name, value] : payload.object()) {
      bool registered = name == "fva";
      for (const char* r : kRegistered) registered |= name == r;
      if (!registered) Flatten(name, value, &identity);
    }
  } else {
    static const std::pair<const char*, const char*> kOidc[] = {
        {"name", "name"}, {"given_name", "givenName"}, {"family_name", "familyName"},
        {"nickname", "nickname"}, {"preferred_username", "preferredUsername"},
        {"profile", "profileUrl"}, {"picture", "pictureUrl"}, {"website", "websiteUrl"},
        {"email", "email"}, {"email_verified", "emailVerified"}, {"gender", "gender"},
        {"birthdate", "birthday"}, {"zoneinfo", "timezone"}, {"locale", "language"},
        {"phone_number", "phoneNumber"}, {"phone_number_verified", "phoneNumberVerified"}};
    for (const auto& [name, value] : payload.object()) {
      bool handled = name == "fva" || name == "jti" || name == "nbf" || name == "address" ||
                     name == "updated_at";
      for (const char* r : kRegistered) handled |= name == r;
      for (const auto& [claim, field] : kOidc) {
        if (name == claim) {
          identity.insert_or_assign(field, value);
          handled = true;
        }
      }
      if (!handled) identity.insert_or_assign(name, value);
    }
    if (const Value* address = payload.Find("address")) {
      if (const Value* formatted = address->Find("formatted"); formatted && formatted->is_string()) {
        identity["address"] = *formatted;
      }
    }
  }
  identity["issuer"] = Value::String(issuer);
  identity["subject"] = *sub;
  identity["tokenIdentifier"] = Value::String(absl::StrCat(issuer, "|", sub->string()));
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxCachedTokens) cache_.clear();
  cache_[std::string(token)] = {identity, exp->float64()};
  return identity;
}

}  // namespace cvx
