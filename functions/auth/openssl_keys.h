// File: functions/auth/openssl_keys.h
//
// Internal to cvx_auth (jwt.cc, crypto.cc): OpenSSL key ownership and construction from
// parameters, shared by the JWK readers of both files.

#ifndef CVX_FUNCTIONS_AUTH_OPENSSL_KEYS_H_
#define CVX_FUNCTIONS_AUTH_OPENSSL_KEYS_H_

#include <memory>

#include "openssl/evp.h"

namespace cvx::auth_internal {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// A key of `type` ("RSA", "EC") built from `params` (EVP_PKEY_PUBLIC_KEY or
// EVP_PKEY_KEYPAIR selection); null when OpenSSL refuses them.
inline Pkey KeyFromParams(const char* type, int selection, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) > 0) EVP_PKEY_fromdata(ctx, &key, selection, params);
  EVP_PKEY_CTX_free(ctx);
  return Pkey(key);
}

}  // namespace cvx::auth_internal

#endif  // CVX_FUNCTIONS_AUTH_OPENSSL_KEYS_H_
