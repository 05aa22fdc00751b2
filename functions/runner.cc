#include "functions/runner.h"

#include "functions/system_udfs.h"

#include <exception>
#include <random>
#include <thread>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/errors.h"
#include "functions/function_path.h"
#include "engine/value/json.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace cvx {
namespace {

FunctionResult ErrorResult(std::string message, std::optional<Value> data = std::nullopt) {
  FunctionResult result;
  result.error = FunctionError{std::move(message), std::move(data)};
  return result;
}

// How a handler's error Status reads to a client (like an uncaught JS exception).
FunctionError ToFunctionError(const absl::Status& status) {
  if (IsUncaughtJsError(status)) return FunctionError{std::string(status.message()), ConvexErrorData(status)};
  if (std::optional<Value> data = ConvexErrorData(status); data.has_value()) {
    return FunctionError{absl::StrCat("Uncaught ConvexError: ", status.message()), data};
  }
  return FunctionError{absl::StrCat("Uncaught Error: ", status.message()), std::nullopt};
}

// Runs a handler, turning a C++ exception into kInternal "UncaughtException".
template <typename F>
absl::StatusOr<Value> Guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Internal("UncaughtException",
                    absl::StrCat("a handler threw an exception: ", e.what()));
  } catch (...) {
    return Internal("UncaughtException", "a handler threw a non-standard exception");
  }
}

bool IsHandlerFault(const absl::Status& s) { return ErrorTag(s) == "UncaughtException"; }

RequestMetadata WithRequestId(RequestMetadata request) {
  if (request.request_id.empty()) request.request_id = RequestMetadata::NewRequestId();
  return request;
}

// The header's value, lower-case names as HttpActionRequest keeps them.
std::optional<std::string> HeaderOf(const std::map<std::string, std::string>& headers,
                                    const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::nullopt : std::optional<std::string>(it->second);
}

}  // namespace

FunctionUsage UsageOf(const ExecutionState& state) {
  ExecutionState::Metrics m = state.metrics();
  return FunctionUsage{m.bytes_read.used, m.bytes_written.used, m.documents_read.used, state.syscalls()};
}

Runner::Runner(const App* app, Database* db, RunnerOptions options)
    : Runner(std::shared_ptr<const App>(std::shared_ptr<const App>(), app), db,
             std::move(options)) {}

std::shared_ptr<const App> Runner::app() const {
  std::lock_guard<std::mutex> lock(app_mu_);
  return app_;
}

void Runner::SetApp(std::shared_ptr<const App> app) {
  std::lock_guard<std::mutex> lock(app_mu_);
  app_ = std::move(app);
}

Runner::Runner(std::shared_ptr<const App> app, Database* db, RunnerOptions options)
    : app_(std::move(app)), db_(db), options_(std::move(options)) {
  if (options_.cursor_key.empty()) {
    std::random_device rd;
    for (int i = 0; i < 32; ++i) options_.cursor_key.push_back(static_cast<char>(rd()));
  }
}

absl::StatusOr<FunctionResult> Runner::Run(std::string_view path, const Value& args,
                                           const CallOptions& options) {
  if (options_.function_log == nullptr) return RunUnlogged(path, args, options, nullptr);
  absl::Time start = absl::Now();
  Called called;
  absl::StatusOr<FunctionResult> result = RunUnlogged(path, args, options, &called);
  if (called.found && !absl::StartsWith(called.path, "_system/")) Record(called, result, start);
  return result;
}

void Runner::Record(const Called& called, const absl::StatusOr<FunctionResult>& result, absl::Time start) {
  FunctionExecution e;
  e.identifier = FunctionPathWithJs(called.path);
  e.udf_type = FunctionTypeName(called.type);
  e.execution_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!result.ok()) {
    e.error = std::string(result.status().message());
  } else {
    e.log_lines = result->log_lines;
    e.usage = result->usage;
    if (result->error) e.error = result->error->message;
  }
  options_.function_log->Append(std::move(e));
}

