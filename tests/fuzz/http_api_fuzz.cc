// The HTTP API (http/api.h) on the reference app, in process: every request gets a
// response with a valid status, never a crash. Input: byte 0 picks the method and whether
// the admin key is sent, then the target up to '\n', then the body.

#include <memory>
#include <string>
#include <string_view>

#include "http/api.h"
#include "tests/fuzz/reference_backend.h"

namespace {

struct Backend : cvx::fuzz::ReferenceBackend {
  std::unique_ptr<cvx::ApiHandler> api;

  Backend() {
    cvx::ApiOptions api_options;
    api_options.admin_key = "fuzz-admin-key";
    api = std::make_unique<cvx::ApiHandler>(runner.get(), api_options);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Backend* backend = new Backend();  // one per process, as a server has
  if (size == 0) return 0;
  static constexpr const char* kMethods[] = {"GET", "POST", "OPTIONS", "PUT"};
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t newline = rest.find('\n');
  cvx::HttpRequest request;
  request.method = kMethods[data[0] & 3];
  request.target = std::string(rest.substr(0, newline));
  if (request.target.empty() || request.target[0] != '/') request.target = "/" + request.target;
  if (newline != std::string_view::npos) request.body = std::string(rest.substr(newline + 1));
  request.headers["content-type"] = (data[0] & 8) ? "text/plain" : "application/json";
  if (data[0] & 4) request.headers["authorization"] = "Convex fuzz-admin-key";
  if (data[0] & 16) request.headers["authorization"] = "Bearer " + request.body.substr(0, 64);
  cvx::HttpResponse response = backend->api->Handle(request);
  FUZZ_CHECK(response.status >= 100 && response.status < 600);
  return 0;
}
