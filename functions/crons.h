// File: functions/crons.h
//
// Cron jobs (Convex's crons.ts): each is a row of `_cron_jobs` {name, udfPath, args,
// schedule, nextTs}. A push writes the rows in its own transaction (SyncCronJobs); the
// JobExecutor's poll calls RunDueCrons, which for every due cron, in one transaction,
// writes a `_scheduled_functions` job for its tick and moves nextTs past now. The row is in
// that transaction's read set, so two executors (or a retry, or a restart) can never run
// one tick twice, and ticks missed while the server was down run once, at start.
//
// Schedules, as crons.ts exports them: {type:"interval", seconds|minutes|hours},
// {type:"hourly", minuteUTC?}, {type:"daily", hourUTC, minuteUTC?}, {type:"weekly",
// dayOfWeek:"sunday".., hourUTC, minuteUTC?}, {type:"monthly", day, hourUTC, minuteUTC?},
// {type:"cron", cron:"m h dom mon dow"} (UTC; lists, ranges, steps, '*'; dom and dow are
// ORed when both are restricted, as in cron(8)).
//
// Thread safety: all functions are reentrant.

#ifndef CVX_FUNCTIONS_CRONS_H_
#define CVX_FUNCTIONS_CRONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/transaction.h"
#include "engine/value/value.h"

namespace cvx {

class Runner;

inline constexpr char kCronJobsTable[] = "_cron_jobs";

struct CronSpec {
  std::string name;           // the identifier given to crons.interval(...) etc.
  std::string function_path;  // canonical "dir/file:fn"
  Object args;
  Value schedule;
};

// Parses crons.js's export() JSON ({name: {name, args: [obj], schedule}}). kInvalidArgument
// "InvalidCron" naming the job when a schedule or function name is not valid.
[[nodiscard]] absl::StatusOr<std::vector<CronSpec>> ParseCronSpecs(const Value& json);

// The first run of `schedule` strictly after `after_ms` (ms since the epoch, UTC).
[[nodiscard]] absl::StatusOr<double> NextCronRun(const Value& schedule, double after_ms);

// Makes `_cron_jobs` hold exactly `specs` within `txn`: a cron whose function, args and
// schedule are unchanged keeps its next run; a new or changed one runs next after `now_ms`.
[[nodiscard]] absl::Status SyncCronJobs(Transaction& txn, const std::vector<CronSpec>& specs,
                                        double now_ms);

// Schedules every cron due at `now_ms` (see the file comment). Returns how many ticks
// were scheduled.
[[nodiscard]] absl::StatusOr<int> RunDueCrons(Runner& runner, double now_ms);

}  // namespace cvx

#endif  // CVX_FUNCTIONS_CRONS_H_
