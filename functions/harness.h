// File: functions/harness.h
//
// An in-process backend for testing an App, like convex-test for JS users, but with real
// transactions, real concurrency and real RocksDB (memory Env):
//
//   TestBackend t(app);                                   // fresh memory db, schema applied
//   ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("messages:send", {{"body", Value::String("hi")}}));
//   auto alice = t.WithIdentity({{"subject", Value::String("alice")}});
//   ASSERT_OK_AND_ASSIGN(Value me, alice.Query("me:whoami", {}));
//   ASSERT_OK(t.AdvanceTime(absl::Minutes(5)));
//   ASSERT_OK(t.FinishScheduledFunctions());              // runs every job due by then
//
// Calls return the function's value, or its error as a Status: a ConvexError keeps its
// data (ConvexErrorData(status)), other function errors have tag "FunctionError" and the
// error message. Internal functions are callable (the harness is an admin).
//
// Thread safety: calls may run concurrently from many threads.

#ifndef CVX_FUNCTIONS_HARNESS_H_
#define CVX_FUNCTIONS_HARNESS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/database.h"
#include "functions/app.h"
#include "functions/runner.h"
#include "functions/scheduled_jobs.h"

namespace cvx {

struct TestBackendOptions {
  uint64_t start_time_ns = 1'767'225'600'000'000'000ull;  // 2026-01-01T00:00:00Z
  RunnerOptions runner;  // its clock is replaced by the harness's FakeClock
};

class TestBackend {
 public:
  // Opens a memory database and applies `app`'s schema; aborts the test program if that
  // fails (a broken schema is a bug in the test). `app` must outlive the backend.
  explicit TestBackend(const App& app, TestBackendOptions options = {});
  ~TestBackend();

  // A view of this backend that calls as `identity` (ctx.auth.getUserIdentity()). Fields
  // tokenIdentifier and issuer are filled in when absent, as Convex's identities have.
  class Caller {
   public:
    [[nodiscard]] absl::StatusOr<Value> Query(std::string_view path, Object args = {});
    [[nodiscard]] absl::StatusOr<Value> Mutation(std::string_view path, Object args = {});
    [[nodiscard]] absl::StatusOr<Value> Action(std::string_view path, Object args = {});

   private:
    friend class TestBackend;
    Caller(TestBackend* backend, std::optional<UserIdentity> identity)
        : backend_(backend), identity_(std::move(identity)) {}
    absl::StatusOr<Value> Call(std::string_view path, Object args, FunctionType type);
    TestBackend* backend_;
    std::optional<UserIdentity> identity_;
  };

  Caller WithIdentity(Object identity);

  [[nodiscard]] absl::StatusOr<Value> Query(std::string_view path, Object args = {});
  [[nodiscard]] absl::StatusOr<Value> Mutation(std::string_view path, Object args = {});
  [[nodiscard]] absl::StatusOr<Value> Action(std::string_view path, Object args = {});
  // The full result (log lines, ts, retries) of a call.
  [[nodiscard]] absl::StatusOr<FunctionResult> Call(std::string_view path, Object args,
                                                    const CallOptions& options = {});

  // Runs `body` in a mutation transaction with direct database access (t.run in
  // convex-test), committing when it returns OK.
  [[nodiscard]] absl::Status Run(const std::function<absl::Status(MutationCtx&)>& body);

  // Moves the fake clock forward, running scheduled functions that come due on the way
  // (in order, each at its own scheduled time).
  [[nodiscard]] absl::Status AdvanceTime(absl::Duration delta);
  // Runs scheduled functions due now, and those they schedule for now.
  [[nodiscard]] absl::Status RunDueScheduledFunctions();
  // Advances the clock job by job until no job is pending (bounded to 10000 jobs).
  [[nodiscard]] absl::Status FinishScheduledFunctions();

  FakeClock& clock() { return clock_; }
  Database& db() { return *db_; }
  Runner& runner() { return *runner_; }

 private:
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<JobExecutor> jobs_;
  Caller admin_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_HARNESS_H_
