// File: functions/context.h
//
// What a handler sees: QueryCtx (read-only db, auth), MutationCtx (db writer, scheduler),
// ActionCtx (runQuery/runMutation/runAction, scheduler, auth; no db). Each context lives
// for one execution attempt and is used by one thread.
//
// Every database operation counts toward Convex's limits (ExecutionState); once a limit
// is hit the execution is poisoned: that operation and every later one fail with the
// limit's error, and the function fails even if the handler ignores the error.

#ifndef CVX_FUNCTIONS_CONTEXT_H_
#define CVX_FUNCTIONS_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/transaction.h"
#include "engine/value/value.h"
#include "functions/query.h"
#include "schema/schema.h"

namespace cvx {

class App;
class Runner;
class TriggerRegistry;

enum class LogLevel { kLog, kInfo, kWarn, kError, kDebug };

// Convex's per-execution limits (crates/common/src/knobs.rs).
struct Limits {
  size_t max_documents_read = 32000;
  size_t max_bytes_read = 16 << 20;
  size_t max_read_intervals = 4096;
  size_t max_documents_written = 16000;
  size_t max_bytes_written = 16 << 20;
  size_t max_scheduled = 1000;
  // TRANSACTION_MAX_SCHEDULED_TOTAL_ARGUMENT_SIZE_BYTES; reported by getTransactionMetrics.
  size_t max_scheduled_args_bytes = 1 << 23;
};

// What a call's ctx.meta.getRequestMetadata() reports: the request that started it. The
// functions it calls (runQuery/runMutation/runAction) see the same; a scheduled job's
// execution has scheduled_function_id and no ip or user agent.
struct RequestMetadata {
  std::optional<std::string> ip;
  std::optional<std::string> user_agent;
  std::string request_id;  // 16 hex digits, the id error messages name ("[Request ID: ..]")
  std::optional<std::string> scheduled_function_id;  // the _scheduled_functions document
  std::optional<std::string> auth_token;  // the JWT the caller authenticated with, if any

  // 16 random hex digits.
  static std::string NewRequestId();
};

inline constexpr char kEnvironmentTable[] = "_environment_variables";

// Every row {name, value} of the environment table as `txn` sees it (recording the read).
[[nodiscard]] absl::StatusOr<std::vector<Document>> EnvironmentRows(Transaction* txn);

// The value of environment variable `name` as `txn` sees it (recording the read), or nullopt.
std::optional<std::string> LookupEnv(Transaction* txn, std::string_view name);

// Per-execution bookkeeping: limits, log lines, the frozen clock and seeded randomness.
class ExecutionState {
 public:
  ExecutionState(const Limits& limits, double now_ms, uint64_t seed)
      : limits_(limits), now_ms_(now_ms), seed_(seed) {}

  absl::Status CountRead(size_t documents, size_t bytes, size_t intervals);
  absl::Status CountWrite(size_t bytes);
  absl::Status CountScheduled(size_t args_bytes = 0);
  const absl::Status& poisoned() const { return poisoned_; }

  // ctx.meta.getTransactionMetrics(): each limit's {used, remaining}.
  struct Metric {
    size_t used = 0, limit = 0;
  };
  struct Metrics {
    Metric bytes_read, bytes_written, database_queries, documents_read, documents_written,
        functions_scheduled, scheduled_function_args_bytes;
  };
  // Syscalls a JavaScript function made (functions/js counts them), for the function log.
  void CountSyscalls(size_t n) { syscalls_ += n; }
  size_t syscalls() const { return syscalls_; }

  Metrics metrics() const {
    return Metrics{{bytes_read_, limits_.max_bytes_read},
                   {bytes_written_, limits_.max_bytes_written},
                   {intervals_, limits_.max_read_intervals},
                   {documents_read_, limits_.max_documents_read},
                   {documents_written_, limits_.max_documents_written},
                   {scheduled_, limits_.max_scheduled},
                   {scheduled_args_bytes_, limits_.max_scheduled_args_bytes}};
  }

  void Log(LogLevel level, std::string_view message);
  const std::vector<std::string>& log_lines() const { return log_lines_; }
  std::vector<std::string> TakeLogLines() { return std::move(log_lines_); }
  void AppendLogLines(std::vector<std::string> lines) {
    for (std::string& l : lines) log_lines_.push_back(std::move(l));
  }

  double now_ms() const { return now_ms_; }
  // Math.random(): seeded per execution; the generator is built on first use (seeding a
  // Mersenne Twister costs about as much as a point read).
  double Random() {
    if (!rng_) rng_.emplace(seed_);
    return std::uniform_real_distribution<double>(0, 1)(*rng_);
  }