absl::StatusOr<FunctionResult> Runner::RunUnlogged(std::string_view path, const Value& args,
                                                   const CallOptions& options,
                                                   Called* called) {
  CVX_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeFunctionPath(path));
  std::shared_ptr<const App> app = this->app();
  // `_system/` paths are the built-in CLI queries (functions/system_udfs.h), admin only.
  const RegisteredFunction* fn = nullptr;
  if (absl::StartsWith(canonical, "_system/")) {
    fn = FindSystemFunction(canonical);
    if (fn != nullptr && !options.allow_internal) {
      return MakeError(absl::StatusCode::kPermissionDenied, "Unauthorized",
                       absl::StrCat("Operation ", absl::AsciiStrToLower(FunctionTypeName(fn->type)),
                                    " not permitted"));
    }
  }
  if (fn == nullptr) fn = app->Find(canonical);
  if (called != nullptr && fn != nullptr) *called = Called{true, fn->path, fn->type};
  if (fn == nullptr || (fn->visibility == Visibility::kInternal && !options.allow_internal)) {
    return ErrorResult(absl::StrCat("Could not find public function for '",
                                    FunctionPathForDisplay(canonical),
                                    "'. Did you forget to run `npx convex dev` or `npx convex "
                                    "deploy`?"));
  }
  if (options.expected_type && *options.expected_type != fn->type) {
    return ErrorResult(absl::StrCat("Trying to execute ", FunctionPathWithJs(canonical), " as ",
                                    FunctionTypeName(*options.expected_type),
                                    ", but it is defined as ", FunctionTypeName(fn->type), "."));
  }
  if (!args.is_object()) {
    return ErrorResult(absl::StrCat(
        "ArgumentValidationError: Expected to receive an object as the function's argument. "
        "Instead received: ",
        FormatValueForError(args)));
  }
  if (absl::Status s = ValidateValue(args); !s.ok()) {
    return ErrorResult(absl::StrCat("ArgumentValidationError: ", s.message()));
  }
  if (fn->type == FunctionType::kAction) return RunAction(*app, *fn, args.object(), options);
  return RunTransactional(*app, *fn, args.object(), options);
}

absl::StatusOr<FunctionResult> Runner::RunTransactional(const App& app,
                                                        const RegisteredFunction& fn,
                                                        const Object& args,
                                                        const CallOptions& options) {
  std::mt19937_64 jitter(executions_.fetch_add(1) + 1);
  absl::Duration backoff = options_.occ_initial_backoff;
  const RequestMetadata request = WithRequestId(options.request);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Transaction> txn;
    if (options.snapshot_ts && fn.type == FunctionType::kQuery) {
      CVX_ASSIGN_OR_RETURN(txn, db_->BeginAt(*options.snapshot_ts));
    } else {
      txn = db_->Begin();
    }
    uint64_t seed = absl::HashOf(fn.path, txn->begin_ts(), attempt);
    ExecutionState state(options_.limits,
                         static_cast<double>(options_.clock->NowNanos() / 1000000), seed);
    state.builtin_env = &options_.builtin_env;
    state.cursor_key = options_.cursor_key;
    state.journal_end_cursor = options.journal;
    state.app = &app;
    state.request = &request;
    TableNameResolver resolver = [&txn](uint32_t n) { return txn->TableName(n); };
    FunctionResult result;
    if (fn.args) {
      if (absl::Status s = fn.args->Check(Value::FromObject(args), resolver); !s.ok()) {
        return ErrorResult(absl::StrCat("ArgumentValidationError: ", s.message()));
      }
    }
    absl::StatusOr<Value> value;
    if (fn.type == FunctionType::kQuery) {
      QueryCtx ctx(DatabaseReader(txn.get(), &state, &app.schema(), false),
                   Auth(&options.identity), &state);
      value = Guarded([&] { return std::get<QueryHandler>(fn.handler)(ctx, args); });
    } else {
      MutationCtx ctx(DatabaseWriter(txn.get(), &state, &app.schema(), &app.triggers()),
                      Auth(&options.identity), &state, this);
      value = Guarded([&] { return std::get<MutationHandler>(fn.handler)(ctx, args); });
    }
    if (value.ok() && !state.poisoned().ok()) value = state.poisoned();
    if (value.ok() && fn.returns) {
      if (absl::Status s = fn.returns->Check(*value, resolver); !s.ok()) {
        FunctionResult r = ErrorResult(absl::StrCat("ReturnsValidationError: ", s.message()));
        r.log_lines = state.TakeLogLines();
        return r;
      }
    }
    absl::Status status = value.status();
    if (status.ok() && fn.type == FunctionType::kMutation && options.before_commit) {
      status = options.before_commit(*txn, *value);
      if (!status.ok() && status.code() != absl::StatusCode::kAborted) return status;
    }
    if (status.ok() && fn.type == FunctionType::kMutation) {
      status = txn->Commit();
      if (!status.ok() && status.code() != absl::StatusCode::kAborted) return status;
    }
    if (status.code() == absl::StatusCode::kAborted) {
      if (attempt >= options_.max_occ_retries) {
        return MakeError(
            absl::StatusCode::kAborted, "OptimisticConcurrencyControlFailure",
            "Documents read from or written to some table changed while this mutation was "
            "being run and on every subsequent retry. See https://docs.convex.dev/error#1");
      }
      occ_retries_.fetch_add(1);
      absl::Duration sleep =
          backoff * std::uniform_real_distribution<double>(0.5, 1.0)(jitter);
      if (options_.occ_wait) {
        options_.occ_wait(sleep);
      } else {
        std::this_thread::sleep_for(absl::ToChronoNanoseconds(sleep));
      }
      backoff = std::min(backoff * 2, options_.occ_max_backoff);
      continue;
    }
    if (!value.ok()) {
      if (IsHandlerFault(value.status())) return value.status();
      result.error = ToFunctionError(value.status());
      result.ts = txn->begin_ts();
    } else {
      result.value = std::move(*value);
      result.ts = fn.type == FunctionType::kMutation ? txn->commit_ts() : txn->begin_ts();
    }
    result.log_lines = state.TakeLogLines();
    result.usage = UsageOf(state);
    result.retries = attempt;
    result.journal = state.page_end_cursor;
    if (fn.type == FunctionType::kQuery) result.read_set = txn->ReadSet();
    return result;
  }
}

