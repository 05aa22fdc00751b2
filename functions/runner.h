// File: functions/runner.h
//
// Runs functions from an App against a Database, as Convex's function runner does:
//   1. canonicalize the path, find the function, check its type and visibility;
//   2. validate the arguments (ArgumentValidationError);
//   3. queries and mutations: begin a transaction at the latest snapshot, run the handler
//      with a frozen `now` and seeded randomness, validate the return value, commit
//      (queries never write); an OCC conflict re-runs the whole function up to 4 times
//      with jittered exponential backoff, then fails with Convex's OCC text;
//   4. actions run outside any transaction; their runQuery/runMutation each get their own.
//
// Results follow Convex's UdfResponse: errors raised by or about the function (not found,
// wrong type, bad arguments, handler errors, ConvexError with data) are a FunctionResult
// with `error` set. Only problems outside the function (storage failure, OCC retries
// exhausted, an exception escaping a handler: kInternal "UncaughtException") are non-OK.
//
// Thread safety: Run may be called from many threads at once.

#ifndef CVX_FUNCTIONS_RUNNER_H_
#define CVX_FUNCTIONS_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/database.h"
#include "functions/app.h"
#include "functions/function_log.h"

namespace cvx {

struct FunctionError {
  std::string message;
  std::optional<Value> data;  // ConvexError data
};

// The usage an execution's bookkeeping recorded.
FunctionUsage UsageOf(const ExecutionState& state);

struct FunctionResult {
  std::optional<Value> value;  // set on success
  std::optional<FunctionError> error;
  std::vector<std::string> log_lines;
  uint64_t ts = 0;  // the commit ts (mutations) or snapshot ts (queries)
  int retries = 0;  // OCC retries it took
  // What the execution used (its last attempt), as Convex's function logs report it.
  FunctionUsage usage;
  // The end cursor of the page a paginated query returned: the sync protocol's journal.
  std::optional<std::string> journal;
  // Queries: what they read, as key intervals (subscriptions re-run when a commit's
  // written keys intersect it).
  std::vector<std::pair<std::string, std::string>> read_set;
  bool ok() const { return !error.has_value(); }
};

struct CallOptions {
  std::optional<UserIdentity> identity;
  // The request the call serves (ctx.meta.getRequestMetadata()); an empty request_id gets
  // a fresh one.
  RequestMetadata request;
  bool allow_internal = false;  // admin callers, runQuery & co, the scheduler
  // When set, the function must be of this type ("Trying to execute ... as ...").
  std::optional<FunctionType> expected_type;
  // A subscribed query's journal from its previous run (keeps page boundaries fixed).
  std::optional<std::string> journal;
  // Queries only: read at this ts (Database::BeginAt) instead of the latest snapshot.
  std::optional<uint64_t> snapshot_ts;
  // Mutations only: runs in the mutation's transaction after its handler succeeded, just
  // before commit (the scheduler records a job's completion this way, so the state change
  // commits with the job's effects). kAborted retries the whole mutation; any other error
  // discards the transaction and is returned as Run's status.
  std::function<absl::Status(Transaction&, const Value& result)> before_commit;
};

struct RunnerOptions {
  Clock* clock = SystemClock();
  Limits limits;
  int max_occ_retries = 4;
  absl::Duration occ_initial_backoff = absl::Milliseconds(10);
  absl::Duration occ_max_backoff = absl::Milliseconds(500);
  // Waits before an OCC retry, given the jittered backoff; null: sleeps for it. The test
  // engine hands the wait to the test process, whose other transactions must run meanwhile
  // (functions/js/test_engine.h). Called on the thread running the call.
  std::function<void(absl::Duration backoff)> occ_wait;
  // Authenticates pagination cursors. Empty: a random key per Runner (cursors then do not
  // survive a restart; clients start over on InvalidCursor, as usePaginatedQuery does).
  std::string cursor_key;
  // Built-in environment variables, authoritative over the deployment's (Convex's
  // CONVEX_SITE_URL and CONVEX_CLOUD_URL; the CLI adds its flags' settings). Returns
  // nullopt for names it does not define. Must be thread-safe.
  std::function<std::optional<std::string>(std::string_view name)> builtin_env;
  // When set, every execution (but the `_system/` functions) is recorded there, with its
  // log lines and error (`npx convex logs`). Must outlive the Runner.
  FunctionLog* function_log = nullptr;
};

class Runner {
 public:
  // `app` and `db` must outlive the Runner.
  Runner(const App* app, Database* db, RunnerOptions options = {});
  // A Runner whose app may be replaced (SetApp): the function source is either a C++ App
  // or one compiled from a pushed TypeScript version (functions/js). `db` must outlive it.
  Runner(std::shared_ptr<const App> app, Database* db, RunnerOptions options = {});