  // The app the call runs in (set by the Runner), for system functions that describe it.
  const class App* app = nullptr;
  // The request that started the call (set by the Runner; never null while it runs).
  const RequestMetadata* request = nullptr;
  bool paginated = false;  // one paginate() per function
  // The end cursor of the page paginate() returned (for the sync journal), if any.
  std::optional<std::string> page_end_cursor;
  // On re-execution of a subscribed query: the end cursor its last run returned (the
  // sync protocol's journal). paginate() without an endCursor then reads up to it.
  std::optional<std::string> journal_end_cursor;
  // Key that authenticates pagination cursors (set by the Runner).
  std::string cursor_key;
  // Built-in environment variables (RunnerOptions::builtin_env), consulted before the
  // deployment's own; may be null.
  const std::function<std::optional<std::string>(std::string_view)>* builtin_env = nullptr;
  std::optional<std::string> BuiltinEnv(std::string_view name) const {
    return builtin_env && *builtin_env ? (*builtin_env)(name) : std::nullopt;
  }

 private:
  absl::Status Poison(absl::Status status);
  Limits limits_;
  size_t documents_read_ = 0, bytes_read_ = 0, intervals_ = 0;
  size_t documents_written_ = 0, bytes_written_ = 0, scheduled_ = 0, scheduled_args_bytes_ = 0;
  size_t syscalls_ = 0;
  absl::Status poisoned_;
  std::vector<std::string> log_lines_;
  double now_ms_;
  uint64_t seed_;
  std::optional<std::mt19937_64> rng_;
};

// The verified identity of the caller (ctx.auth.getUserIdentity()): an object with at
// least tokenIdentifier, issuer and subject.
using UserIdentity = Object;

class DatabaseReader {
 public:
  DatabaseReader(Transaction* txn, ExecutionState* state, const SchemaDefinition* schema,
                 bool system)
      : txn_(txn), state_(state), schema_(schema), system_(system) {}
  virtual ~DatabaseReader() = default;

  // The document (with _id and _creationTime) or nullopt. kInvalidArgument "InvalidId"
  // for a string that is not an ID.
  [[nodiscard]] absl::StatusOr<std::optional<Value>> Get(std::string_view id);
  cvx::Query Query(std::string_view table);
  // The ID if `id` is an ID of `table` (db.normalizeId), else nullopt.
  std::optional<std::string> NormalizeId(std::string_view table, std::string_view id);
  // Read-only access to system tables (_scheduled_functions, _storage).
  DatabaseReader System() { return DatabaseReader(txn_, state_, schema_, /*system=*/true); }

  Transaction* transaction() { return txn_; }
  TableNameResolver Resolver() const;

 protected:
  absl::Status CheckTableAccess(std::string_view table) const;
  Transaction* txn_;
  ExecutionState* state_;
  const SchemaDefinition* schema_;
  bool system_;
};

// A field patch: a value sets the field, nullopt removes it (Convex's `undefined`).
using Patch = std::map<std::string, std::optional<Value>>;

class DatabaseWriter : public DatabaseReader {
 public:
  DatabaseWriter(Transaction* txn, ExecutionState* state, const SchemaDefinition* schema,
                 const TriggerRegistry* triggers)
      : DatabaseReader(txn, state, schema, false), triggers_(triggers) {}

  // Schema-checked writes; triggers (functions/triggers.h) run inside the same transaction.
  [[nodiscard]] absl::StatusOr<std::string> Insert(std::string_view table, Object fields);
  [[nodiscard]] absl::Status Patch(std::string_view id, const cvx::Patch& patch);
  [[nodiscard]] absl::Status Replace(std::string_view id, Object fields);
  [[nodiscard]] absl::Status Delete(std::string_view id);

  // The same writer (transaction, limits, schema checks) without the app's triggers: for
  // code that runs hooks of its own, like the Better Auth adapter (functions/auth/adapter.h).
  DatabaseWriter WithoutTriggers() { return DatabaseWriter(txn_, state_, schema_, nullptr); }

  // Writes without schema checks or triggers to system tables (runtime internal use).
  [[nodiscard]] absl::StatusOr<std::string> InsertSystem(std::string_view table, Object fields);
  [[nodiscard]] absl::Status ReplaceSystem(std::string_view id, Object fields);

 private:
  friend class TriggerRegistry;
  absl::StatusOr<DocumentId> ResolveWritable(std::string_view id, std::string* table);
  absl::Status CheckSchema(std::string_view table, const Object& fields);
  const TriggerRegistry* triggers_;
  int trigger_depth_ = 0;
};

class Auth {
 public:
  explicit Auth(const std::optional<UserIdentity>* identity) : identity_(identity) {}
  // ctx.auth.getUserIdentity(): the identity object or nullopt.
  std::optional<Value> GetUserIdentity() const;