absl::StatusOr<FunctionResult> Runner::RunAction(const App& app, const RegisteredFunction& fn,
                                                 const Object& args, const CallOptions& options) {
  uint64_t seed = absl::HashOf(fn.path, options_.clock->NowNanos(), executions_.fetch_add(1));
  ExecutionState state(options_.limits,
                       static_cast<double>(options_.clock->NowNanos() / 1000000), seed);
  state.builtin_env = &options_.builtin_env;
  state.app = &app;
  const RequestMetadata request = WithRequestId(options.request);
  state.request = &request;
  if (fn.args) {
    auto txn = db_->Begin();
    TableNameResolver resolver = [&txn](uint32_t n) { return txn->TableName(n); };
    if (absl::Status s = fn.args->Check(Value::FromObject(args), resolver); !s.ok()) {
      return ErrorResult(absl::StrCat("ArgumentValidationError: ", s.message()));
    }
  }
  ActionCtx ctx(this, &options.identity, &state);
  absl::StatusOr<Value> value =
      Guarded([&] { return std::get<ActionHandler>(fn.handler)(ctx, args); });
  FunctionResult result;
  if (!value.ok()) {
    if (IsHandlerFault(value.status())) return value.status();
    result.error = ToFunctionError(value.status());
  } else if (fn.returns) {
    auto txn = db_->Begin();
    TableNameResolver resolver = [&txn](uint32_t n) { return txn->TableName(n); };
    if (absl::Status s = fn.returns->Check(*value, resolver); !s.ok()) {
      result.error = FunctionError{absl::StrCat("ReturnsValidationError: ", s.message()), {}};
    } else {
      result.value = std::move(*value);
    }
  } else {
    result.value = std::move(*value);
  }
  result.log_lines = state.TakeLogLines();
  result.usage = UsageOf(state);
  return result;
}

