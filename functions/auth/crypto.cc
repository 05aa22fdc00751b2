#include "functions/auth/crypto.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "engine/value/value.h"
#include "functions/auth/jwt.h"
#include "functions/auth/openssl_keys.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/kdf.h"
#include "openssl/param_build.h"
#include "openssl/rand.h"
#include "unicode/bytestream.h"
#include "unicode/normalizer2.h"

namespace cvx::auth {
namespace {

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

constexpr uint64_t kScryptN = 16384;
constexpr uint64_t kScryptR = 16;
constexpr uint64_t kScryptP = 1;
constexpr size_t kScryptKeyLen = 64;
// better-auth passes maxmem = 128 * N * r * 2; OpenSSL's 32 MB default is too small.
constexpr uint64_t kScryptMaxMem = 128 * kScryptN * kScryptR * 2;
constexpr std::string_view kFastPrefix = "fast:";

absl::StatusOr<std::string> Scrypt(std::string_view password, std::string_view salt) {
  std::string key(kScryptKeyLen, '\0');
  if (EVP_PBE_scrypt(password.data(), password.size(), U(salt), salt.size(), kScryptN,
                     kScryptR, kScryptP, kScryptMaxMem,
                     reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    return absl::InternalError("scrypt failed");
  }
  return key;
}

std::string FastKey(std::string_view salt, std::string_view normalized) {
  return HexEncode(Sha256(std::string(salt) + ":" + std::string(normalized)));
}

std::vector<std::string_view> Split(std::string_view s) {  // JS s.split(":")
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = s.find(':', start);
    parts.push_back(s.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) return parts;
    start = colon + 1;
  }
}

// ---- XChaCha20 ----

uint32_t Load32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
void Store32(unsigned char* p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}
uint32_t Rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }
void QuarterRound(uint32_t* x, int a, int b, int c, int d) {
  x[a] += x[b]; x[d] = Rotl(x[d] ^ x[a], 16);
  x[c] += x[d]; x[b] = Rotl(x[b] ^ x[c], 12);
  x[a] += x[b]; x[d] = Rotl(x[d] ^ x[a], 8);
  x[c] += x[d]; x[b] = Rotl(x[b] ^ x[c], 7);
}

// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the ChaCha20 block function over key and a
// 16-byte nonce, without the final addition; words 0..3 and 12..15 form the subkey.
// Hand-written because OpenSSL 3.0 has no XChaCha20.
std::string HChaCha20(std::string_view key32, std::string_view nonce16) {
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; ++i) x[4 + i] = Load32(U(key32) + 4 * i);
  for (int i = 0; i < 4; ++i) x[12 + i] = Load32(U(nonce16) + 4 * i);
  for (int i = 0; i < 10; ++i) {
    QuarterRound(x, 0, 4, 8, 12);
    QuarterRound(x, 1, 5, 9, 13);
    QuarterRound(x, 2, 6, 10, 14);
    QuarterRound(x, 3, 7, 11, 15);
    QuarterRound(x, 0, 5, 10, 15);
    QuarterRound(x, 1, 6, 11, 12);
    QuarterRound(x, 2, 7, 8, 13);
    QuarterRound(x, 3, 4, 9, 14);
  }
  std::string out(32, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  for (int i = 0; i < 4; ++i) Store32(o + 4 * i, x[i]);
  for (int i = 0; i < 4; ++i) Store32(o + 16 + 4 * i, x[12 + i]);
  return out;
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

constexpr size_t kTagLen = 16;

// ChaCha20-Poly1305 (RFC 8439) with the XChaCha subkey and nonce 0^4 || nonce24[16..24].
// Returns false on authentication failure when decrypting.
bool ChaChaPoly(bool encrypt, std::string_view key32, std::string_view nonce24,
                std::string_view in, std::string_view aad, std::string* out,
                std::string* tag) {
  std::string subkey = HChaCha20(key32, nonce24.substr(0, 16));
  unsigned char iv[12] = {0, 0, 0, 0};
  std::memcpy(iv + 4, nonce24.data() + 16, 8);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = EVP_CipherInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, U(subkey), iv,
                              encrypt ? 1 : 0) == 1;
  OPENSSL_cleanse(subkey.data(), subkey.size());
  if (ok && !aad.empty()) {
    ok = EVP_CipherUpdate(ctx.get(), nullptr, &len, U(aad), aad.size()) == 1;
  }
  out->assign(in.size(), '\0');
  if (ok && !in.empty()) {
    ok = EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out->data()), &len,
                          U(in), in.size()) == 1;
  }
  if (ok && !encrypt) {
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagLen, tag->data()) == 1;
  }
  unsigned char final_block[16];
  ok = ok && EVP_CipherFinal_ex(ctx.get(), final_block, &len) == 1;
  if (ok && encrypt) {
    tag->assign(kTagLen, '\0');
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagLen, tag->data()) == 1;
  }
  if (!ok) OPENSSL_cleanse(out->data(), out->size());
  return ok;
}

