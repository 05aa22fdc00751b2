// File: http/fetch.h
//
// A small HTTP(S) GET client for what the server itself must fetch: OIDC discovery
// documents and JWKS of auth providers (functions/auth/jwt.h's UrlFetcher). HTTPS verifies
// the peer against the system's CA store and the host name (SNI set). Redirects are
// followed (at most 5, https -> http refused); bodies are capped at 1 MiB.
//
// Returns the body of a 200 response; kUnavailable for anything else (unreachable host,
// TLS failure, timeout, another status), kInvalidArgument for a URL that is not http(s).
// Thread-safe; each call opens its own connection.

#ifndef CVX_HTTP_FETCH_H_
#define CVX_HTTP_FETCH_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace cvx {

[[nodiscard]] absl::StatusOr<std::string> FetchUrl(
    const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace cvx

#endif  // CVX_HTTP_FETCH_H_