HttpActionResponse Runner::RunHttpAction(const HttpActionRequest& request,
                                         const std::optional<UserIdentity>& identity) {
  auto json_error = [](int status, const std::string& code, std::string_view message = {}) {
    HttpActionResponse r;
    r.status = status;
    r.headers["content-type"] = "application/json";
    r.body = "{\"code\":";
    AppendJsonString(code, &r.body);
    if (!message.empty()) {
      r.body += ",\"message\":";
      AppendJsonString(message, &r.body);
    }
    r.body += "}";
    return r;
  };
  std::shared_ptr<const App> app = this->app();
  const HttpRouter::Target* target = app->http().Lookup(request.method, request.path);
  if (target == nullptr) {
    HttpActionResponse r;
    r.status = 404;
    r.headers["content-type"] = "text/plain";
    r.body = absl::StrCat("No HttpAction routed for ", request.path);
    return r;
  }
  // A handler that does not read the body as it comes gets it whole.
  std::optional<HttpActionRequest> whole;
  if (request.body_stream != nullptr && !target->reads_body_stream) {
    absl::StatusOr<std::string> body = ReadWholeBody(*request.body_stream);
    if (!body.ok()) {
      const absl::StatusCode code = body.status().code();
      return json_error(code == absl::StatusCode::kResourceExhausted  ? 413
                        : code == absl::StatusCode::kDeadlineExceeded ? 408
                                                                       : 400,
                        ErrorTag(body.status()), std::string(body.status().message()));
    }
    whole = request;
    whole->body = *std::move(body);
    whole->body_stream = nullptr;
  }
  const HttpActionRequest& req = whole ? *whole : request;
  const HttpActionHandler* handler = &target->handler;
  uint64_t seed = absl::HashOf(request.path, options_.clock->NowNanos(), executions_.fetch_add(1));
  ExecutionState state(options_.limits,
                       static_cast<double>(options_.clock->NowNanos() / 1000000), seed);
  state.builtin_env = &options_.builtin_env;
  state.app = app.get();
  RequestMetadata meta;
  meta.request_id = absl::StrCat(absl::Hex(seed, absl::kZeroPad16));
  if (!request.remote_addr.empty()) meta.ip = request.remote_addr;
  meta.user_agent = HeaderOf(request.headers, "user-agent");
  if (std::optional<std::string> auth = HeaderOf(request.headers, "authorization");
      identity && auth && absl::StartsWithIgnoreCase(*auth, "bearer ")) {
    meta.auth_token = auth->substr(7);
  }
  state.request = &meta;
  ActionCtx ctx(this, &identity, &state);
  absl::StatusOr<HttpActionResponse> response;
  absl::Time start = absl::Now();
  try {
    response = (*handler)(ctx, req);
  } catch (const std::exception& e) {
    response = Internal("UncaughtException", e.what());
  } catch (...) {
    response = Internal("UncaughtException", "non-standard exception");
  }
  if (options_.function_log != nullptr) {
    FunctionExecution e;
    e.identifier = absl::StrCat(request.method, " ", request.path);
    e.udf_type = "HttpAction";
    e.execution_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    e.log_lines = state.log_lines();
    e.usage = UsageOf(state);
    if (!response.ok()) e.error = std::string(response.status().message());
    options_.function_log->Append(std::move(e));
  }
  if (!response.ok() && request.stream != nullptr && request.stream->begun()) {
    HttpActionResponse r;  // the status is out already; the body just ends
    r.streamed = true;
    return r;
  }
  if (!response.ok()) {
    return json_error(500, absl::StrCat("[Request ID: ", meta.request_id, "] Server Error: ",
                                        response.status().message()));
  }
  return *std::move(response);
}

absl::StatusOr<FunctionResult> Runner::RunMutationHandler(std::string_view name,
                                                          MutationHandler handler,
                                                          const CallOptions& options) {
  RegisteredFunction fn{std::string(name), FunctionType::kMutation, Visibility::kInternal,
                        std::nullopt, std::nullopt, std::move(handler)};
  return RunTransactional(*app(), fn, Object{}, options);
}

std::optional<std::string> Runner::GetEnv(Transaction* txn, std::string_view name) {
  if (options_.builtin_env) {
    if (std::optional<std::string> v = options_.builtin_env(name)) return v;
  }
  if (txn != nullptr) return LookupEnv(txn, name);
  auto fresh = db_->Begin();
  return LookupEnv(fresh.get(), name);
}

absl::Status Runner::CheckEnvironmentVariable(std::string_view name, std::string_view value) {
  bool ok = !name.empty() && name.size() <= 40 && !absl::ascii_isdigit(name[0]);
  for (char c : name) ok = ok && (absl::ascii_isalnum(c) || c == '_');
  if (!ok) {
    return InvalidArgument("InvalidEnvVarName",
                           absl::StrCat("Environment variable name \"", AV(name),
                                        "\" is invalid: it must start with a letter or underscore, "
                                        "contain only letters, digits and underscores, and be at most "
                                        "40 characters long"));
  }
  if (value.size() > 8192) {
    return InvalidArgument("EnvVarValueTooLarge",
                           absl::StrCat("Environment variable ", AV(name), " is larger than 8 KiB"));
  }
  return absl::OkStatus();
}

void Runner::AddEnvironmentListener(std::function<void()> listener) {
  env_listeners_.push_back(std::move(listener));
}

absl::Status Runner::SetEnv(std::string_view name, std::string_view value) {
  CVX_RETURN_IF_ERROR(CheckEnvironmentVariable(name, value));
  absl::Status s = CommitWithRetries(*db_, [&](Transaction& txn) -> absl::Status {
    CVX_ASSIGN_OR_RETURN(std::vector<Document> rows, EnvironmentRows(&txn));
    Object row{{"name", Value::String(std::string(name))},
               {"value", Value::String(std::string(value))}};
    bool replaced = false;
    for (const Document& d : rows) {
      if (d.fields.at("name").string() == name) {
        CVX_RETURN_IF_ERROR(txn.Replace(d.id, row));
        replaced = true;
      }
    }
    if (!replaced) CVX_RETURN_IF_ERROR(txn.Insert(kEnvironmentTable, row).status());
    return absl::OkStatus();
  }, "set the environment variable");
  if (s.ok()) for (const auto& l : env_listeners_) l();
  return s;
}

