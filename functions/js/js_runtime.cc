#include "functions/js/js_runtime.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "functions/auth/crypto.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/errors.h"
#include "functions/function_path.h"
#include "functions/js/push.h"
#include "functions/js/runtime_files.h"
#include "functions/js/syscalls.h"

namespace cvx::js {
namespace json = boost::json;

// status, headers and setCookies of a response as the worker sends them (worker.mjs).
void ReadHttpResponseHead(const json::object& o, HttpActionResponse* response) {
  if (const json::value* status = o.if_contains("status"); status != nullptr && status->is_number()) {
    response->status = status->to_number<int>();
  }
  if (const json::value* hs = o.if_contains("headers"); hs != nullptr && hs->is_array()) {
    for (const json::value& h : hs->get_array()) {
      if (!h.is_array() || h.get_array().size() != 2 || !h.get_array()[0].is_string() ||
          !h.get_array()[1].is_string()) {
        continue;
      }
      std::string name(h.get_array()[0].get_string()), value(h.get_array()[1].get_string());
      auto [it, inserted] = response->headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;
    }
  }
  if (const json::value* cookies = o.if_contains("setCookies"); cookies != nullptr && cookies->is_array()) {
    for (const json::value& c : cookies->get_array()) {
      if (c.is_string()) response->set_cookies.push_back(std::string(c.get_string()));
    }
  }
}

absl::Status ReadHttpResponse(std::string_view text, HttpActionResponse* response) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return UncaughtJsError("the HTTP action's response could not be read", std::nullopt);
  const json::object& o = parsed.get_object();
  ReadHttpResponseHead(o, response);
  if (const json::value* body = o.if_contains("body"); body != nullptr && body->is_string()) {
    if (!Base64Decode(std::string_view(body->get_string().data(), body->get_string().size()), &response->body)) {
      return UncaughtJsError("the HTTP action's response body could not be read", std::nullopt);
    }
  }
  return absl::OkStatus();
}

JsRuntime::JsRuntime(JsRuntimeOptions options) : options_(std::move(options)) {}

void JsRuntime::EnvironmentChanged() {
  std::lock_guard<std::mutex> lock(mu_);
  ++env_generation_;
}

uint64_t JsRuntime::workers_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return retired_started_ + (pool_ ? pool_->workers_started() : 0);
}

absl::StatusOr<std::shared_ptr<WorkerPool>> JsRuntime::PoolFor(const CodeVersion& version) {
  if (!options_.node) return options_.node_error;
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = absl::StrCat(version.id, "/", env_generation_);
  if (pool_ != nullptr && pool_key_ == key) return pool_;
  WorkerConfig config{*options_.node, options_.runtime_dir, version.dir, ReadPaths(version, options_.runtime_dir),
                      version.EntryModules(),
                      options_.environment ? options_.environment() : std::map<std::string, std::string>{},
                      options_.max_old_space_mb};
  if (pool_) retired_started_ += pool_->workers_started();
  // The old pool stays alive while calls that hold it run, then stops its workers.
  pool_ = std::make_shared<WorkerPool>(std::move(config), options_.workers_per_version);
  pool_key_ = key;
  return pool_;
}

absl::StatusOr<Value> JsRuntime::Run(const CodeVersion& version, const AnalyzedFunction& fn, ContextBase& ctx,
                                     const Object& args, const char* udf, SyscallHandler& handler) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<WorkerPool> pool, PoolFor(version));
  InvokeRequest request;
  request.udf = udf;
  request.module = fn.module;
  request.function = fn.name;
  request.args_json = absl::StrCat("[", ToConvexJson(Value::FromObject(args)), "]");
  // The worker's seeded randomness comes from the execution's own generator, so a re-run
  // of the same attempt draws the same numbers.
  std::string seed;
  for (int i = 0; i < 4; ++i) {
    uint64_t bits = static_cast<uint64_t>(ctx.Random() * 9007199254740992.0);
    for (int b = 0; b < 8; ++b) seed.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  }
  request.seed = Base64Encode(seed);
  request.now_ms = ctx.Now();
  request.user_time_limit =
      std::string_view(udf) == "action" ? options_.action_time_limit : options_.query_mutation_time_limit;
  CVX_ASSIGN_OR_RETURN(InvokeOutcome outcome, pool->Invoke(request, handler));
  ctx.execution_state()->AppendLogLines(std::move(outcome.log_lines));
  ctx.execution_state()->CountSyscalls(outcome.syscalls);
  if (!outcome.ok) {
    std::optional<Value> data;
    if (outcome.error_data_json) {
      absl::StatusOr<Value> parsed = ParseConvexJson(*outcome.error_data_json);
      if (parsed.ok()) data = *std::move(parsed);
    }
    return UncaughtJsError(outcome.error_message, std::move(data));
  }
  absl::StatusOr<Value> value = ParseConvexJson(outcome.value_json);
  if (!value.ok()) {
    return UncaughtJsError(absl::StrCat(FunctionPathWithJs(fn.path), " returned a value that is not a Convex value: ",
                                        value.status().message()),
                           std::nullopt);
  }
  return value;
}

absl::StatusOr<Value> JsRuntime::Query(const CodeVersion& version, const AnalyzedFunction& fn, QueryCtx& ctx,
                                       const Object& args) {
  UdfSyscalls handler(&ctx, fn.path);
  return Run(version, fn, ctx, args, "query", handler);
}