// ---- RSA JWK ----

using auth_internal::KeyFromParams;
using auth_internal::Pkey;

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

// JWK member name -> OpenSSL RSA parameter, in JWK order (RFC 7518 §6.3).
constexpr std::array<std::pair<const char*, const char*>, 8> kRsaParams = {{
    {"n", OSSL_PKEY_PARAM_RSA_N},
    {"e", OSSL_PKEY_PARAM_RSA_E},
    {"d", OSSL_PKEY_PARAM_RSA_D},
    {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
    {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
}};

absl::StatusOr<std::string> BnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return absl::InternalError(absl::StrCat("RSA key has no ", name));
  }
  Bn bn(raw);
  std::string bytes(BN_num_bytes(bn.get()), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return Base64UrlEncode(bytes);
}

absl::StatusOr<Pkey> PrivateKeyFromJwk(std::string_view jwk_json) {
  absl::StatusOr<Value> jwk = ParseConvexJson(jwk_json);
  if (!jwk.ok() || !jwk->is_object()) {
    return absl::InvalidArgumentError("private key is not a JWK object");
  }
  const Value* kty = jwk->Find("kty");
  if (kty == nullptr || !kty->is_string() || kty->string() != "RSA") {
    return absl::InvalidArgumentError("private key is not an RSA JWK");
  }
  std::vector<Bn> bns;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  for (const auto& [member, param] : kRsaParams) {
    const Value* v = jwk->Find(member);
    std::string bytes;
    if (v == nullptr || !v->is_string() || !Base64UrlDecode(v->string(), &bytes) ||
        bytes.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("RSA JWK lacks a valid \"", member, "\""));
    }
    bns.emplace_back(BN_bin2bn(U(bytes), bytes.size(), nullptr));
    OSSL_PARAM_BLD_push_BN(bld.get(), param, bns.back().get());
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  Pkey key = KeyFromParams("RSA", EVP_PKEY_KEYPAIR, params);
  OSSL_PARAM_free(params);
  if (!key) return absl::InvalidArgumentError("invalid RSA private JWK");
  return key;
}

}  // namespace

std::string NormalizeNfkc(std::string_view utf8) {
  bool ascii = true;
  for (char c : utf8) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(utf8);
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  if (U_FAILURE(error)) return std::string(utf8);
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  nfkc->normalizeUTF8(0, icu::StringPiece(utf8.data(), utf8.size()), sink, nullptr, error);
  if (U_FAILURE(error)) return std::string(utf8);
  return out;
}

size_t Utf16Length(std::string_view utf8) {
  size_t units = 0;
  for (size_t i = 0; i < utf8.size();) {
    unsigned char c = utf8[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= utf8.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(utf8[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) {  // one U+FFFD per bad byte
      ++units;
      ++i;
      continue;
    }
    units += len == 4 ? 2 : 1;
    i += len;
  }
  return units;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), n) != 1) {
    std::abort();  // no entropy: nothing secure can be done
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

std::string GenerateId(size_t n) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  constexpr unsigned kSize = sizeof(kAlphabet) - 1;  // 62
  constexpr unsigned kLimit = 256 - 256 % kSize;     // 248: rejection keeps it uniform
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    for (unsigned char c : RandomBytes(n * 2)) {
      if (c >= kLimit) continue;
      out.push_back(kAlphabet[c % kSize]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), nullptr,
             EVP_sha256(), nullptr);
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data), data.size(),
       reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> HashPassword(std::string_view password, bool fast) {
  std::string salt = HexEncode(RandomBytes(16));
  std::string normalized = NormalizeNfkc(password);
  if (fast) return absl::StrCat(AV(kFastPrefix), salt, ":", FastKey(salt, normalized));
  CVX_ASSIGN_OR_RETURN(std::string key, Scrypt(normalized, salt));
  return absl::StrCat(salt, ":", HexEncode(key));
}

bool VerifyPassword(std::string_view stored, std::string_view password, bool fast) {
  if (stored.substr(0, kFastPrefix.size()) == kFastPrefix) {
    if (!fast) return false;
    std::vector<std::string_view> parts = Split(stored.substr(kFastPrefix.size()));
    if (parts.size() != 2 || parts[0].empty()) return false;
    return ConstantTimeEquals(FastKey(parts[0], NormalizeNfkc(password)), parts[1]);
  }
  // better-auth: const [salt, key] = hash.split(":")
  std::vector<std::string_view> parts = Split(stored);
  std::string expected;
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty() ||
      !HexDecode(parts[1], &expected)) {
    return false;
  }
  absl::StatusOr<std::string> key = Scrypt(NormalizeNfkc(password), parts[0]);
  return key.ok() && ConstantTimeEquals(*key, expected);
}