 private:
  const std::optional<UserIdentity>* identity_;
};

class Scheduler {
 public:
  Scheduler(DatabaseWriter* writer, ExecutionState* state, Runner* runner)
      : writer_(writer), state_(state), runner_(runner) {}
  // Schedules `path` with `args` `delay_ms` from now; returns the _scheduled_functions id.
  [[nodiscard]] absl::StatusOr<std::string> RunAfter(double delay_ms, std::string_view path,
                                                     Object args);
  [[nodiscard]] absl::StatusOr<std::string> RunAt(double timestamp_ms, std::string_view path,
                                                  Object args);
  [[nodiscard]] absl::Status Cancel(std::string_view id);

 private:
  DatabaseWriter* writer_;
  ExecutionState* state_;
  Runner* runner_;
};

// What every context offers: console logging, the frozen clock and seeded randomness.
class ContextBase {
 public:
  explicit ContextBase(ExecutionState* state) : state_(state) {}
  // console.log and friends: "[LOG] 'message'".
  void Log(std::string_view message) { state_->Log(LogLevel::kLog, message); }
  void Log(LogLevel level, std::string_view message) { state_->Log(level, message); }
  double Now() const { return state_->now_ms(); }  // Date.now(): whole ms, frozen per execution
  double Random() { return state_->Random(); }      // Math.random(), seeded per execution
  const App* app() const { return state_->app; }  // the app this call runs in
  // ctx.meta.getRequestMetadata(): the request that started the call.
  const RequestMetadata& request_metadata() const { return *state_->request; }
  // The execution's bookkeeping (limits, logs, clock), for runtimes built on a context.
  ExecutionState* execution_state() { return state_; }

 protected:
  ExecutionState* state_;
};

class QueryCtx : public ContextBase {
 public:
  QueryCtx(DatabaseReader db, Auth auth, ExecutionState* state)
      : ContextBase(state), db_(std::move(db)), auth_(auth) {}
  DatabaseReader& db() { return db_; }
  const Auth& auth() const { return auth_; }
  // An environment variable (process.env.NAME), or nullopt.
  std::optional<std::string> Env(std::string_view name);

 private:
  DatabaseReader db_;
  Auth auth_;
};

class MutationCtx : public ContextBase {
 public:
  MutationCtx(DatabaseWriter db, Auth auth, ExecutionState* state, Runner* runner)
      : ContextBase(state), db_(std::move(db)), auth_(auth), scheduler_(&db_, state, runner) {}
  MutationCtx(const MutationCtx&) = delete;
  MutationCtx& operator=(const MutationCtx&) = delete;
  DatabaseWriter& db() { return db_; }
  const Auth& auth() const { return auth_; }
  Scheduler& scheduler() { return scheduler_; }
  std::optional<std::string> Env(std::string_view name);

 private:
  DatabaseWriter db_;
  Auth auth_;
  Scheduler scheduler_;
};

class ActionCtx : public ContextBase {
 public:
  ActionCtx(Runner* runner, const std::optional<UserIdentity>* identity, ExecutionState* state)
      : ContextBase(state), runner_(runner), identity_(identity), auth_(identity) {}
  const Auth& auth() const { return auth_; }
  // Each runs in its own transaction, as the same identity; internal functions allowed.
  [[nodiscard]] absl::StatusOr<Value> RunQuery(std::string_view path, Object args);
  [[nodiscard]] absl::StatusOr<Value> RunMutation(std::string_view path, Object args);
  [[nodiscard]] absl::StatusOr<Value> RunAction(std::string_view path, Object args);
  // Runs `body` as one mutation transaction (retried on OCC conflicts, so `body` may run
  // more than once): everything it writes commits together, or nothing does when it
  // returns an error. `name` labels it in logs.
  [[nodiscard]] absl::StatusOr<Value> RunInTransaction(
      std::string_view name, std::function<absl::StatusOr<Value>(MutationCtx&)> body);
  // Schedules from an action (its own small transaction).
  [[nodiscard]] absl::StatusOr<std::string> RunAfter(double delay_ms, std::string_view path,
                                                     Object args);
  [[nodiscard]] absl::Status Cancel(std::string_view id);
  std::optional<std::string> Env(std::string_view name);

 private:
  Runner* runner_;
  const std::optional<UserIdentity>* identity_;
  Auth auth_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_CONTEXT_H_
