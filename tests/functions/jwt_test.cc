// JWT verification: RS256, ES256 and EdDSA tokens against JWKS from data: URIs and a
// fetcher, identity fields, caching, and the forgery matrix (alg none, HS256 keyed with
// the public key, unknown kid, expired, future nbf, wrong iss or aud, stripped signature,
// tampered payload, malformed input).

#include "functions/auth/jwt.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "tests/testing/status_matchers.h"

namespace cvx {
namespace {

using ::cvx::testing::StatusIs;

constexpr uint64_t kNow = 1'767'225'600ull;  // seconds

struct Key {
  EVP_PKEY* pkey = nullptr;
  std::string alg, kid;
  ~Key() { EVP_PKEY_free(pkey); }
  std::string Jwk() const {
    auto b64 = [](const std::string& s) { return Base64UrlEncode(s); };
    auto bn = [&](const char* name) {
      BIGNUM* v = nullptr;
      EVP_PKEY_get_bn_param(pkey, name, &v);
      std::string out(BN_num_bytes(v), '\0');
      BN_bn2bin(v, reinterpret_cast<unsigned char*>(out.data()));
      BN_free(v);
      return out;
    };
    if (alg == "RS256") {
      return absl::StrCat("{\"kty\":\"RSA\",\"kid\":\"", kid, "\",\"n\":\"", b64(bn(OSSL_PKEY_PARAM_RSA_N)),
                          "\",\"e\":\"", b64(bn(OSSL_PKEY_PARAM_RSA_E)), "\"}");
    }
    if (alg == "ES256") {
      unsigned char pub[65];
      size_t len = 0;
      EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len);
      std::string x(reinterpret_cast<char*>(pub) + 1, 32), y(reinterpret_cast<char*>(pub) + 33, 32);
      return absl::StrCat("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"", kid, "\",\"x\":\"", b64(x),
                          "\",\"y\":\"", b64(y), "\"}");
    }
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(pkey, raw, &len);
    return absl::StrCat("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"", kid, "\",\"x\":\"",
                        b64(std::string(reinterpret_cast<char*>(raw), len)), "\"}");
  }
  std::string Sign(std::string_view data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, alg == "EdDSA" ? nullptr : EVP_sha256(), nullptr, pkey);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg == "ES256") {  // DER -> r||s
      const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, sig.size());
      std::string rs(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(rs.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
      ECDSA_SIG_free(es);
      return rs;
    }
    return sig;
  }
};

std::unique_ptr<Key> MakeKey(const std::string& alg, const std::string& kid) {
  auto key = std::make_unique<Key>();
  key->alg = alg;
  key->kid = kid;
  if (alg == "RS256") key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  else if (alg == "ES256") key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else key->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  return key;
}

std::string Jwt(const Key& key, const std::string& payload, std::string header = "") {
  if (header.empty()) header = absl::StrCat("{\"alg\":\"", key.alg, "\",\"kid\":\"", key.kid, "\",\"typ\":\"JWT\"}");
  std::string signing = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  return absl::StrCat(signing, ".", Base64UrlEncode(key.Sign(signing)));
}

std::string Claims(std::string extra = "", double exp = kNow + 900, std::string iss = "https://auth.test",
                   std::string aud = "convex") {
  return absl::StrCat("{\"iss\":\"", iss, "\",\"sub\":\"user-1\",\"aud\":\"", aud,
                      "\",\"iat\":", kNow, ",\"exp\":", FormatJsNumber(exp), extra, "}");
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = MakeKey("RS256", "rsa-1").release();
    ec_ = MakeKey("ES256", "ec-1").release();
    ed_ = MakeKey("EdDSA", "ed-1").release();
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
  }
  JwtVerifier Verifier(const Key& key, std::optional<std::string> app_id = "convex") {
    std::string jwks = absl::StrCat("{\"keys\":[", key.Jwk(), "]}");
    AuthProvider p;
    p.type = AuthProvider::Type::kCustomJwt;
    p.issuer = "https://auth.test/";
    p.application_id = app_id;
    p.algorithm = key.alg;
    p.jwks = "data:application/json;base64," + absl::Base64Escape(jwks);
    return JwtVerifier({p}, &clock_);
  }
  FakeClock clock_{kNow * 1'000'000'000ull};
  static Key* rsa_;
  static Key* ec_;
  static Key* ed_;
};
Key* JwtTest::rsa_ = nullptr;
Key* JwtTest::ec_ = nullptr;
Key* JwtTest::ed_ = nullptr;