absl::Status Runner::RemoveEnv(std::string_view name) {
  absl::Status s = CommitWithRetries(*db_, [&](Transaction& txn) -> absl::Status {
    CVX_ASSIGN_OR_RETURN(std::vector<Document> rows, EnvironmentRows(&txn));
    for (const Document& d : rows) {
      if (d.fields.at("name").string() == name) CVX_RETURN_IF_ERROR(txn.Delete(d.id));
    }
    return absl::OkStatus();
  }, "remove the environment variable");
  if (s.ok()) for (const auto& l : env_listeners_) l();
  return s;
}

absl::StatusOr<std::map<std::string, std::string>> Runner::ListEnv() {
  auto txn = db_->Begin();
  CVX_ASSIGN_OR_RETURN(std::vector<Document> rows, EnvironmentRows(txn.get()));
  std::map<std::string, std::string> out;
  for (const Document& d : rows) out[d.fields.at("name").string()] = d.fields.at("value").string();
  return out;
}

// --- ActionCtx (needs the Runner) ---

namespace {
// A nested call's result as the action sees it: its value, or its error as a Status
// (a ConvexError keeps its data). Its log lines join the action's.
absl::StatusOr<Value> Unwrap(absl::StatusOr<FunctionResult> result, ExecutionState* state) {
  CVX_RETURN_IF_ERROR(result.status());
  state->AppendLogLines(std::move(result->log_lines));
  if (result->error) {
    if (result->error->data) return ConvexError(*result->error->data);
    return MakeError(absl::StatusCode::kFailedPrecondition, "FunctionError",
                     result->error->message);
  }
  return std::move(*result->value);
}

CallOptions NestedCall(const std::optional<UserIdentity>* identity, const ExecutionState* state,
                       FunctionType type) {
  CallOptions options;
  options.identity = *identity;
  if (state->request != nullptr) options.request = *state->request;
  options.allow_internal = true;
  options.expected_type = type;
  return options;
}
}  // namespace

absl::StatusOr<Value> ActionCtx::RunQuery(std::string_view path, Object args) {
  return Unwrap(runner_->Run(path, Value::FromObject(std::move(args)),
                             NestedCall(identity_, state_, FunctionType::kQuery)),
                state_);
}

absl::StatusOr<Value> ActionCtx::RunMutation(std::string_view path, Object args) {
  return Unwrap(runner_->Run(path, Value::FromObject(std::move(args)),
                             NestedCall(identity_, state_, FunctionType::kMutation)),
                state_);
}

absl::StatusOr<Value> ActionCtx::RunAction(std::string_view path, Object args) {
  return Unwrap(runner_->Run(path, Value::FromObject(std::move(args)),
                             NestedCall(identity_, state_, FunctionType::kAction)),
                state_);
}

absl::StatusOr<Value> ActionCtx::RunInTransaction(
    std::string_view name, std::function<absl::StatusOr<Value>(MutationCtx&)> body) {
  CallOptions options;
  options.identity = *identity_;
  if (state_->request != nullptr) options.request = *state_->request;
  return Unwrap(runner_->RunMutationHandler(
                    name, [&body](MutationCtx& ctx, const Object&) { return body(ctx); },
                    options),
                state_);
}

absl::StatusOr<std::string> ActionCtx::RunAfter(double delay_ms, std::string_view path,
                                                Object args) {
  std::string id;
  CVX_RETURN_IF_ERROR(CommitWithRetries(runner_->db(), [&](Transaction& txn) -> absl::Status {
    DatabaseWriter writer(&txn, state_, nullptr, nullptr);
    Scheduler scheduler(&writer, state_, runner_);
    CVX_ASSIGN_OR_RETURN(id, scheduler.RunAfter(delay_ms, path, args));
    return absl::OkStatus();
  }, "schedule"));
  return id;
}

absl::Status ActionCtx::Cancel(std::string_view id) {
  return CommitWithRetries(runner_->db(), [&](Transaction& txn) -> absl::Status {
    DatabaseWriter writer(&txn, state_, nullptr, nullptr);
    Scheduler scheduler(&writer, state_, runner_);
    return scheduler.Cancel(id);
  }, "cancel");
}

}  // namespace cvx
