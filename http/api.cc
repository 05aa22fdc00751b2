#include "http/api.h"

#include "functions/auth/crypto.h"
#include "http/cli_api.h"
#include "http/push_api.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "boost/url/parse.hpp"
#include "boost/url/url_view.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"

namespace cvx {
namespace {

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

absl::Status BadRequest(std::string_view tag, std::string_view message) {
  return InvalidArgument(tag, message);
}


std::string Encode(const Value& v, const std::string& format) {
  return format == "json" ? ToCleanJson(v) : ToConvexJson(v);
}

absl::StatusOr<std::string> CheckFormat(const Value* format, std::string fallback) {
  if (format == nullptr || format->is_null()) return fallback;
  if (!format->is_string()) return BadRequest("BadFormat", "format must be a string");
  const std::string& f = format->string();
  if (f == "convex_encoded_json" || f == "convex_json") return std::string("convex_encoded_json");
  if (f == "json" || f == "convex_clean_json") return std::string("json");
  return BadRequest("BadFormat", absl::StrCat("Invalid format: ", f));
}

// args: [obj] (the client's legacy positional form) or obj.
absl::StatusOr<Value> UnwrapArgs(const Value* args) {
  if (args == nullptr || args->is_null()) return Value::FromObject({});
  if (args->is_array()) {
    if (args->array().size() == 1) return args->array()[0];
    if (args->array().empty()) return Value::FromObject({});
    return BadRequest("InvalidArgs",
                      absl::StrCat("Expected to receive a single object as the function's "
                                   "argument. Instead received ",
                                   args->array().size(), " arguments"));
  }
  return *args;
}

Value UdfResponseValue(const FunctionResult& result, const std::string& format,
                       const std::string& request_id) {
  Object out;
  if (result.ok()) {
    out.emplace("status", Value::String("success"));
    out.emplace("value", *result.value);
  } else {
    out.emplace("status", Value::String("error"));
    out.emplace("errorMessage", Value::String(absl::StrCat("[Request ID: ", request_id,
                                                           "] Server Error\n",
                                                           result.error->message)));
    if (result.error->data) out.emplace("errorData", *result.error->data);
  }
  if (!result.log_lines.empty()) {
    Array lines;
    for (const std::string& l : result.log_lines) lines.push_back(Value::String(l));
    out.emplace("logLines", Value::FromArray(std::move(lines)));
  }
  (void)format;
  return Value::FromObject(std::move(out));
}

std::string UdfResponseJson(const FunctionResult& result, const std::string& format,
                            const std::string& request_id) {
  Value v = UdfResponseValue(result, format, request_id);
  // The envelope is plain JSON; value/errorData are encoded in the requested format.
  return Encode(v, format);
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

HttpResponse SystemErrorResponse(const absl::Status& status) {
  std::string tag = ErrorTag(status);
  if (tag.empty()) tag = HttpStatusFor(status) >= 500 ? "InternalServerError" : "BadRequest";
  std::string message(status.message());
  if (HttpStatusFor(status) == 500) {
    message = absl::StrCat("[Request ID: ", RequestMetadata::NewRequestId(), "] Server Error");
  }
  return Json(HttpStatusFor(status),
              ToConvexJson(Value::FromObject({{"code", Value::String(tag)},
                                              {"message", Value::String(message)}})));
}

std::string EncodeTs(uint64_t ts) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((ts >> (8 * i)) & 0xff);
  return Base64Encode(bytes);
}

bool DecodeTs(std::string_view text, uint64_t* ts) {
  std::string bytes;
  if (!Base64Decode(text, &bytes) || bytes.size() != 8) return false;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  *ts = v;
  return true;
}

void AddCorsHeaders(const HttpRequest& request, HttpResponse* response) {
  std::string origin = request.Header("origin");
  if (origin.empty()) return;
  response->headers["access-control-allow-origin"] = origin;
  response->headers["access-control-allow-credentials"] = "true";
  response->headers["vary"] = "Origin";
  if (request.method == "OPTIONS") {
    response->headers["access-control-allow-methods"] = "GET,POST,OPTIONS,PATCH,DELETE,PUT";
    std::string requested = request.Header("access-control-request-headers");
    if (!requested.empty()) response->headers["access-control-allow-headers"] = requested;
    response->headers["access-control-max-age"] = "86400";
  }
}

HttpResponse HandleHttpAction(Runner* runner, const HttpRequest& request,
                              std::string_view strip_prefix, const TokenVerifier& verify_token) {
  HttpActionRequest action;
  action.method = request.method;
  action.url = request.target.substr(std::min(request.target.size(), strip_prefix.size()));
  if (action.url.empty() || action.url[0] != '/') action.url = "/" + action.url;
  action.path = action.url.substr(0, action.url.find('?'));
  action.headers = request.headers;
  action.body = request.body;
  action.body_stream = request.body_stream;
  action.remote_addr = request.remote_addr;
  action.stream = request.stream;
  // ctx.auth in an HTTP action: the identity of a valid `Authorization: Bearer <jwt>`.
  // Other bearer values (Better Auth's session tokens use the same header) leave it unset.
  std::optional<UserIdentity> identity;
  std::string auth = request.Header("authorization");
  if (verify_token && absl::StartsWithIgnoreCase(auth, "bearer ")) {
    absl::StatusOr<UserIdentity> verified = verify_token(std::string_view(auth).substr(7));
    if (verified.ok()) identity = std::move(*verified);
  }
  HttpActionResponse r = runner->RunHttpAction(action, identity);
  HttpResponse out;
  out.status = r.status;
  out.headers = std::move(r.headers);
  out.set_cookies = std::move(r.set_cookies);
  out.body = std::move(r.body);
  out.streamed = r.streamed;
  return out;
}

ApiHandler::ApiHandler(Runner* runner, ApiOptions options)
    : runner_(runner), options_(std::move(options)),
      cli_(std::make_unique<CliApi>(runner, options_.snapshots ? *options_.snapshots : SnapshotHooks{})) {
  if (options_.push) push_ = std::make_unique<PushApi>(*options_.push);
}

ApiHandler::~ApiHandler() = default;

absl::StatusOr<ApiHandler::Caller> ApiHandler::Authenticate(const HttpRequest& request,
                                                            std::string_view query_admin_key) {
  Caller caller;
  caller.request.request_id = RequestMetadata::NewRequestId();
  if (!request.remote_addr.empty()) caller.request.ip = request.remote_addr;
  if (std::string agent = request.Header("user-agent"); !agent.empty()) caller.request.user_agent = agent;
  std::string auth = request.Header("authorization");
  if (auth.empty() && !query_admin_key.empty()) auth = absl::StrCat("Convex ", AV(query_admin_key));
  if (auth.empty()) return caller;
  if (auth.size() >= 7 && absl::EqualsIgnoreCase(auth.substr(0, 7), "convex ")) {
    std::string key = auth.substr(7);
    std::string acting_as;
    if (size_t colon = key.find(':'); colon != std::string::npos) {
      acting_as = key.substr(colon + 1);
      key = key.substr(0, colon);
    }
    if (options_.admin_key.empty() || !auth::ConstantTimeEquals(key, options_.admin_key)) {
      return MakeError(absl::StatusCode::kUnauthenticated, "BadAdminKey",
                       "The provided admin key was invalid for this instance");
    }
    caller.admin = true;
    if (!acting_as.empty()) {
      std::string json;
      if (!absl::Base64Unescape(acting_as, &json) && !absl::WebSafeBase64Unescape(acting_as, &json)) {
        return MakeError(absl::StatusCode::kUnauthenticated, "InvalidAuthHeader",
                         "The acting-as identity is not base64");
      }
      absl::StatusOr<Value> identity = ParseConvexJson(json);
      if (!identity.ok() || !identity->is_object()) {
        return MakeError(absl::StatusCode::kUnauthenticated, "InvalidAuthHeader",
                         "The acting-as identity is not a JSON object");
      }
      Object fields = identity->object();
      bool has_token = fields.count("tokenIdentifier") > 0;
      bool has_pair = fields.count("issuer") > 0 && fields.count("subject") > 0;
      if (!has_token && !has_pair) {
        return MakeError(absl::StatusCode::kUnauthenticated, "InvalidAuthHeader",
                         "The acting-as identity needs tokenIdentifier or issuer and subject");
      }
      if (!has_token) {
        fields["tokenIdentifier"] = Value::String(
            absl::StrCat(fields["issuer"].is_string() ? fields["issuer"].string() : "", "|",
                         fields["subject"].is_string() ? fields["subject"].string() : ""));
      }
      caller.identity = std::move(fields);
    }
    return caller;
  }
  if (auth.size() >= 7 && absl::EqualsIgnoreCase(auth.substr(0, 7), "bearer ")) {
    if (!options_.verify_token) {
      return MakeError(absl::StatusCode::kUnauthenticated, "NoAuthProvider",
                       "No auth provider found matching the given token");
    }
    CVX_ASSIGN_OR_RETURN(caller.identity, options_.verify_token(auth.substr(7)));
    caller.request.auth_token = auth.substr(7);
    return caller;
  }
  return MakeError(absl::StatusCode::kUnauthenticated, "InvalidAuthHeader",
                   "The Authorization header must be \"Bearer <token>\" or \"Convex <key>\"");
}

HttpResponse ApiHandler::RunUdf(const Caller& caller, const Value& body,
                                std::optional<FunctionType> type, bool allow_internal,
                                std::string default_format,
                                std::optional<std::string> path_override,
                                std::optional<uint64_t> at_ts) {
  if (!body.is_object()) return SystemErrorResponse(BadRequest("BadJsonBody", "expected an object"));
  absl::StatusOr<std::string> format = CheckFormat(body.Find("format"), default_format);
  if (!format.ok()) return SystemErrorResponse(format.status());
  std::string path;
  if (path_override) {
    path = *path_override;
  } else {
    const Value* p = body.Find("path");
    if (p == nullptr || !p->is_string()) {
      return SystemErrorResponse(BadRequest("BadConvexFunctionIdentifier", "missing \"path\""));
    }
    path = p->string();
  }
  absl::StatusOr<Value> args = UnwrapArgs(body.Find("args"));
  if (!args.ok()) return SystemErrorResponse(args.status());
  CallOptions options;
  options.identity = caller.identity;
  options.request = caller.request;
  options.allow_internal = allow_internal;
  options.expected_type = type;
  options.snapshot_ts = at_ts;
  absl::StatusOr<FunctionResult> result = runner_->Run(path, *args, options);
  if (!result.ok()) return SystemErrorResponse(result.status());
  return Json(200, UdfResponseJson(*result, *format, options.request.request_id));
}

HttpResponse ApiHandler::Handle(const HttpRequest& request) {
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return SystemErrorResponse(BadRequest("BadRequest", "invalid request target"));
  boost::urls::url_view url = *parsed;
  std::string path = url.path();
  std::map<std::string, std::string> query;
  for (auto param : url.params()) query[std::string(param.key)] = std::string(param.value);

  if (path == "/http" || absl::StartsWith(path, "/http/")) {
    return HandleHttpAction(runner_, request, "/http", options_.verify_token);
  }
  HttpResponse response;
  if (request.method == "OPTIONS") {
    response.status = 200;
  } else if (path == "/version") {
    response.status = 200;
    response.headers["content-type"] = "text/plain";
    response.body = absl::StrCat("convexlite ", options_.version);
  } else if (path == "/instance_name") {
    response.status = 200;
    response.headers["content-type"] = "text/plain";
    response.body = "convexlite";
  } else if (absl::StartsWith(path, "/api/")) {
    absl::StatusOr<Caller> caller = Authenticate(request, query["adminKey"]);
    if (!caller.ok()) {
      response = SystemErrorResponse(caller.status());
    } else if (push_ != nullptr && PushApi::Handles(path)) {
      response = caller->admin ? push_->Handle(request, path, query)
                               : SystemErrorResponse(MakeError(absl::StatusCode::kPermissionDenied,
                                                               "Unauthorized",
                                                               "This endpoint requires an admin key"));
    } else if (CliApi::Handles(path)) {
      response = caller->admin ? cli_->Handle(request, path, query)
                               : SystemErrorResponse(MakeError(absl::StatusCode::kPermissionDenied,
                                                               "Unauthorized",
                                                               "This endpoint requires an admin key"));
    } else if (request.method == "GET" && path == "/api/query") {
      Object body{{"path", Value::String(query["path"])}};
      if (query.count("format")) body["format"] = Value::String(query["format"]);
      if (query.count("args")) {
        absl::StatusOr<Value> args = ParseConvexJson(query["args"]);
        if (!args.ok()) {
          response = SystemErrorResponse(args.status());
          AddCorsHeaders(request, &response);
          return response;
        }
        body["args"] = *args;
      }
      response = RunUdf(*caller, Value::FromObject(std::move(body)), FunctionType::kQuery,
                        caller->admin, "convex_encoded_json", std::nullopt, std::nullopt);
    } else if (request.method != "POST") {
      response = Json(405, ToConvexJson(Value::FromObject(
                               {{"code", Value::String("MethodNotAllowed")},
                                {"message", Value::String("Use POST")}})));
    } else {
      absl::StatusOr<Value> body = ParseConvexJson(request.body);
      if (!body.ok()) {
        response = SystemErrorResponse(Annotate(body.status(), "Invalid request body"));
      } else if (path == "/api/query") {
        response = RunUdf(*caller, *body, FunctionType::kQuery, caller->admin,
                          "convex_encoded_json", std::nullopt, std::nullopt);
      } else if (path == "/api/mutation") {
        response = RunUdf(*caller, *body, FunctionType::kMutation, caller->admin,
                          "convex_encoded_json", std::nullopt, std::nullopt);
      } else if (path == "/api/action") {
        response = RunUdf(*caller, *body, FunctionType::kAction, caller->admin,
                          "convex_encoded_json", std::nullopt, std::nullopt);
      } else if (path == "/api/function") {
        if (!caller->admin) {
          response = SystemErrorResponse(MakeError(absl::StatusCode::kPermissionDenied,
                                                   "Unauthorized",
                                                   "/api/function requires an admin key"));
        } else {
          response = RunUdf(*caller, *body, std::nullopt, true, "convex_encoded_json",
                            std::nullopt, std::nullopt);
        }
      } else if (absl::StartsWith(path, "/api/run/")) {
        std::string rest = path.substr(9);
        size_t slash = rest.rfind('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
          response = SystemErrorResponse(
              BadRequest("BadConvexFunctionIdentifier", "expected /api/run/<module>/<function>"));
        } else {
          std::string udf = absl::StrCat(rest.substr(0, slash), ":", rest.substr(slash + 1));
          response = RunUdf(*caller, *body, std::nullopt, caller->admin, "json", udf,
                            std::nullopt);
        }
      } else if (path == "/api/query_ts") {
        response = Json(200, ToConvexJson(Value::FromObject(
                                 {{"ts", Value::String(EncodeTs(runner_->db().LatestTs()))}})));
      } else if (path == "/api/query_at_ts") {
        const Value* ts = body->Find("ts");
        uint64_t at = 0;
        if (ts == nullptr || !ts->is_string() || !DecodeTs(ts->string(), &at)) {
          response = SystemErrorResponse(BadRequest("InvalidTimestamp", "ts must be a TS string"));
        } else {
          response = RunUdf(*caller, *body, FunctionType::kQuery, caller->admin,
                            "convex_encoded_json", std::nullopt, at);
        }
      } else if (path == "/api/query_batch") {
        const Value* queries = body->Find("queries");
        if (queries == nullptr || !queries->is_array()) {
          response = SystemErrorResponse(BadRequest("BadJsonBody", "queries must be an array"));
        } else {
          uint64_t at = runner_->db().LatestTs();
          std::string out = "{\"results\":[";
          bool first = true;
          for (const Value& q : queries->array()) {
            HttpResponse one = RunUdf(*caller, q, FunctionType::kQuery, caller->admin,
                                      "convex_encoded_json", std::nullopt, at);
            if (!first) out += ",";
            first = false;
            out += one.status == 200
                       ? one.body
                       : ToConvexJson(Value::FromObject(
                             {{"status", Value::String("error")},
                              {"errorMessage", Value::String(one.body)}}));
          }
          out += "]}";
          response = Json(200, std::move(out));
        }
      } else {
        response = SystemErrorResponse(
            MakeError(absl::StatusCode::kNotFound, "NotFound", absl::StrCat("No route for ", path)));
      }
    }
  } else {
    response = SystemErrorResponse(
        MakeError(absl::StatusCode::kNotFound, "NotFound", absl::StrCat("No route for ", path)));
  }
  AddCorsHeaders(request, &response);
  return response;
}

}  // namespace cvx
