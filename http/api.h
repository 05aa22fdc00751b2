// File: http/api.h
//
// Convex's HTTP API (convex-protocol.md §1) as a pure function from a request to a
// response, so it is tested without sockets; http/server.h puts it on the wire.
//
//   GET  /version                      200 "convexlite <version>"
//   POST /api/query|mutation|action    {path, args: [obj] | obj, format?} -> UdfResponse
//   GET  /api/query?path=&args=&format=
//   POST /api/function                 {path, args: obj, format?}, admin only, any type
//   POST /api/run/<dir>/<file>/<fn>    {args, format? = "json"}
//   POST /api/query_ts                 {"ts": "<b64 u64 LE>"}
//   POST /api/query_at_ts              {path, args, ts, format?}
//   POST /api/query_batch              {queries:[{path,args,format?}]} -> {results:[UdfResponse]}
//   OPTIONS /api/*                     CORS preflight (mirrors Origin and request headers)
//   /api/update_environment_variables, /api/export/*, /api/import/*, /api/perform_import:
//                                      admin only, see http/cli_api.h
//
// UdfResponse (HTTP 200): {"status":"success","value":v,"logLines":[...]} or
// {"status":"error","errorMessage":m,"errorData"?:d,"logLines":[...]}; logLines omitted
// when empty. System errors are non-2xx {"code":tag,"message":m}.
//
// Authorization: "Convex <admin key>" (admin; may call internal functions and
// /api/function), "Convex <admin key>:<base64 JSON identity>" (admin acting as a user),
// "Bearer <jwt>" (verified by the TokenVerifier, if any). ?adminKey= also works.
//
// Thread safety: Handle may be called concurrently; it runs functions on the calling
// thread (a worker, never an I/O thread).

#ifndef CVX_HTTP_API_H_
#define CVX_HTTP_API_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "functions/runner.h"

namespace cvx {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/api/query?path=x"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // empty while body_stream is set
  std::string remote_addr;  // the peer's IP address, when known
  // For HTTP actions: the server's streaming writer for this request's response, or null.
  HttpResponseStream* stream = nullptr;
  // For HTTP actions: the body as it arrives, when the server streams it (a large or chunked
  // upload, ServerOptions::*_streams_body), or null.
  HttpRequestBodyStream* body_stream = nullptr;
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<std::string> set_cookies;  // one Set-Cookie header each
  bool streamed = false;  // already sent through HttpRequest::stream; the server ends it
};

// Verifies a bearer token and returns the identity. kUnauthenticated on a bad token.
using TokenVerifier = std::function<absl::StatusOr<UserIdentity>(std::string_view token)>;

struct SnapshotHooks;  // http/cli_api.h
struct PushEndpoints;  // http/push_api.h

struct ApiOptions {
  std::string admin_key;
  // Snapshot export/import for the CLI endpoints (http/cli_api.h), supplied by the
  // embedding program (tools/) so http/ does not depend on the ZIP code. Null: those
  // endpoints answer 501 NotSupported.
  std::shared_ptr<const SnapshotHooks> snapshots;
  // The `npx convex dev/deploy` endpoints (http/push_api.h). Null: those routes are 404.
  std::shared_ptr<const PushEndpoints> push;
  TokenVerifier verify_token;  // null: bearer tokens are refused (NoAuthProvider)
  std::string version = CVX_VERSION;
};

class ApiHandler {
 public:
  ApiHandler(Runner* runner, ApiOptions options);
  ~ApiHandler();
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Caller {
    bool admin = false;
    std::optional<UserIdentity> identity;
    RequestMetadata request;  // ip, user agent, a fresh request id, the JWT if any
  };
  absl::StatusOr<Caller> Authenticate(const HttpRequest& request, std::string_view query_admin_key);
  HttpResponse RunUdf(const Caller& caller, const Value& body, std::optional<FunctionType> type,
                      bool allow_internal, std::string default_format,
                      std::optional<std::string> path_override, std::optional<uint64_t> at_ts);
  Runner* runner_;
  ApiOptions options_;
  std::unique_ptr<class CliApi> cli_;
  std::unique_ptr<class PushApi> push_;
};

// Serves an HTTP action: the request path minus `strip_prefix` (e.g. "/http" on the API
// port) is looked up in the App's router. CORS is the handler's business, as in Convex.
// A valid `Authorization: Bearer <jwt>` (checked by `verify_token`) is the action's
// ctx.auth identity; an invalid or non-JWT bearer value leaves it unauthenticated.
HttpResponse HandleHttpAction(Runner* runner, const HttpRequest& request,
                              std::string_view strip_prefix, const TokenVerifier& verify_token = nullptr);

// Status -> HTTP status code, for system errors ({code, message}).
int HttpStatusFor(const absl::Status& status);
// A system-error response {"code": tag, "message": text}.
HttpResponse SystemErrorResponse(const absl::Status& status);
// u64 as Convex's TS string: base64 of 8 little-endian bytes.
std::string EncodeTs(uint64_t ts);
[[nodiscard]] bool DecodeTs(std::string_view text, uint64_t* ts);
// Adds Convex's CORS headers for `request` to `response`.
void AddCorsHeaders(const HttpRequest& request, HttpResponse* response);

}  // namespace cvx

#endif  // CVX_HTTP_API_H_