absl::StatusOr<Value> JsRuntime::Mutation(const CodeVersion& version, const AnalyzedFunction& fn,
                                          MutationCtx& ctx, const Object& args) {
  UdfSyscalls handler(&ctx, fn.path);
  return Run(version, fn, ctx, args, "mutation", handler);
}

absl::StatusOr<Value> JsRuntime::Action(const CodeVersion& version, const AnalyzedFunction& fn, ActionCtx& ctx,
                                        const Object& args) {
  ActionSyscalls handler(&ctx, fn.path);
  return Run(version, fn, ctx, args, "action", handler);
}


absl::StatusOr<HttpActionResponse> JsRuntime::Http(const CodeVersion& version, const HttpRoute& route,
                                                   ActionCtx& ctx, const HttpActionRequest& request) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<WorkerPool> pool, PoolFor(version));
  ActionSyscalls handler(&ctx, "http:default", request.body_stream);
  json::array headers;
  for (const auto& [name, value] : request.headers) headers.push_back(json::array{json::value(name), json::value(value)});
  std::string host = request.headers.count("host") ? request.headers.at("host") : "127.0.0.1";
  std::string scheme = request.headers.count("x-forwarded-proto") ? request.headers.at("x-forwarded-proto") : "http";
  json::object req{{"method", request.method},
                   {"url", absl::StrCat(scheme, "://", host, request.url)},
                   {"path", request.path},
                   {"headers", headers},
                   {"body", request.body.empty() ? json::value(nullptr) : json::value(Base64Encode(request.body))},
                   // The body comes as the action reads it (convexlite/requestBody).
                   {"streamBody", request.body_stream != nullptr},
                   {"stream", request.stream != nullptr}};
  InvokeRequest invoke;
  invoke.udf = "http";
  invoke.module = "http.js";
  invoke.function = "default";
  invoke.args_json = json::serialize(req);
  invoke.seed = Base64Encode(auth::RandomBytes(32));
  invoke.now_ms = ctx.Now();
  invoke.user_time_limit = options_.action_time_limit;
  if (request.stream != nullptr) {
    invoke.on_stream = [stream = request.stream](std::string_view type, const json::object& frame) {
      if (type == "head") {
        if (stream->begun()) return;
        HttpActionResponse head;
        ReadHttpResponseHead(frame, &head);
        stream->Begin(head.status, head.headers, head.set_cookies);
      } else if (const json::value* data = frame.if_contains("data"); data != nullptr && data->is_string()) {
        std::string bytes;
        if (stream->begun() && Base64Decode(std::string_view(data->get_string().data(), data->get_string().size()), &bytes)) {
          stream->Write(bytes);
        }
      }
    };
  }
  CVX_ASSIGN_OR_RETURN(InvokeOutcome outcome, pool->Invoke(invoke, handler));
  ctx.execution_state()->AppendLogLines(std::move(outcome.log_lines));
  ctx.execution_state()->CountSyscalls(outcome.syscalls);
  if (!outcome.ok) return UncaughtJsError(outcome.error_message, std::nullopt);
  boost::system::error_code ec;
  json::value parsed = json::parse(outcome.value_json, ec);
  if (ec || !parsed.is_object()) return UncaughtJsError("the HTTP action's response could not be read", std::nullopt);
  const json::object& o = parsed.get_object();
  HttpActionResponse response;
  if (const json::value* streamed = o.if_contains("streamed"); streamed != nullptr && streamed->is_bool()) {
    response.streamed = streamed->get_bool() && request.stream != nullptr && request.stream->begun();
    if (response.streamed) return response;
  }
  CVX_RETURN_IF_ERROR(ReadHttpResponse(outcome.value_json, &response));
  return response;
}

absl::StatusOr<TypeScriptSupport> StartTypeScript(Runner* runner, const App* base, TypeScriptOptions options) {
  CVX_ASSIGN_OR_RETURN(std::string runtime_dir, InstallRuntime(options.code_root));
  JsRuntimeOptions runtime_options;
  runtime_options.node = options.node;
  runtime_options.node_error = options.node_error;
  runtime_options.runtime_dir = runtime_dir;
  runtime_options.environment = options.environment;
  runtime_options.query_mutation_time_limit = options.query_mutation_time_limit;
  runtime_options.action_time_limit = options.action_time_limit;
  TypeScriptSupport out;
  out.runtime = std::make_shared<JsRuntime>(std::move(runtime_options));
  PushOptions push_options;
  push_options.store_root = options.code_root;
  push_options.node = options.node;
  push_options.node_error = options.node_error;
  push_options.environment = options.environment;
  push_options.on_switch = options.on_switch;
  out.push = std::make_shared<PushService>(runner, base, out.runtime, std::move(push_options));
  CVX_RETURN_IF_ERROR(out.push->Init());
  // New values reach module scope (fresh workers) and auth.config.ts (a new analysis).
  std::weak_ptr<PushService> push = out.push;
  runner->AddEnvironmentListener([runtime = out.runtime, push] {
    runtime->EnvironmentChanged();
    if (std::shared_ptr<PushService> p = push.lock()) {
      if (absl::Status s = p->EnvironmentChanged(); !s.ok()) {
        std::fprintf(stderr, "convexlite: the environment change leaves the pushed code as it was: %s\n",
                     std::string(s.message()).c_str());
      }
    }
  });
  return out;
}

}  // namespace cvx::js
