// Cron jobs (functions/crons.h): every schedule kind's next run, cron-expression rules,
// the push-time sync of `_cron_jobs`, and ticks that become exactly one job each, even
// with several executors racing and across a restart with missed ticks.

#include "functions/crons.h"

#include <atomic>
#include <thread>

#include "absl/time/civil_time.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/scheduled_jobs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;

double Ms(int y, int mo, int d, int h, int mi) {
  return static_cast<double>(absl::ToUnixMillis(absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone())));
}
Value Schedule(const char* json) {
  absl::StatusOr<Value> v = ParseConvexJson(json);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : Value();
}
double Next(const char* schedule, double after) {
  absl::StatusOr<double> next = NextCronRun(Schedule(schedule), after);
  EXPECT_TRUE(next.ok()) << next.status() << " for " << schedule;
  return next.ok() ? *next : -1;
}

TEST(NextCronRunTest, EveryScheduleKind) {
  double t = Ms(2026, 12, 3, 10, 30) + 15000;  // Thursday 2026-12-03 10:30:15 UTC
  EXPECT_EQ(Next(R"({"type":"interval","seconds":30})", t), t + 30000);
  EXPECT_EQ(Next(R"({"type":"interval","minutes":2})", t), t + 120000);
  EXPECT_EQ(Next(R"({"type":"interval","hours":1})", t), t + 3600000);
  EXPECT_EQ(Next(R"({"type":"hourly","minuteUTC":45})", t), Ms(2026, 12, 3, 10, 45));
  EXPECT_EQ(Next(R"({"type":"hourly","minuteUTC":5})", t), Ms(2026, 12, 3, 11, 5));
  EXPECT_EQ(Next(R"({"type":"daily","hourUTC":3,"minuteUTC":0})", t), Ms(2026, 12, 4, 3, 0));
  EXPECT_EQ(Next(R"({"type":"weekly","dayOfWeek":"monday","hourUTC":9,"minuteUTC":30})", t), Ms(2026, 12, 7, 9, 30));
  EXPECT_EQ(Next(R"({"type":"monthly","day":1,"hourUTC":0,"minuteUTC":0})", t), Ms(2027, 1, 1, 0, 0));
  EXPECT_EQ(Next(R"({"type":"cron","cron":"0 3 * * *"})", t), Ms(2026, 12, 4, 3, 0));
  EXPECT_EQ(Next(R"({"type":"cron","cron":"*/15 * * * *"})", t), Ms(2026, 12, 3, 10, 45));
  EXPECT_EQ(Next(R"({"type":"cron","cron":"0 9-17/4 * * 1-5"})", t), Ms(2026, 12, 3, 13, 0));
  EXPECT_EQ(Next(R"({"type":"cron","cron":"0 0 29 2 *"})", t), Ms(2028, 2, 29, 0, 0));  // the next leap day
  // dom and dow both restricted: either matches (cron(8)).
  EXPECT_EQ(Next(R"({"type":"cron","cron":"0 12 25 * 0"})", t), Ms(2026, 12, 6, 12, 0));  // Sunday the 6th
  EXPECT_EQ(Next(R"({"type":"cron","cron":"0 12 * * 7"})", t), Ms(2026, 12, 6, 12, 0));   // 7 is Sunday too
  // Exactly on a boundary: strictly after.
  EXPECT_EQ(Next(R"({"type":"cron","cron":"30 10 * * *"})", Ms(2026, 12, 3, 10, 30)), Ms(2026, 12, 4, 10, 30));
}

