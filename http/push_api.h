// File: http/push_api.h
//
// The endpoints `npx convex dev|deploy|codegen` drive against a self-hosted deployment
// (convex-push-protocol.md §1.4), admin key only; the work is js::PushService's:
//
//   GET  /api/v1/get_canonical_urls         {convexCloudUrl, convexSiteUrl}
//   GET  /api/stream_function_logs?cursor=  long poll: {entries, newCursor}
//   POST /api/get_config_hashes             {config, moduleHashes, udfServerVersion, nodeVersion}
//   POST /api/deploy2/start_push            StartPushResponse      (body may be brotli: Content-Encoding: br)
//   POST /api/deploy2/evaluate_push         {schemaChange}
//   POST /api/deploy2/evaluate_schema       {componentSchemaEvaluations, newComponentDefinitions}
//   POST /api/deploy2/wait_for_schema       {"type":"complete"} | {"type":"failed",error,componentPath,tableName}
//   POST /api/deploy2/finish_push           {authDiff, definitionDiffs, componentDiffs}
//   POST /api/deploy2/report_push_completed null
//
// Every user error is 400 {code, message} (the CLI then waits for a file change instead of
// retrying); a body that is not valid brotli or JSON is 400 too. Thread safety: Handle may
// be called concurrently.

#ifndef CVX_HTTP_PUSH_API_H_
#define CVX_HTTP_PUSH_API_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "functions/function_log.h"
#include "functions/js/push.h"
#include "http/api.h"

namespace cvx {

struct PushEndpoints {
  std::shared_ptr<js::PushService> service;  // null: the push routes answer 400 NoPushSupport
  std::function<std::string()> cloud_url;
  std::function<std::string()> site_url;
  FunctionLog* function_log = nullptr;  // what stream_function_logs serves (null: nothing)
  absl::Duration log_poll = absl::Seconds(30);  // the long poll's longest wait
  size_t max_decompressed_bytes = 200 << 20;  // Convex's MAX_PUSH_BYTES
};

class PushApi {
 public:
  explicit PushApi(PushEndpoints endpoints) : endpoints_(std::move(endpoints)) {}
  // True when `path` is one of the endpoints above (the caller has checked the admin key).
  static bool Handles(std::string_view path);
  HttpResponse Handle(const HttpRequest& request, const std::string& path,
                      const std::map<std::string, std::string>& query);

 private:
  PushEndpoints endpoints_;
};

// Decodes a Content-Encoding: br body. kInvalidArgument "InvalidBrotli" on bad input or
// when the result would exceed `limit` bytes.
[[nodiscard]] absl::StatusOr<std::string> BrotliDecode(std::string_view compressed, size_t limit);

}  // namespace cvx

#endif  // CVX_HTTP_PUSH_API_H_
