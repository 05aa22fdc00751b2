#include "functions/http_router.h"

#include <cstdio>
#include <cstdlib>
#include <future>

#include "absl/strings/match.h"
#include "engine/base/status_macros.h"

namespace cvx {
namespace {

bool ValidMethod(const std::string& m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "DELETE" || m == "OPTIONS" ||
         m == "PATCH";
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "convexlite: invalid HTTP route: %s\n", what.c_str());
  std::abort();
}

}  // namespace

absl::StatusOr<std::string> HttpRequestBodyStream::Next() {
  std::promise<absl::StatusOr<std::string>> piece;
  std::future<absl::StatusOr<std::string>> read = piece.get_future();
  ReadAsync([&piece](absl::StatusOr<std::string> result) { piece.set_value(std::move(result)); });
  return read.get();
}

absl::StatusOr<std::string> ReadWholeBody(HttpRequestBodyStream& stream) {
  std::string body;
  for (;;) {
    CVX_ASSIGN_OR_RETURN(std::string piece, stream.Next());
    if (piece.empty()) return body;
    body += piece;
  }
}

void HttpRouter::Route(std::string method, std::string path, HttpActionHandler handler,
                       bool reads_body_stream) {
  if (!ValidMethod(method)) Fail("method " + method);
  if (path.empty() || path[0] != '/' || absl::StartsWith(path, "/.files")) Fail("path " + path);
  if (!exact_.emplace(std::make_pair(method, path), Target{std::move(handler), reads_body_stream})
           .second) {
    Fail("duplicate " + method + " " + path);
  }
}

void HttpRouter::RoutePrefix(std::string method, std::string path_prefix,
                             HttpActionHandler handler, bool reads_body_stream) {
  if (!ValidMethod(method)) Fail("method " + method);
  if (path_prefix.size() < 1 || path_prefix.front() != '/' || path_prefix.back() != '/') {
    Fail("pathPrefix must start and end with '/': " + path_prefix);
  }
  prefixes_.emplace_back(std::move(method), std::move(path_prefix),
                         Target{std::move(handler), reads_body_stream});
}

const HttpRouter::Target* HttpRouter::Lookup(std::string_view method, std::string_view path) const {
  std::string m(method == "HEAD" ? "GET" : method);
  if (auto it = exact_.find({m, std::string(path)}); it != exact_.end()) return &it->second;
  const Target* best = nullptr;
  size_t best_len = 0;
  for (const auto& [pm, prefix, target] : prefixes_) {
    if (pm == m && absl::StartsWith(AV(path), prefix) && prefix.size() > best_len) {
      best = &target;
      best_len = prefix.size();
    }
  }
  return best;
}

std::vector<std::pair<std::string, std::string>> HttpRouter::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, handler] : exact_) out.emplace_back(key.first, key.second);
  for (const auto& [method, prefix, handler] : prefixes_) out.emplace_back(method, prefix + "*");
  return out;
}

}  // namespace cvx