TEST_F(JwtTest, Rs256AndEs256VerifyWithIdentityFields) {
  for (Key* key : {rsa_, ec_}) {
    JwtVerifier v = Verifier(*key);
    ASSERT_OK_AND_ASSIGN(Object id, v.Verify(Jwt(*key, Claims(",\"org\":{\"id\":\"o1\"},\"fva\":[1],\"role\":\"admin\""))));
    EXPECT_EQ(id.at("tokenIdentifier").string(), "https://auth.test|user-1");
    EXPECT_EQ(id.at("issuer").string(), "https://auth.test");
    EXPECT_EQ(id.at("subject").string(), "user-1");
    EXPECT_EQ(id.at("org.id").string(), "o1");
    EXPECT_EQ(id.at("role").string(), "admin");
    EXPECT_EQ(id.count("fva"), 0u);
    EXPECT_EQ(id.count("exp"), 0u);
  }
}

TEST_F(JwtTest, OidcEdDsaWithDiscoveryAndCamelCaseFields) {
  std::string jwks = absl::StrCat("{\"keys\":[", ed_->Jwk(), "]}");
  int fetches = 0;
  AuthProvider p;
  p.type = AuthProvider::Type::kOidc;
  p.issuer = "auth.test";
  p.application_id = "convex";
  JwtVerifier v({p}, &clock_, [&](const std::string& url) -> absl::StatusOr<std::string> {
    ++fetches;
    if (url == "https://auth.test/.well-known/openid-configuration") {
      return std::string("{\"jwks_uri\":\"https://auth.test/jwks\"}");
    }
    if (url == "https://auth.test/jwks") return jwks;
    return absl::UnavailableError("unknown url");
  });
  std::string token = Jwt(*ed_, Claims(",\"given_name\":\"Ada\",\"email_verified\":true,\"jti\":\"x\""));
  ASSERT_OK_AND_ASSIGN(Object id, v.Verify(token));
  EXPECT_EQ(id.at("givenName").string(), "Ada");
  EXPECT_TRUE(id.at("emailVerified").boolean());
  EXPECT_EQ(id.count("jti"), 0u);
  ASSERT_OK(v.Verify(token).status());  // cached: no second fetch
  EXPECT_EQ(fetches, 2);
}

// OIDC: several audiences need an azp, and an azp must be the applicationID.
TEST_F(JwtTest, OidcSeveralAudiencesNeedTheAuthorizedParty) {
  std::string jwks = absl::StrCat("{\"keys\":[", ed_->Jwk(), "]}");
  AuthProvider p;
  p.type = AuthProvider::Type::kOidc;
  p.issuer = "auth.test";
  p.application_id = "convex";
  JwtVerifier v({p}, &clock_, [&](const std::string& url) -> absl::StatusOr<std::string> {
    if (url == "https://auth.test/.well-known/openid-configuration") {
      return std::string("{\"jwks_uri\":\"https://auth.test/jwks\"}");
    }
    return jwks;
  });
  auto token = [&](const std::string& claims) {
    return Jwt(*ed_, absl::StrCat("{\"iss\":\"https://auth.test\",\"sub\":\"s\",\"exp\":", kNow + 60, claims, "}"));
  };
  EXPECT_OK(v.Verify(token(",\"aud\":[\"convex\"]")).status());
  EXPECT_OK(v.Verify(token(",\"aud\":[\"x\",\"convex\"],\"azp\":\"convex\"")).status());
  EXPECT_OK(v.Verify(token(",\"aud\":\"convex\",\"azp\":\"convex\"")).status());
  EXPECT_FALSE(v.Verify(token(",\"aud\":[\"x\",\"convex\"]")).ok());
  EXPECT_FALSE(v.Verify(token(",\"aud\":[\"x\",\"convex\"],\"azp\":\"x\"")).ok());
  EXPECT_FALSE(v.Verify(token(",\"aud\":\"convex\",\"azp\":\"other\"")).ok());
  EXPECT_FALSE(v.Verify(token(",\"aud\":\"convex\",\"azp\":1")).ok());
}

