// Better Auth's crypto (functions/auth/crypto.h): NFKC and UTF-16 lengths, scrypt hashes
// made by better-auth@1.4.7 verifying here, the fast test hash, generateId, signed cookies
// (including forged and malformed ones), XChaCha20-Poly1305 against the draft's vector and
// symmetricEncrypt output made by better-auth, and RS256 JWTs that JwtVerifier accepts.

#include "functions/auth/crypto.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/value/json.h"
#include "functions/auth/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/functions/auth/better_auth_vectors.h"
#include "tests/testing/status_matchers.h"

namespace cvx::auth {
namespace {

using ::cvx::testing::StatusHasCode;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string Unhex(std::string_view hex) {
  std::string out;
  EXPECT_TRUE(HexDecode(hex, &out)) << hex;
  return out;
}

TEST(Nfkc, NormalizesCompatibilityForms) {
  EXPECT_EQ(NormalizeNfkc("password123"), "password123");
  EXPECT_EQ(NormalizeNfkc("\xEF\xAC\x81"), "fi");                 // U+FB01 ligature
  EXPECT_EQ(NormalizeNfkc("e\xCC\x81"), "\xC3\xA9");              // e + U+0301 -> U+00E9
  EXPECT_EQ(NormalizeNfkc("\xE2\x84\xAB"), "\xC3\x85");           // U+212B -> U+00C5
  EXPECT_EQ(NormalizeNfkc("\xEF\xBC\xA1\xEF\xBC\xA2"), "AB");      // fullwidth A B
}

TEST(Utf16Length, CountsJsCodeUnits) {
  EXPECT_EQ(Utf16Length(""), 0u);
  EXPECT_EQ(Utf16Length("abc"), 3u);
  EXPECT_EQ(Utf16Length("\xC3\xA9"), 1u);          // é
  EXPECT_EQ(Utf16Length("\xE2\x82\xAC"), 1u);      // €
  EXPECT_EQ(Utf16Length("\xF0\x9F\x98\x80"), 2u);  // 😀 is a surrogate pair
  EXPECT_EQ(Utf16Length("a\xFF" "b"), 3u);         // a bad byte is one U+FFFD
  EXPECT_EQ(Utf16Length("\xE2\x82"), 2u);          // truncated sequence
}

TEST(Hex, RoundTripsAndRejectsMalformed) {
  EXPECT_EQ(HexEncode(std::string("\x00\x7f\xff", 3)), "007fff");
  std::string out;
  EXPECT_TRUE(HexDecode("007FfF", &out));
  EXPECT_EQ(out, std::string("\x00\x7f\xff", 3));
  EXPECT_FALSE(HexDecode("abc", &out));
  EXPECT_FALSE(HexDecode("zz", &out));
}

TEST(GenerateId, AlphanumericOfTheRequestedLength) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 200; ++i) {
    std::string id = GenerateId(32);
    ASSERT_THAT(id, MatchesRegex("[A-Za-z0-9]{32}"));
    seen.insert(id);
    chars.insert(id.begin(), id.end());
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(chars.size(), 62u);  // 6400 draws reach every symbol
  EXPECT_EQ(GenerateId(7).size(), 7u);
}

TEST(Password, HashHasBetterAuthsShapeAndVerifies) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_THAT(*hash, MatchesRegex("[0-9a-f]{32}:[0-9a-f]{128}"));
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_NE(*HashPassword("correct horse"), *hash);  // fresh salt
}

TEST(Password, HashesMadeByBetterAuthVerify) {
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHash1, testdata::kScryptPassword1));
  EXPECT_FALSE(VerifyPassword(testdata::kScryptHash1, "password124"));
  // A password that NFKC changes: better-auth normalizes before hashing, and so do we.
  std::string password2 = Unhex(testdata::kScryptPassword2Hex);
  ASSERT_NE(NormalizeNfkc(password2), password2);
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHash2, password2));
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHash2, NormalizeNfkc(password2)));
}

TEST(Password, FixedSaltHashesMatchByteForByte) {
  // Same salt, same key: the salt is the hex text's bytes, the password NFKC-normalized.
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHashFixedSalt1, testdata::kScryptPassword1));
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHashFixedSalt2, testdata::kScryptPassword2));
  EXPECT_EQ(HexEncode(NormalizeNfkc(testdata::kScryptPassword2)),
            testdata::kScryptPassword2NfkcHex);
}

TEST(Password, NormalizesBeforeHashing) {
  absl::StatusOr<std::string> hash = HashPassword("\xEF\xAC\x81" "ance");  // "ﬁance"
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword(*hash, "fiance"));
}

TEST(Password, MalformedStoredHashesAreFalse) {
  for (std::string_view bad : {"", ":", "abc", "salt:", ":abcd", "salt:zz", "salt:abc",
                               "fast:", "fast:salt"}) {
    EXPECT_FALSE(VerifyPassword(bad, "x")) << bad;
    EXPECT_FALSE(VerifyPassword(bad, "x", /*fast=*/true)) << bad;
  }
}

