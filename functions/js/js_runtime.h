// File: functions/js/js_runtime.h
//
// JsRuntime runs pushed TypeScript functions: the JsInvoker behind every RegisteredFunction
// that MergeApp made. Each call is handed to a worker of the version's WorkerPool with a
// seed and a frozen clock taken from the call's ExecutionState, and its syscalls are served
// (UdfSyscalls) against the context the Runner built, so the Runner's transaction, OCC
// retries (which re-run the JS), validation and limits apply unchanged.
//
// One pool per code version and environment: a push, or a change to an environment
// variable (modules read process.env at import), starts fresh workers; the old pool goes
// when its last call ends.
//
// Thread safety: all methods may be called concurrently.

#ifndef CVX_FUNCTIONS_JS_JS_RUNTIME_H_
#define CVX_FUNCTIONS_JS_JS_RUNTIME_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <mutex>
#include "absl/time/time.h"
#include "functions/js/node.h"
#include "functions/runner.h"
#include "functions/js/version.h"
#include "functions/js/worker_pool.h"

namespace cvx::js {

// A response as JavaScript reports it ({status, headers: [[name, value]...], setCookies,
// body: base64}; runtime/worker.mjs): its head, or all of it. A body that is not base64 is
// an UncaughtJsError.
void ReadHttpResponseHead(const boost::json::object& o, HttpActionResponse* response);
[[nodiscard]] absl::Status ReadHttpResponse(std::string_view text, HttpActionResponse* response);

struct JsRuntimeOptions {
  std::optional<NodeRuntime> node;  // nullopt: calls fail with `node_error`
  absl::Status node_error = absl::OkStatus();
  std::string runtime_dir;          // PushService::runtime_dir()
  int workers_per_version = 2;
  int max_old_space_mb = 512;
  absl::Duration query_mutation_time_limit = absl::Seconds(1);  // Convex's user-time limit
  absl::Duration action_time_limit = absl::Minutes(10);
  // process.env for the workers (the deployment's variables plus built-in ones).
  std::function<std::map<std::string, std::string>()> environment;
};

class JsRuntime : public JsInvoker {
 public:
  explicit JsRuntime(JsRuntimeOptions options);

  absl::StatusOr<Value> Query(const CodeVersion& version, const AnalyzedFunction& fn, QueryCtx& ctx,
                              const Object& args) override;
  absl::StatusOr<Value> Mutation(const CodeVersion& version, const AnalyzedFunction& fn,
                                 MutationCtx& ctx, const Object& args) override;
  absl::StatusOr<Value> Action(const CodeVersion& version, const AnalyzedFunction& fn, ActionCtx& ctx,
                               const Object& args) override;
  absl::StatusOr<HttpActionResponse> Http(const CodeVersion& version, const HttpRoute& route,
                                          ActionCtx& ctx, const HttpActionRequest& request) override;

  // The environment changed: later calls get workers with the new process.env.
  void EnvironmentChanged();
  // Workers started so far (for tests and benchmarks).
  uint64_t workers_started() const;

 private:
  absl::StatusOr<std::shared_ptr<WorkerPool>> PoolFor(const CodeVersion& version);
  absl::StatusOr<Value> Run(const CodeVersion& version, const AnalyzedFunction& fn, ContextBase& ctx,
                            const Object& args, const char* udf, SyscallHandler& handler);

  JsRuntimeOptions options_;
  mutable std::mutex mu_;  // guards the four below
  std::string pool_key_;
  std::shared_ptr<WorkerPool> pool_;
  uint64_t env_generation_ = 0;
  uint64_t retired_started_ = 0;
};

// Everything a server needs for TypeScript apps, wired together: the runtime files
// installed under `code_root`, a JsRuntime whose workers see `environment` (restarted when
// the Runner's environment changes), and a PushService over them, initialized (the stored
// version, if any, is active when this returns).
struct TypeScriptSupport {
  std::shared_ptr<JsRuntime> runtime;
  std::shared_ptr<class PushService> push;
};
struct TypeScriptOptions {
  std::string code_root;
  std::optional<NodeRuntime> node;
  absl::Status node_error = absl::OkStatus();
  std::function<std::map<std::string, std::string>()> environment;
  std::function<void()> on_switch;
  // Convex's user-time limits (JsRuntimeOptions); `convexlite dev --query-time-limit` and
  // `--action-time-limit` set them.
  absl::Duration query_mutation_time_limit = absl::Seconds(1);
  absl::Duration action_time_limit = absl::Minutes(10);
};
[[nodiscard]] absl::StatusOr<TypeScriptSupport> StartTypeScript(Runner* runner, const App* base,
                                                                TypeScriptOptions options);

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_JS_RUNTIME_H_