TEST(NextCronRunTest, RefusesBadSchedules) {
  for (const char* bad : {R"({"type":"interval","seconds":0})", R"({"type":"hourly","minuteUTC":60})",
                          R"({"type":"weekly","dayOfWeek":"funday","hourUTC":1})", R"({"type":"monthly","day":32,"hourUTC":1})",
                          R"({"type":"cron","cron":"* * *"})", R"({"type":"cron","cron":"61 * * * *"})",
                          R"({"type":"cron","cron":"*/0 * * * *"})", R"({"type":"cron","cron":"0 0 31 2 *"})",
                          R"({"type":"sometimes"})"}) {
    EXPECT_THAT(NextCronRun(Schedule(bad), 0).status(), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidCron")) << bad;
  }
}

class CronRunTest : public ::testing::Test {
 protected:
  CronRunTest() {
    app_.InternalMutation("jobs:tick", std::nullopt, [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
      CVX_RETURN_IF_ERROR(ctx.db().Insert("ticks", args).status());
      return Value();
    });
    runner_ = std::make_unique<Runner>(&app_, db_.get());
  }
  absl::Status Sync(const char* crons_json, double now) {
    CVX_ASSIGN_OR_RETURN(std::vector<CronSpec> specs, ParseCronSpecs(Schedule(crons_json)));
    auto txn = db_->Begin();
    CVX_RETURN_IF_ERROR(SyncCronJobs(*txn, specs, now));
    return txn->Commit();
  }
  size_t Count(const char* table) {
    auto txn = db_->Begin();
    ScanRequest all;
    all.table = table;
    all.index = "by_id";
    absl::StatusOr<ScanResult> r = txn->Scan(all);
    return r.ok() ? r->documents.size() : 0;
  }
  App app_;
  std::unique_ptr<Database> db_ = OpenTestDb();
  std::unique_ptr<Runner> runner_;
};

constexpr char kEveryMinute[] =
    R"({"tick":{"name":"jobs:tick","args":[{"n":1}],"schedule":{"type":"interval","minutes":1}}})";

TEST_F(CronRunTest, EachTickBecomesExactlyOneJobEvenWithRacingExecutors) {
  double t0 = 1.8e12;
  ASSERT_OK(Sync(kEveryMinute, t0));
  ASSERT_OK_AND_ASSIGN(int none, RunDueCrons(*runner_, t0 + 1000));
  EXPECT_EQ(none, 0);
  std::atomic<int> total{0};
  std::vector<std::thread> executors;
  for (int i = 0; i < 4; ++i) {
    executors.emplace_back([&] {
      absl::StatusOr<int> ran = RunDueCrons(*runner_, t0 + 60000);
      if (ran.ok()) total.fetch_add(*ran);
    });
  }
  for (auto& t : executors) t.join();
  EXPECT_EQ(total.load(), 1);
  EXPECT_EQ(Count(kScheduledFunctionsTable), 1u);
  // Ticks missed while the server was down run once, then the schedule continues from now.
  ASSERT_OK_AND_ASSIGN(int after_downtime, RunDueCrons(*runner_, t0 + 10 * 60000));
  EXPECT_EQ(after_downtime, 1);
  ASSERT_OK_AND_ASSIGN(int again, RunDueCrons(*runner_, t0 + 10 * 60000 + 1));
  EXPECT_EQ(again, 0);
  EXPECT_EQ(Count(kScheduledFunctionsTable), 2u);
}

TEST_F(CronRunTest, APushKeepsUnchangedCronsAndReplacesOrRemovesTheRest) {
  double t0 = 1.8e12;
  ASSERT_OK(Sync(kEveryMinute, t0));
  ASSERT_OK(Sync(kEveryMinute, t0 + 50000));  // unchanged: still due at t0 + 60 s
  ASSERT_OK_AND_ASSIGN(int ran, RunDueCrons(*runner_, t0 + 60000));
  EXPECT_EQ(ran, 1);
  // A changed schedule starts again from the push.
  ASSERT_OK(Sync(R"({"tick":{"name":"jobs:tick","args":[{"n":1}],"schedule":{"type":"interval","minutes":5}}})", t0 + 70000));
  ASSERT_OK_AND_ASSIGN(ran, RunDueCrons(*runner_, t0 + 70000 + 4 * 60000));
  EXPECT_EQ(ran, 0);
  ASSERT_OK(Sync("{}", t0 + 80000));
  EXPECT_EQ(Count(kCronJobsTable), 0u);
}

TEST_F(CronRunTest, TheJobExecutorRunsCronTicks) {
  FakeClock clock(static_cast<uint64_t>(1.8e12) * 1000000);
  RunnerOptions options;
  options.clock = &clock;
  Runner runner(&app_, db_.get(), options);
  JobExecutor jobs(&runner);
  ASSERT_OK(jobs.Init());
  ASSERT_OK(Sync(kEveryMinute, 1.8e12));
  clock.AdvanceNanos(60ull * 1000000000);
  ASSERT_OK(jobs.RunDue().status());
  EXPECT_EQ(Count("ticks"), 1u);
  ASSERT_OK(jobs.RunDue().status());
  EXPECT_EQ(Count("ticks"), 1u);
}

}  // namespace
}  // namespace cvx