TEST(Password, FastHashVerifiesOnlyInFastMode) {
  absl::StatusOr<std::string> hash = HashPassword("hunter2hunter2", /*fast=*/true);
  ASSERT_TRUE(hash.ok());
  EXPECT_THAT(*hash, MatchesRegex("fast:[0-9a-f]{32}:[0-9a-f]{64}"));
  EXPECT_TRUE(VerifyPassword(*hash, "hunter2hunter2", /*fast=*/true));
  EXPECT_FALSE(VerifyPassword(*hash, "hunter2hunter3", /*fast=*/true));
  EXPECT_FALSE(VerifyPassword(*hash, "hunter2hunter2", /*fast=*/false));
  // Real hashes keep verifying while fast mode is on.
  EXPECT_TRUE(VerifyPassword(testdata::kScryptHash1, testdata::kScryptPassword1, true));
}

constexpr char kSecret[] = "better-auth-secret-123456789012345678901234567890";

TEST(SignedCookie, MatchesNodeHmacVector) {
  // python3: base64(hmac.new(secret, value, sha256))
  EXPECT_EQ(SignCookieValue("AbCdEfGhIjKlMnOpQrStUvWxYz012345", kSecret),
            "AbCdEfGhIjKlMnOpQrStUvWxYz012345.pNl6M8y8MHobnKafvKRPuA6CAMIYjtwy/foQGnDaU08=");
  EXPECT_EQ(SignCookieValue(testdata::kCookieValue1, testdata::kSecret),
            absl::StrCat(testdata::kCookieValue1, ".", testdata::kCookieSignature1));
}

TEST(SignedCookie, VerifiesAndRejectsForgeries) {
  std::string signed_value = SignCookieValue("tok.with.dots", kSecret);
  EXPECT_EQ(VerifySignedCookie(signed_value, kSecret), "tok.with.dots");
  EXPECT_EQ(VerifySignedCookie(signed_value, "another-secret-another-secret-another"),
            std::nullopt);
  std::string tampered = signed_value;
  tampered[0] = 'T';
  EXPECT_EQ(VerifySignedCookie(tampered, kSecret), std::nullopt);
  std::string bad_sig = signed_value;
  bad_sig[bad_sig.size() - 3] ^= 1;
  EXPECT_EQ(VerifySignedCookie(bad_sig, kSecret), std::nullopt);
  EXPECT_EQ(VerifySignedCookie("tok.with.dots", kSecret), std::nullopt);  // unsigned
  EXPECT_EQ(VerifySignedCookie("", kSecret), std::nullopt);
  EXPECT_EQ(VerifySignedCookie(signed_value.substr(signed_value.find_last_of('.')), kSecret),
            std::nullopt);  // empty value
  EXPECT_EQ(VerifySignedCookie(signed_value.substr(0, signed_value.size() - 1), kSecret),
            std::nullopt);  // 43-char signature
  std::string not_base64 = signed_value;
  not_base64[not_base64.size() - 5] = '*';
  EXPECT_EQ(VerifySignedCookie(not_base64, kSecret), std::nullopt);
}

TEST(XChaCha20Poly1305, DraftVectorA31) {
  // draft-irtf-cfrg-xchacha-03, Appendix A.3.1.
  std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  std::string aad = Unhex("50515253c0c1c2c3c4c5c6c7");
  std::string key = Unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  std::string nonce = Unhex("404142434445464748494a4b4c4d4e4f5051525354555657");
  std::string expected = Unhex(
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
      "21f9664c97637da9768812f615c68b13b52e"
      "c0875924c1c7987947deafd8780acf49");
  EXPECT_EQ(HexEncode(XChaCha20Poly1305Seal(key, nonce, plaintext, aad)), HexEncode(expected));
  absl::StatusOr<std::string> opened = XChaCha20Poly1305Open(key, nonce, expected, aad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, plaintext);
  EXPECT_THAT(XChaCha20Poly1305Open(key, nonce, expected, "other aad").status(),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
}

TEST(Symmetric, DecryptsBetterAuthOutput) {
  absl::StatusOr<std::string> plain =
      SymmetricDecrypt(testdata::kSecret, testdata::kSymmetricCiphertext);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, testdata::kSymmetricPlaintext);
}

TEST(Symmetric, FixedNonceOutputMatchesBetterAuth) {
  std::string nonce = Unhex("000102030405060708090a0b0c0d0e0f1011121314151617");
  EXPECT_EQ(HexEncode(Sha256(testdata::kSecret)), testdata::kSymmetricKeyHex);
  EXPECT_EQ(HexEncode(nonce + XChaCha20Poly1305Seal(Sha256(testdata::kSecret), nonce,
                                                    testdata::kSymmetricPlaintext)),
            testdata::kSymmetricCiphertextFixedNonce);
  // The jwks.privateKey column holds the hex as a JSON string literal.
  EXPECT_EQ(absl::StrCat("\"", testdata::kSymmetricCiphertextFixedNonce, "\""),
            testdata::kJwksStoredPrivateKeyFixedNonce);
}