std::string SignCookieValue(std::string_view value, std::string_view secret) {
  return absl::StrCat(AV(value), ".", AV(Base64Encode(HmacSha256(secret, value))));
}

std::optional<std::string> VerifySignedCookie(std::string_view signed_value,
                                              std::string_view secret) {
  size_t dot = signed_value.rfind('.');
  if (dot == std::string_view::npos || dot < 1) return std::nullopt;
  std::string_view value = signed_value.substr(0, dot);
  std::string_view signature = signed_value.substr(dot + 1);
  if (signature.size() != 44 || signature.back() != '=') return std::nullopt;
  std::string mac;
  if (!Base64Decode(signature, &mac)) return std::nullopt;
  if (!ConstantTimeEquals(mac, HmacSha256(secret, value))) return std::nullopt;
  return std::string(value);
}

std::string XChaCha20Poly1305Seal(std::string_view key32, std::string_view nonce24,
                                  std::string_view plaintext, std::string_view aad) {
  std::string out, tag;
  if (key32.size() != 32 || nonce24.size() != 24 ||
      !ChaChaPoly(true, key32, nonce24, plaintext, aad, &out, &tag)) {
    std::abort();  // caller bug or a broken OpenSSL
  }
  return out + tag;
}

absl::StatusOr<std::string> XChaCha20Poly1305Open(std::string_view key32,
                                                  std::string_view nonce24,
                                                  std::string_view sealed,
                                                  std::string_view aad) {
  if (key32.size() != 32 || nonce24.size() != 24 || sealed.size() < kTagLen) {
    return absl::InvalidArgumentError("malformed XChaCha20-Poly1305 input");
  }
  std::string tag(sealed.substr(sealed.size() - kTagLen));
  std::string out;
  if (!ChaChaPoly(false, key32, nonce24, sealed.substr(0, sealed.size() - kTagLen), aad, &out,
                  &tag)) {
    return absl::PermissionDeniedError("decryption failed: invalid tag");
  }
  return out;
}

std::string SymmetricEncrypt(std::string_view secret, std::string_view plaintext) {
  std::string nonce = RandomBytes(24);
  return HexEncode(nonce + XChaCha20Poly1305Seal(Sha256(secret), nonce, plaintext));
}

absl::StatusOr<std::string> SymmetricDecrypt(std::string_view secret, std::string_view hex) {
  std::string bytes;
  if (!HexDecode(hex, &bytes) || bytes.size() < 24 + kTagLen) {
    return absl::InvalidArgumentError("encrypted value is not nonce||ciphertext hex");
  }
  std::string_view all(bytes);
  return XChaCha20Poly1305Open(Sha256(secret), all.substr(0, 24), all.substr(24));
}

absl::StatusOr<JwkPair> GenerateRsaJwk() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  if (!key) return absl::InternalError("RSA key generation failed");
  std::string public_json = "{\"kty\":\"RSA\"";
  std::string private_json = public_json;
  for (size_t i = 0; i < kRsaParams.size(); ++i) {
    CVX_ASSIGN_OR_RETURN(std::string b64, BnParam(key.get(), kRsaParams[i].second));
    std::string member = absl::StrCat(",\"", kRsaParams[i].first, "\":\"", b64, "\"");
    if (i < 2) public_json += member;
    private_json += member;
  }
  return JwkPair{public_json + "}", private_json + "}"};
}

absl::StatusOr<std::shared_ptr<const RsaSigner>> RsaSigner::FromJwk(
    std::string_view private_jwk_json) {
  CVX_ASSIGN_OR_RETURN(Pkey key, PrivateKeyFromJwk(private_jwk_json));
  return std::shared_ptr<const RsaSigner>(new RsaSigner(key.release()));
}

RsaSigner::~RsaSigner() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

absl::StatusOr<std::string> SignJwtRs256(std::string_view header_json,
                                         std::string_view payload_json,
                                         std::string_view private_jwk_json) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<const RsaSigner> signer,
                       RsaSigner::FromJwk(private_jwk_json));
  return signer->Sign(header_json, payload_json);
}

absl::StatusOr<std::string> RsaSigner::Sign(std::string_view header_json,
                                            std::string_view payload_json) const {
  EVP_PKEY* key = static_cast<EVP_PKEY*>(key_);
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, U(signing_input), signing_input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     U(signing_input), signing_input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  signature.resize(len);
  return absl::StrCat(signing_input, ".", Base64UrlEncode(signature));
}

}  // namespace cvx::auth
