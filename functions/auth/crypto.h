// File: functions/auth/crypto.h
//
// Better Auth's crypto, byte-compatible with better-auth@1.4.7 (better-auth.md §4, §5):
//
//   password hash   "<saltHex32>:<keyHex128>"
//                   key = scrypt(NFKC(password), salt = the 32 hex chars' bytes,
//                                N=16384, r=16, p=1, dkLen=64)
//   fast hash       "fast:<saltHex32>:<hex(SHA-256(salt ":" NFKC(password)))>"  (tests only;
//                   verifies only when fast hashing is enabled)
//   session token   generateId(32): [A-Za-z0-9], uniform by rejection sampling
//   signed cookie   value "." base64std(HMAC-SHA256(secret, value))   (44-char signature)
//   symmetric       hex(nonce24 || XChaCha20-Poly1305(key = SHA-256(secret), nonce24, data)
//                       || tag16)   (@noble/ciphers managedNonce(xchacha20poly1305))
//   JWK             RSA-2048 keys as JWK JSON (public {kty,n,e}, private adds d,p,q,dp,dq,qi)
//   JWT             base64url(header) "." base64url(payload) "." base64url(RS256 signature)
//
// All functions are thread-safe. Randomness comes from OpenSSL's RAND_bytes.

#ifndef CVX_FUNCTIONS_AUTH_CRYPTO_H_
#define CVX_FUNCTIONS_AUTH_CRYPTO_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cvx::auth {

// NFKC normalization of UTF-8 text (String.prototype.normalize("NFKC")). Invalid UTF-8
// sequences become U+FFFD, as in JS strings decoded from UTF-8.
std::string NormalizeNfkc(std::string_view utf8);

// The JS `.length` of UTF-8 text: the number of UTF-16 code units.
size_t Utf16Length(std::string_view utf8);

// `n` cryptographically random bytes.
std::string RandomBytes(size_t n);

// Lower-case hex.
std::string HexEncode(std::string_view bytes);
[[nodiscard]] bool HexDecode(std::string_view hex, std::string* out);

// better-auth's generateId(n): `n` chars from [A-Za-z0-9].
std::string GenerateId(size_t n = 32);

std::string Sha256(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

// Constant-time equality of two byte strings (false when lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Password hashing. `fast` selects the insecure test hash (--fast-password-hash).
// kInternal only if OpenSSL fails.
[[nodiscard]] absl::StatusOr<std::string> HashPassword(std::string_view password,
                                                       bool fast = false);
// True when `stored` is a hash of `password`. A fast hash verifies only when `fast`; a
// malformed `stored` is false.
bool VerifyPassword(std::string_view stored, std::string_view password, bool fast = false);

// Cookie signing as better-call's signCookieValue: "<value>.<base64 HMAC>" (not yet
// URI-encoded). VerifySignedCookie takes the URI-decoded cookie value and returns the
// inner value when its signature (44 chars, ends in '=') verifies.
std::string SignCookieValue(std::string_view value, std::string_view secret);
std::optional<std::string> VerifySignedCookie(std::string_view signed_value,
                                              std::string_view secret);

// better-auth's symmetricEncrypt / symmetricDecrypt (hex text). Decrypt: kInvalidArgument
// for malformed input, kPermissionDenied when authentication fails (wrong secret, tampering).
std::string SymmetricEncrypt(std::string_view secret, std::string_view plaintext);
[[nodiscard]] absl::StatusOr<std::string> SymmetricDecrypt(std::string_view secret,
                                                           std::string_view hex);

// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): returns ciphertext || tag16.
// Exposed for the draft's test vector.
std::string XChaCha20Poly1305Seal(std::string_view key32, std::string_view nonce24,
                                  std::string_view plaintext, std::string_view aad = {});
[[nodiscard]] absl::StatusOr<std::string> XChaCha20Poly1305Open(std::string_view key32,
                                                                std::string_view nonce24,
                                                                std::string_view sealed,
                                                                std::string_view aad = {});

struct JwkPair {
  std::string public_jwk;   // JSON {"kty":"RSA","n":...,"e":...}
  std::string private_jwk;  // JSON with d, p, q, dp, dq, qi as well
};
// A fresh RSA-2048 key pair (e = 65537). Takes tens to hundreds of ms.
[[nodiscard]] absl::StatusOr<JwkPair> GenerateRsaJwk();

// A parsed RSA private key that signs RS256 JWSs. Parsing a JWK costs far more than a
// signature, so callers keep one per key. Thread-safe.
class RsaSigner {
 public:
  // kInvalidArgument for a malformed key.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const RsaSigner>> FromJwk(
      std::string_view private_jwk_json);
  ~RsaSigner();
  // base64url(header) "." base64url(payload) "." base64url(RS256 signature).
  [[nodiscard]] absl::StatusOr<std::string> Sign(std::string_view header_json,
                                                 std::string_view payload_json) const;

 private:
  explicit RsaSigner(void* key) : key_(key) {}
  void* key_;  // EVP_PKEY*
};

// An RS256 JWS over `header_json` and `payload_json` (the exact bytes encoded), with the
// private RSA JWK. kInvalidArgument for a malformed key.
[[nodiscard]] absl::StatusOr<std::string> SignJwtRs256(std::string_view header_json,
                                                       std::string_view payload_json,
                                                       std::string_view private_jwk_json);

}  // namespace cvx::auth

#endif  // CVX_FUNCTIONS_AUTH_CRYPTO_H_
