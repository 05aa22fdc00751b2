// The scheduler and the test harness: exactly-once mutations, at-most-once actions,
// cancel, failure, restart, concurrent executors; identities; t.run.

#include <atomic>
#include <thread>

#include "engine/base/status_macros.h"
#include "functions/errors.h"
#include "functions/harness.h"
#include "functions/scheduled_jobs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;

std::atomic<int> g_action_runs{0};

App MakeApp() {
  App app;
  app.SetSchema(DefineSchema().Table("jobs", DefineTable({{"value", v::Any()}, {"ranAt", v::Float64()}})));
  app.Mutation("jobs:scheduleIn", v::Object({{"delayMs", v::Float64()}, {"value", v::Any()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id,
                                      ctx.scheduler().RunAfter(args.at("delayMs").float64(),
                                                               "jobs:record",
                                                               {{"value", args.at("value")}}));
                 return Value::String(id);
               });
  app.InternalMutation("jobs:record", v::Object({{"value", v::Any()}}),
                       [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                         if (args.at("value") == Str("fail")) {
                           CVX_RETURN_IF_ERROR(ctx.db().Insert("jobs", {{"value", Str("ghost")},
                                                                        {"ranAt", F(ctx.Now())}}).status());
                           return absl::InvalidArgumentError("record refused");
                         }
                         CVX_RETURN_IF_ERROR(ctx.db().Insert("jobs", {{"value", args.at("value")},
                                                                      {"ranAt", F(ctx.Now())}}).status());
                         return Value::Null();
                       });
  app.Mutation("jobs:scheduleThenFail", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.scheduler().RunAfter(0, "jobs:record", {{"value", I(1)}}).status());
                 return absl::InvalidArgumentError("no");
               });
  app.Mutation("jobs:cancel", v::Object({{"id", v::String()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.scheduler().Cancel(args.at("id").string()));
                 return Value::Null();
               });
  app.Query("jobs:list", std::nullopt, [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, ctx.db().Query("jobs").Collect());
    return Value::FromArray(Array(docs.begin(), docs.end()));
  });
  app.Query("jobs:status", v::Object({{"id", v::String()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> job,
                                   ctx.db().System().Get(args.at("id").string()));
              return job.value_or(Value::Null());
            });
  app.InternalAction("jobs:act", v::Object({{"value", v::Any()}}),
                     [](ActionCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                       g_action_runs.fetch_add(1);
                       return ctx.RunMutation("jobs:record", {{"value", args.at("value")}});
                     });
  app.Mutation("jobs:scheduleAction", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id,
                                      ctx.scheduler().RunAfter(10, "jobs:act", {{"value", Str("a")}}));
                 return Value::String(id);
               });
  app.Query("me:whoami", std::nullopt, [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    return ctx.auth().GetUserIdentity().value_or(Value::Null());
  });
  return app;
}

size_t JobCount(TestBackend& t) {
  auto list = t.Query("jobs:list");
  EXPECT_OK(list.status());
  return list.ok() ? list->array().size() : 0;
}

std::string Kind(TestBackend& t, const Value& id) {
  auto job = t.Query("jobs:status", {{"id", id}});
  EXPECT_OK(job.status());
  return job->Find("state")->Find("kind")->string();
}

TEST(SchedulerTest, MutationRunsOnceAtItsTime) {
  App app = MakeApp();
  TestBackend t(app);
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("jobs:scheduleIn", {{"delayMs", F(60000)}, {"value", I(7)}}));
  ASSERT_OK_AND_ASSIGN(Value job, t.Query("jobs:status", {{"id", id}}));
  EXPECT_EQ(job.Find("name")->string(), "jobs.js:record");
  EXPECT_EQ(*job.Find("args"), Value::FromArray({Obj({{"value", I(7)}})}));
  EXPECT_EQ(Kind(t, id), "pending");
  ASSERT_OK(t.AdvanceTime(absl::Seconds(59)));
  EXPECT_EQ(JobCount(t), 0u);
  ASSERT_OK(t.AdvanceTime(absl::Seconds(2)));
  EXPECT_EQ(JobCount(t), 1u);
  EXPECT_EQ(Kind(t, id), "success");
  ASSERT_OK_AND_ASSIGN(job, t.Query("jobs:status", {{"id", id}}));
  EXPECT_TRUE(job.Find("completedTime")->is_float64());
  ASSERT_OK(t.AdvanceTime(absl::Hours(1)));
  EXPECT_EQ(JobCount(t), 1u);  // never again
}

TEST(SchedulerTest, FailedJobKeepsNoWritesAndRecordsError) {
  App app = MakeApp();
  TestBackend t(app);
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("jobs:scheduleIn", {{"delayMs", F(0)}, {"value", Str("fail")}}));
  ASSERT_OK(t.FinishScheduledFunctions());
  EXPECT_EQ(JobCount(t), 0u);
  ASSERT_OK_AND_ASSIGN(Value job, t.Query("jobs:status", {{"id", id}}));
  EXPECT_EQ(job.Find("state")->Find("kind")->string(), "failed");
  EXPECT_EQ(job.Find("state")->Find("error")->string(), "Uncaught Error: record refused");
}