TEST_F(JwtTest, FetchedKeysAreRefetchedOnAnUnknownKidAtMostEvery10Seconds) {
  std::unique_ptr<Key> rotated = MakeKey("ES256", "ec-2");
  std::string jwks = absl::StrCat("{\"keys\":[", ec_->Jwk(), "]}");
  int fetches = 0;
  AuthProvider p;
  p.issuer = "https://auth.test";
  p.algorithm = "ES256";
  p.jwks = "https://auth.test/jwks";
  JwtVerifier v({p}, &clock_, [&](const std::string&) -> absl::StatusOr<std::string> {
    ++fetches;
    return jwks;
  });
  ASSERT_OK(v.Verify(Jwt(*ec_, Claims())).status());
  EXPECT_EQ(fetches, 1);
  // The issuer rotates to ec-2: within 10 s of the last fetch, no refetch.
  jwks = absl::StrCat("{\"keys\":[", rotated->Jwk(), "]}");
  EXPECT_FALSE(v.Verify(Jwt(*rotated, Claims(",\"n\":1"))).ok());
  EXPECT_EQ(fetches, 1);
  clock_.AdvanceNanos(11 * 1000000000ull);
  ASSERT_OK(v.Verify(Jwt(*rotated, Claims(",\"n\":2"))).status());
  EXPECT_EQ(fetches, 2);
  // Forged kids do not trigger a fetch per request.
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(v.Verify(Jwt(*rotated, Claims(absl::StrCat(",\"i\":", i)),
                              R"({"alg":"ES256","kid":"nope"})")).ok());
  }
  EXPECT_LE(fetches, 3);
}

TEST_F(JwtTest, ForgeryMatrixIsRejected) {
  JwtVerifier v = Verifier(*rsa_);
  const std::string good = Jwt(*rsa_, Claims());
  ASSERT_OK(v.Verify(good).status());
  auto rejected = [&](const std::string& token, const char* what) {
    auto r = v.Verify(token);
    EXPECT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << what;
  };
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  // alg none, no signature.
  rejected(absl::StrCat(Base64UrlEncode("{\"alg\":\"none\",\"kid\":\"rsa-1\"}"), ".", parts[1], "."), "alg none");
  // HS256 keyed with the public key (the classic algorithm confusion).
  {
    std::string header = Base64UrlEncode("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}");
    std::string signing = header + "." + parts[1];
    std::string jwk = rsa_->Jwk();
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), jwk.data(), jwk.size(), reinterpret_cast<const unsigned char*>(signing.data()),
         signing.size(), mac, &len);
    rejected(signing + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)), "HS256");
  }
  rejected(Jwt(*rsa_, Claims(), "{\"alg\":\"RS256\",\"kid\":\"unknown\"}"), "unknown kid");
  rejected(Jwt(*rsa_, Claims("", kNow - 10)), "expired");
  EXPECT_OK(Verifier(*rsa_).Verify(Jwt(*rsa_, Claims("", kNow - 3))).status());  // within leeway
  rejected(Jwt(*rsa_, Claims(absl::StrCat(",\"nbf\":", kNow + 60))), "future nbf");
  EXPECT_THAT(v.Verify(Jwt(*rsa_, Claims("", kNow + 900, "https://evil.test"))),
              StatusIs(absl::StatusCode::kUnauthenticated, "NoAuthProvider"));
  rejected(Jwt(*rsa_, Claims("", kNow + 900, "https://auth.test", "other-app")), "wrong aud");
  rejected(parts[0] + "." + parts[1] + ".", "stripped signature");
  rejected(parts[0] + "." + parts[1], "two parts");
  std::string tampered = Base64UrlEncode(Claims(",\"role\":\"admin\""));
  rejected(parts[0] + "." + tampered + "." + parts[2], "tampered payload");
  rejected(Jwt(*ec_, Claims(), "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}"), "wrong algorithm for provider");
  rejected(Jwt(*rsa_, "{\"iss\":\"https://auth.test\",\"aud\":\"convex\",\"exp\":9999999999}"), "no sub");
  rejected("not a jwt", "garbage");
  rejected("a.b.c", "bad json");
  // A key from another JWKS with the same kid does not verify.
  auto impostor = MakeKey("RS256", "rsa-1");
  rejected(Jwt(*impostor, Claims()), "impostor key");
}

TEST_F(JwtTest, ArrayAudienceAndNoApplicationId) {
  JwtVerifier v = Verifier(*ec_);
  EXPECT_OK(v.Verify(Jwt(*ec_, absl::StrCat("{\"iss\":\"https://auth.test\",\"sub\":\"s\",\"aud\":[\"x\",\"convex\"],\"exp\":",
                                             kNow + 60, "}"))).status());
  JwtVerifier any_aud = Verifier(*ec_, std::nullopt);
  EXPECT_OK(any_aud.Verify(Jwt(*ec_, Claims("", kNow + 60, "https://auth.test", "whatever"))).status());
}

}  // namespace
}  // namespace cvx