TEST(Symmetric, RoundTripsAndRejectsTampering) {
  std::string jwk = R"({"kty":"RSA","n":"abc","e":"AQAB","d":"secret"})";
  std::string sealed = SymmetricEncrypt(kSecret, jwk);
  EXPECT_THAT(sealed, MatchesRegex("[0-9a-f]+"));
  EXPECT_EQ(sealed.size(), 2 * (24 + jwk.size() + 16));
  EXPECT_NE(SymmetricEncrypt(kSecret, jwk), sealed);  // fresh nonce
  absl::StatusOr<std::string> plain = SymmetricDecrypt(kSecret, sealed);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, jwk);

  EXPECT_THAT(SymmetricDecrypt("wrong-secret-wrong-secret-wrong-secret", sealed).status(),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
  for (size_t pos : {size_t{0}, size_t{60}, sealed.size() - 1}) {
    std::string tampered = sealed;
    tampered[pos] = tampered[pos] == '0' ? '1' : '0';
    EXPECT_THAT(SymmetricDecrypt(kSecret, tampered).status(),
                StatusHasCode(absl::StatusCode::kPermissionDenied))
        << pos;
  }
  EXPECT_THAT(SymmetricDecrypt(kSecret, "xyz").status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SymmetricDecrypt(kSecret, sealed.substr(0, 60)).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(Rs256, GeneratedKeysSignTokensJwtVerifierAccepts) {
  absl::StatusOr<JwkPair> pair = GenerateRsaJwk();
  ASSERT_TRUE(pair.ok()) << pair.status();
  absl::StatusOr<Value> pub = ParseConvexJson(pair->public_jwk);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->object().size(), 3u);  // kty, n, e only
  std::string n;
  ASSERT_TRUE(Base64UrlDecode(pub->Find("n")->string(), &n));
  EXPECT_EQ(n.size(), 256u);  // RSA-2048
  EXPECT_EQ(pub->Find("e")->string(), "AQAB");
  absl::StatusOr<Value> priv = ParseConvexJson(pair->private_jwk);
  ASSERT_TRUE(priv.ok());
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi"}) {
    EXPECT_NE(priv->Find(member), nullptr) << member;
  }

  FakeClock clock(1'767'225'600'000'000'000ull);
  std::string payload = absl::StrCat(
      R"({"name":"Ada","sessionId":"s1","iat":1767225600,"sub":"u1",)",
      R"("iss":"http://127.0.0.1:3211","aud":"convex","exp":1767226500})");
  absl::StatusOr<std::string> token =
      SignJwtRs256(R"({"alg":"RS256","kid":"k1"})", payload, pair->private_jwk);
  ASSERT_TRUE(token.ok()) << token.status();

  std::string jwk_with_kid = pair->public_jwk;
  jwk_with_kid.insert(1, R"("kid":"k1","alg":"RS256",)");
  AuthProvider provider;
  provider.issuer = "http://127.0.0.1:3211";
  provider.application_id = "convex";
  provider.algorithm = "RS256";
  provider.jwks = "data:application/json;base64," +
                  absl::Base64Escape(absl::StrCat(R"({"keys":[)", jwk_with_kid, "]}"));
  JwtVerifier verifier({provider}, &clock);
  absl::StatusOr<Object> identity = verifier.Verify(*token);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->at("subject").string(), "u1");
  EXPECT_EQ(identity->at("sessionId").string(), "s1");
  EXPECT_EQ(identity->at("name").string(), "Ada");

  // Signed by another key under the same kid: rejected.
  absl::StatusOr<JwkPair> other = GenerateRsaJwk();
  ASSERT_TRUE(other.ok());
  absl::StatusOr<std::string> forged =
      SignJwtRs256(R"({"alg":"RS256","kid":"k1"})", payload, other->private_jwk);
  ASSERT_TRUE(forged.ok());
  EXPECT_THAT(verifier.Verify(*forged).status(),
              StatusHasCode(absl::StatusCode::kUnauthenticated));
}

TEST(Rs256, BetterAuthTokenVerifiesAndOurSignatureMatches) {
  // RSA PKCS#1 v1.5 is deterministic: signing the same bytes with better-auth's key must
  // give jose's token exactly.
  std::string_view token = testdata::kRs256Token;
  size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  std::string header, payload;
  ASSERT_TRUE(Base64UrlDecode(token.substr(0, dot1), &header));
  ASSERT_TRUE(Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload));
  absl::StatusOr<std::string> ours = SignJwtRs256(header, payload, testdata::kRsaPrivateJwk);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(*ours, token);
}

TEST(Rs256, MalformedPrivateKeysAreInvalidArgument) {
  for (std::string_view bad : {"", "[]", R"({"kty":"EC"})", R"({"kty":"RSA","n":"AQAB"})",
                               R"({"kty":"RSA","n":"!","e":"AQAB","d":"a","p":"a","q":"a",)"
                               R"("dp":"a","dq":"a","qi":"a"})"}) {
    EXPECT_THAT(SignJwtRs256("{}", "{}", bad).status(),
                StatusHasCode(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace cvx::auth