TEST(SchedulerTest, SchedulingIsTransactionalAndCancelWorks) {
  App app = MakeApp();
  TestBackend t(app);
  EXPECT_THAT(t.Mutation("jobs:scheduleThenFail"), StatusIs(absl::StatusCode::kFailedPrecondition, "FunctionError"));
  ASSERT_OK(t.FinishScheduledFunctions());
  EXPECT_EQ(JobCount(t), 0u);
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("jobs:scheduleIn", {{"delayMs", F(1000)}, {"value", I(1)}}));
  ASSERT_OK(t.Mutation("jobs:cancel", {{"id", id}}).status());
  EXPECT_EQ(Kind(t, id), "canceled");
  ASSERT_OK(t.AdvanceTime(absl::Seconds(5)));
  EXPECT_EQ(JobCount(t), 0u);
}

TEST(SchedulerTest, ActionsRunAtMostOnce) {
  App app = MakeApp();
  TestBackend t(app);
  g_action_runs = 0;
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("jobs:scheduleAction"));
  ASSERT_OK(t.FinishScheduledFunctions());
  EXPECT_EQ(g_action_runs.load(), 1);
  EXPECT_EQ(Kind(t, id), "success");
  EXPECT_EQ(JobCount(t), 1u);
}

TEST(SchedulerTest, ConcurrentExecutorsRunEachMutationExactlyOnce) {
  App app = MakeApp();
  TestBackend t(app);
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_OK(t.Mutation("jobs:scheduleIn", {{"delayMs", F(0)}, {"value", I(i)}}).status());
  }
  JobExecutor a(&t.runner()), b(&t.runner());
  std::thread ta([&] { EXPECT_OK(a.RunDue().status()); });
  std::thread tb([&] { EXPECT_OK(b.RunDue().status()); });
  ta.join();
  tb.join();
  ASSERT_OK_AND_ASSIGN(Value list, t.Query("jobs:list"));
  std::set<int64_t> values;
  for (const Value& d : list.array()) values.insert(d.Find("value")->int64());
  EXPECT_EQ(list.array().size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(values.size(), static_cast<size_t>(kJobs));
}

TEST(SchedulerTest, PendingJobsSurviveRestartAndInterruptedActionsFail) {
  testing::TempDir dir;
  App app = MakeApp();
  DatabaseOptions options;
  options.path = dir.Sub("db");
  std::string job_id, action_id;
  {
    auto db = Database::Open(options);
    ASSERT_OK(db.status());
    ASSERT_OK(ApplySchema(**db, app.schema()));
    Runner runner(&app, db->get());
    JobExecutor jobs(&runner);
    ASSERT_OK(jobs.Init());
    auto r = runner.Run("jobs:scheduleIn", Obj({{"delayMs", F(0)}, {"value", I(42)}}));
    ASSERT_TRUE(r.ok() && r->ok());
    job_id = r->value->string();
    // Simulate a crash while an action ran: mark a scheduled action inProgress by hand.
    auto s = runner.Run("jobs:scheduleAction", Obj({}));
    action_id = s->value->string();
    auto txn = (*db)->Begin();
    ASSERT_OK_AND_ASSIGN(DocumentId aid, DocumentId::Decode(action_id));
    ASSERT_OK_AND_ASSIGN(auto doc, txn->Get(aid));
    Object fields = doc->fields;
    fields["state"] = Obj({{"kind", Str("inProgress")}});
    ASSERT_OK(txn->Replace(aid, fields));
    ASSERT_OK(txn->Commit());
  }
  auto db = Database::Open(options);
  ASSERT_OK(db.status());
  Runner runner(&app, db->get());
  JobExecutor jobs(&runner);
  ASSERT_OK(jobs.Init());
  g_action_runs = 0;
  ASSERT_OK_AND_ASSIGN(int ran, jobs.RunDue());
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(g_action_runs.load(), 0);
  auto list = runner.Run("jobs:list", Obj({}));
  ASSERT_EQ(list->value->array().size(), 1u);
  EXPECT_EQ(*list->value->array()[0].Find("value"), I(42));
  auto action = runner.Run("jobs:status", Obj({{"id", Str(action_id)}}));
  EXPECT_EQ(action->value->Find("state")->Find("kind")->string(), "failed");
}

TEST(HarnessTest, IdentitiesAndDirectRuns) {
  App app = MakeApp();
  TestBackend t(app);
  ASSERT_OK_AND_ASSIGN(Value anonymous, t.Query("me:whoami"));
  EXPECT_TRUE(anonymous.is_null());
  auto alice = t.WithIdentity({{"subject", Str("alice")}, {"name", Str("Alice")}});
  ASSERT_OK_AND_ASSIGN(Value me, alice.Query("me:whoami"));
  EXPECT_EQ(me.Find("tokenIdentifier")->string(), "https://convex.test|alice");
  EXPECT_EQ(me.Find("name")->string(), "Alice");
  ASSERT_OK(t.Run([](MutationCtx& ctx) -> absl::Status {
    return ctx.db().Insert("jobs", {{"value", Str("direct")}, {"ranAt", F(0)}}).status();
  }));
  EXPECT_EQ(JobCount(t), 1u);
  // Function errors come back as Status; ConvexError keeps its data.
  EXPECT_THAT(t.Query("nope:nothing"), StatusIs(absl::StatusCode::kFailedPrecondition, "FunctionError"));
}

}  // namespace
}  // namespace cvx