  // Runs `path` with `args` (the function's single argument object).
  [[nodiscard]] absl::StatusOr<FunctionResult> Run(std::string_view path, const Value& args,
                                                   const CallOptions& options = {});

  // Runs the HTTP action routed for `request`; 404 "No HttpAction routed for <path>" when
  // none; a failing handler gives 500 {"code":"[Request ID: ..] Server Error: <msg>"}.
  HttpActionResponse RunHttpAction(const HttpActionRequest& request,
                                   const std::optional<UserIdentity>& identity);

  // Runs `handler` as an anonymous internal mutation named `name` (for logs): one
  // transaction with the usual limits, OCC retries and result shape. For runtime code that
  // must write atomically from outside a registered function (ActionCtx::RunInTransaction).
  [[nodiscard]] absl::StatusOr<FunctionResult> RunMutationHandler(std::string_view name,
                                                                  MutationHandler handler,
                                                                  const CallOptions& options);

  // The active app. A call pins the app it started with for its whole run (OCC retries
  // included), so SetApp never changes a running call's code.
  std::shared_ptr<const App> app() const;
  // Atomically replaces the active app (a finished push). Calls already running keep theirs.
  void SetApp(std::shared_ptr<const App> app);
  Database& db() { return *db_; }
  Clock* clock() const { return options_.clock; }

  // Convex's rules for a variable: the name an identifier of at most 40 characters, the
  // value at most 8 KiB. kInvalidArgument "InvalidEnvVarName" / "EnvVarValueTooLarge".
  [[nodiscard]] static absl::Status CheckEnvironmentVariable(std::string_view name,
                                                             std::string_view value);
  // Environment variables, stored in the _environment_variables table. SetEnv checks
  // CheckEnvironmentVariable first.
  [[nodiscard]] absl::Status SetEnv(std::string_view name, std::string_view value);
  [[nodiscard]] absl::Status RemoveEnv(std::string_view name);
  [[nodiscard]] absl::StatusOr<std::map<std::string, std::string>> ListEnv();
  // Called after SetEnv or RemoveEnv committed (e.g. to restart workers whose process.env
  // is now stale). Register before serving.
  void AddEnvironmentListener(std::function<void()> listener);
  // Reads within `txn` (recording the read), or in a fresh snapshot when txn is null.
  std::optional<std::string> GetEnv(Transaction* txn, std::string_view name);

  uint64_t total_occ_retries() const { return occ_retries_.load(); }

 private:
  // What a call ran, for the function log (copied: the app may be replaced meanwhile).
  struct Called {
    bool found = false;
    std::string path;
    FunctionType type = FunctionType::kQuery;
  };
  absl::StatusOr<FunctionResult> RunUnlogged(std::string_view path, const Value& args,
                                             const CallOptions& options, Called* called);
  void Record(const Called& called, const absl::StatusOr<FunctionResult>& result, absl::Time start);
  absl::StatusOr<FunctionResult> RunTransactional(const App& app, const RegisteredFunction& fn,
                                                  const Object& args,
                                                  const CallOptions& options);
  absl::StatusOr<FunctionResult> RunAction(const App& app, const RegisteredFunction& fn,
                                           const Object& args, const CallOptions& options);

  mutable std::mutex app_mu_;  // guards app_ (std::mutex: ThreadSanitizer sees pthreads)
  std::shared_ptr<const App> app_;
  Database* db_;
  RunnerOptions options_;
  std::vector<std::function<void()>> env_listeners_;
  std::atomic<uint64_t> occ_retries_{0};
  std::atomic<uint64_t> executions_{0};
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_RUNNER_H_
