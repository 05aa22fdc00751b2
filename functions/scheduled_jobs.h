// File: functions/scheduled_jobs.h
//
// Executes the jobs that ctx.scheduler writes to `_scheduled_functions`, with Convex's
// guarantees:
//   - a scheduled mutation runs exactly once: its state change (pending -> success) is
//     written in the mutation's own transaction, so a second executor, a retry or a
//     restart can never run it again; a failed mutation's writes are discarded and the job
//     is marked failed {error} in a separate transaction;
//   - a scheduled action runs at most once: pending -> inProgress commits before it runs,
//     then success/failed; an action found inProgress at start-up (the process died while
//     it ran) is marked failed, never re-run;
//   - jobs survive restarts (they are rows); canceled jobs never run;
//   - cron jobs (functions/crons.h) due at a poll become jobs first, once per tick.
// Jobs run in scheduledTime order. Time comes from the Runner's clock, so a FakeClock
// drives them in tests (RunDue), and Start() polls in the background for servers.
//
// Thread safety: RunDue may run concurrently with itself and with Start()'s thread; the
// transactions above keep each job's guarantee.

#ifndef CVX_FUNCTIONS_SCHEDULED_JOBS_H_
#define CVX_FUNCTIONS_SCHEDULED_JOBS_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "functions/runner.h"

namespace cvx {

inline constexpr char kScheduledFunctionsTable[] = "_scheduled_functions";

class JobExecutor {
 public:
  explicit JobExecutor(Runner* runner) : runner_(runner) {}
  ~JobExecutor() { Stop(); }

  // Creates the job index and fails actions a crash interrupted. Call once before use.
  [[nodiscard]] absl::Status Init();

  // Runs every job due at or before the clock's now (including jobs those jobs schedule
  // for now). Returns how many jobs ran.
  [[nodiscard]] absl::StatusOr<int> RunDue();

  // Runs job `id` now, whatever its scheduledTime, if it is still pending (a test driving
  // the scheduler with its own timers: tools/convexlite-test). True when it ran; false when
  // it does not exist (its mutation rolled back), was canceled or already ran.
  [[nodiscard]] absl::StatusOr<bool> RunJob(std::string_view id);
  // The scheduledTime (ms) of the earliest pending job, or nullopt.
  [[nodiscard]] absl::StatusOr<std::optional<double>> NextDue();

  // Polls in a background thread until Stop().
  void Start(absl::Duration poll = absl::Milliseconds(20));
  void Stop();

 private:
  absl::Status Execute(const Value& job);
  // Moves job `id` from one of `from` kinds to `state` (+ completedTime when finished).
  // Returns false when the job was not in one of `from`.
  absl::StatusOr<bool> Transition(const std::string& id, std::initializer_list<const char*> from,
                                  Value state, bool finished);

  Runner* runner_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_SCHEDULED_JOBS_H_
