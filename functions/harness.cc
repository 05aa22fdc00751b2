#include "functions/harness.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/errors.h"

namespace cvx {
namespace {

absl::StatusOr<Value> ToValue(absl::StatusOr<FunctionResult> result) {
  CVX_RETURN_IF_ERROR(result.status());
  if (result->error) {
    if (result->error->data) return ConvexError(*result->error->data);
    return MakeError(absl::StatusCode::kFailedPrecondition, "FunctionError",
                     result->error->message);
  }
  return std::move(*result->value);
}

void Die(const absl::Status& s, const char* what) {
  std::fprintf(stderr, "TestBackend: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

}  // namespace

TestBackend::TestBackend(const App& app, TestBackendOptions options)
    : clock_(options.start_time_ns), admin_(this, std::nullopt) {
  DatabaseOptions db_options;
  db_options.durability = Durability::kMemory;
  db_options.clock = &clock_;
  // The fake clock may jump far ahead; retention is about wall time in servers only.
  db_options.max_transaction_age = absl::InfiniteDuration();
  db_options.write_log_window = absl::Hours(24 * 365);
  auto db = Database::Open(db_options);
  if (!db.ok()) Die(db.status(), "opening the memory database");
  db_ = std::move(db).value();
  if (absl::Status s = ApplySchema(*db_, app.schema()); !s.ok()) Die(s, "applying the schema");
  options.runner.clock = &clock_;
  runner_ = std::make_unique<Runner>(&app, db_.get(), options.runner);
  jobs_ = std::make_unique<JobExecutor>(runner_.get());
  if (absl::Status s = jobs_->Init(); !s.ok()) Die(s, "starting the scheduler");
}

TestBackend::~TestBackend() = default;

absl::StatusOr<Value> TestBackend::Caller::Call(std::string_view path, Object args,
                                                FunctionType type) {
  CallOptions options;
  options.identity = identity_;
  options.allow_internal = true;
  options.expected_type = type;
  return ToValue(backend_->runner_->Run(path, Value::FromObject(std::move(args)), options));
}

absl::StatusOr<Value> TestBackend::Caller::Query(std::string_view path, Object args) {
  return Call(path, std::move(args), FunctionType::kQuery);
}
absl::StatusOr<Value> TestBackend::Caller::Mutation(std::string_view path, Object args) {
  return Call(path, std::move(args), FunctionType::kMutation);
}
absl::StatusOr<Value> TestBackend::Caller::Action(std::string_view path, Object args) {
  return Call(path, std::move(args), FunctionType::kAction);
}

TestBackend::Caller TestBackend::WithIdentity(Object identity) {
  const std::string issuer = identity.count("issuer") && identity.at("issuer").is_string()
                                 ? identity.at("issuer").string()
                                 : "https://convex.test";
  identity.emplace("issuer", Value::String(issuer));
  if (!identity.count("tokenIdentifier")) {
    std::string subject = identity.count("subject") && identity.at("subject").is_string()
                              ? identity.at("subject").string()
                              : "";
    identity.emplace("tokenIdentifier", Value::String(absl::StrCat(issuer, "|", subject)));
  }
  return Caller(this, std::move(identity));
}

absl::StatusOr<Value> TestBackend::Query(std::string_view path, Object args) {
  return admin_.Query(path, std::move(args));
}
absl::StatusOr<Value> TestBackend::Mutation(std::string_view path, Object args) {
  return admin_.Mutation(path, std::move(args));
}
absl::StatusOr<Value> TestBackend::Action(std::string_view path, Object args) {
  return admin_.Action(path, std::move(args));
}

absl::StatusOr<FunctionResult> TestBackend::Call(std::string_view path, Object args,
                                                 const CallOptions& options) {
  return runner_->Run(path, Value::FromObject(std::move(args)), options);
}

absl::Status TestBackend::Run(const std::function<absl::Status(MutationCtx&)>& body) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto txn = db_->Begin();
    ExecutionState state(Limits(), static_cast<double>(clock_.NowNanos() / 1000000), 1);
    std::optional<UserIdentity> none;
    std::shared_ptr<const App> app = runner_->app();
    MutationCtx ctx(DatabaseWriter(txn.get(), &state, &app->schema(), &app->triggers()),
                    Auth(&none), &state, runner_.get());
    CVX_RETURN_IF_ERROR(body(ctx));
    absl::Status s = txn->Commit();
    if (s.code() != absl::StatusCode::kAborted) return s;
  }
  return Aborted("OccConflict", "TestBackend::Run: too much contention");
}

namespace {
// The first clock time (ns, whole microseconds) at which a job scheduled for `ms` is due.
uint64_t DueNanos(double ms) { return (static_cast<uint64_t>(std::ceil(ms * 1000.0)) + 1) * 1000; }
}  // namespace

absl::Status TestBackend::RunDueScheduledFunctions() { return jobs_->RunDue().status(); }

absl::Status TestBackend::AdvanceTime(absl::Duration delta) {
  const uint64_t target = clock_.NowNanos() + static_cast<uint64_t>(absl::ToInt64Nanoseconds(delta));
  while (true) {
    CVX_ASSIGN_OR_RETURN(std::optional<double> next, jobs_->NextDue());
    if (!next.has_value()) break;
    uint64_t next_ns = DueNanos(*next);
    if (next_ns > target) break;
    if (next_ns > clock_.NowNanos()) clock_.SetNanos(next_ns);
    CVX_ASSIGN_OR_RETURN(int ran, jobs_->RunDue());
    if (ran == 0) clock_.AdvanceNanos(1000);  // never spin on a rounding edge
  }
  clock_.SetNanos(target);
  return jobs_->RunDue().status();
}

absl::Status TestBackend::FinishScheduledFunctions() {
  for (int i = 0; i < 10000; ++i) {
    CVX_ASSIGN_OR_RETURN(std::optional<double> next, jobs_->NextDue());
    if (!next.has_value()) return absl::OkStatus();
    uint64_t next_ns = DueNanos(*next);
    if (next_ns > clock_.NowNanos()) clock_.SetNanos(next_ns);
    CVX_ASSIGN_OR_RETURN(int ran, jobs_->RunDue());
    if (ran == 0) clock_.AdvanceNanos(1000);
  }
  return MakeError(absl::StatusCode::kResourceExhausted, "TooManyScheduledFunctions",
                   "FinishScheduledFunctions: jobs keep scheduling more jobs");
}

}  // namespace cvx
