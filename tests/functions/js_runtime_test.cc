// Pushed functions running in real Node workers (functions/js/js_runtime.h,
// worker_pool.h, syscalls.h) on a real database, through the Runner: results and errors,
// every DB syscall, OCC retries that re-run the JavaScript under real concurrency (no lost
// updates, a bank invariant), time limits, and a worker killed mid-call. The modules are
// hand-written ESM that speak the syscall ABI the convex library speaks (the real library
// is exercised by tests/compat/typescript_run.test.mjs).

#include "functions/js/js_runtime.h"

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "engine/value/json.h"
#include "functions/js/push.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx::js {
namespace {

namespace json = boost::json;
using ::cvx::testing::OpenTestDb;
using ::testing::HasSubstr;

constexpr char kModule[] = R"js(
const sys = async (op, args) => JSON.parse(await Convex.asyncSyscall(op, JSON.stringify(args)));
const syncSys = (op, args) => JSON.parse(Convex.syscall(op, JSON.stringify(args)));
const reg = (kind, fn) => Object.assign(fn, {
  [kind === "query" ? "isQuery" : "isMutation"]: true, isPublic: true,
  exportArgs: () => '{"type":"any"}', exportReturns: () => "null",
  invokeQuery: async (a) => JSON.stringify(await fn(JSON.parse(a)[0]) ?? null),
  invokeMutation: async (a) => JSON.stringify(await fn(JSON.parse(a)[0]) ?? null) });
const scanAll = async (table) => {
  const { queryId } = syncSys("1.0/queryStream", { query: { source: { type: "FullTableScan", tableName: table, order: null }, operators: [] } });
  const out = [];
  for (;;) {
    const { value, done } = await sys("1.0/queryStreamNext", { queryId });
    if (done) break;
    out.push(value);
  }
  syncSys("1.0/queryCleanup", { queryId });
  return out;
};
export const open = reg("mutation", async ({ balance }) => (await sys("1.0/insert", { table: "accounts", value: { balance } }))._id);
export const transfer = reg("mutation", async ({ from, to, amount }) => {
  const a = await sys("1.0/get", { id: from });
  const b = await sys("1.0/get", { id: to });
  await sys("1.0/shallowMerge", { id: from, value: { balance: a.balance - amount } });
  await sys("1.0/shallowMerge", { id: to, value: { balance: b.balance + amount } });
});
export const total = reg("query", async () => (await scanAll("accounts")).reduce((s, a) => s + a.balance, 0));
export const count = reg("query", async () => (await scanAll("accounts")).length);
export const byRange = reg("query", async ({ min }) => {
  const { queryId } = syncSys("1.0/queryStream", { query: {
    source: { type: "FullTableScan", tableName: "accounts", order: "desc" },
    operators: [{ filter: { $gte: [{ $field: "balance" }, { $literal: min }] } }, { limit: 2 }] } });
  const out = [];
  for (;;) { const { value, done } = await sys("1.0/queryStreamNext", { queryId }); if (done) break; out.push(value.balance); }
  return out;
});
export const fails = reg("mutation", async () => {
  await sys("1.0/insert", { table: "accounts", value: { balance: -1 } });
  throw new TypeError("boom");
});
export const spin = reg("mutation", async () => {
  await sys("1.0/insert", { table: "accounts", value: { balance: -2 } });
  for (;;) {}
});
export const auditedTotal = reg("query", async ({ id }) => {
  const [one, all] = await Promise.all([sys("1.0/get", { id }),
                                        sys("1.0/runUdf", { name: "bank:total", udfType: "query", args: {} })]);
  return { one: one.balance >= 0, all };
});
export const identity = reg("query", async () => sys("1.0/getUserIdentity", {}));
export const unsupported = reg("query", async () => sys("1.0/storageGetUrl", { storageId: "x" }));
export const normalize = reg("query", async ({ id }) => syncSys("1.0/db/normalizeId", { table: "accounts", idString: id }));
)js";

class JsRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<NodeRuntime> node = NodeRuntime::Find();
    if (!node.ok()) GTEST_SKIP() << node.status();
    db_ = OpenTestDb();
    RunnerOptions runner_options;
    runner_options.occ_initial_backoff = absl::Milliseconds(1);
    runner_options.max_occ_retries = 20;
    runner_ = std::make_unique<Runner>(&base_, db_.get(), runner_options);
    TypeScriptOptions options;
    options.code_root = dir_.path();
    options.node = *node;
    options.query_mutation_time_limit = time_limit_;
    ASSERT_OK_AND_ASSIGN(ts_, StartTypeScript(runner_.get(), &base_, std::move(options)));
    json::object app{{"changedModules", json::array{json::object{{"path", "bank.js"}, {"source", kModule}}}},
                     {"dependencies", json::array()}};
    ASSERT_OK_AND_ASSIGN(std::string started,
                         ts_.push->StartPush(json::serialize(json::object{{"appDefinition", app}})));
    ASSERT_OK(ts_.push->FinishPush(json::serialize(json::object{{"startPush", json::parse(started)}})).status());
  }

  Value Call(const std::string& path, Object args = {}) {
    absl::StatusOr<FunctionResult> r = runner_->Run(path, Value::FromObject(std::move(args)));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return Value();
    EXPECT_TRUE(r->ok()) << r->error->message;
    return r->ok() ? *r->value : Value();
  }

  absl::Duration time_limit_ = absl::Seconds(1);
  cvx::testing::TempDir dir_;
  App base_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Runner> runner_;
  TypeScriptSupport ts_;
};

TEST_F(JsRuntimeTest, DatabaseSyscallsReadAndWriteThroughTheCallsTransaction) {
  Value a = Call("bank:open", {{"balance", Value::Float64(10)}});
  Value b = Call("bank:open", {{"balance", Value::Float64(5)}});
  ASSERT_TRUE(a.is_string());
  Call("bank:transfer", {{"from", a}, {"to", b}, {"amount", Value::Float64(3)}});
  EXPECT_EQ(Call("bank:total").float64(), 15);
  EXPECT_EQ(ToConvexJson(Call("bank:byRange", {{"min", Value::Float64(0)}})), "[8,7]");  // newest first
  EXPECT_EQ(ToConvexJson(Call("bank:normalize", {{"id", a}})), absl::StrCat("{\"id\":\"", a.string(), "\"}"));
  EXPECT_EQ(ToConvexJson(Call("bank:normalize", {{"id", Value::String("nope")}})), "{\"id\":null}");
  EXPECT_TRUE(Call("bank:identity").is_null());
}

TEST_F(JsRuntimeTest, ErrorsAreConvexsTextAndRollBack) {
  ASSERT_OK_AND_ASSIGN(FunctionResult r, runner_->Run("bank:fails", Value::FromObject({})));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error->message, ::testing::StartsWith("Uncaught TypeError: boom\n    at "));
  EXPECT_THAT(r.error->message, HasSubstr("bank.js:"));
  EXPECT_EQ(Call("bank:count").float64(), 0);  // its insert was rolled back
  ASSERT_OK_AND_ASSIGN(r, runner_->Run("bank:unsupported", Value::FromObject({})));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error->message, HasSubstr("1.0/storageGetUrl is not supported by convexlite yet"));
}

TEST_F(JsRuntimeTest, ConcurrentMutationsAreSerializableAndRetriesRerunTheJs) {
  std::vector<Value> accounts;
  for (int i = 0; i < 4; ++i) accounts.push_back(Call("bank:open", {{"balance", Value::Float64(100)}}));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 15; ++k) {
        Object args{{"from", accounts[(t + k) % 4]}, {"to", accounts[(t + 2 * k + 1) % 4]},
                    {"amount", Value::Float64(1 + (t * 7 + k) % 13)}};
        if (args["from"] == args["to"]) continue;
        absl::StatusOr<FunctionResult> r = runner_->Run("bank:transfer", Value::FromObject(args));
        if (!r.ok() || !r->ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Call("bank:total").float64(), 400);
  EXPECT_GT(runner_->total_occ_retries(), 0u) << "the transfers never conflicted; the test proves nothing";
}

// Many calls in flight on each worker: the engine thread that reads a frame serves other
// waiting calls' DB syscalls itself, while a nested call (runUdf, served by its own call's
// thread, maybe on the same worker) runs beside them. Nothing deadlocks, every answer is
// its own call's, and the invariant holds.
TEST_F(JsRuntimeTest, ManyCallsPerWorkerEachGetTheirOwnAnswers) {
  std::vector<Value> accounts;
  for (int i = 0; i < 8; ++i) accounts.push_back(Call("bank:open", {{"balance", Value::Float64(50)}}));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 25; ++k) {
        absl::StatusOr<FunctionResult> r;
        if (k % 2 == 0) {
          r = runner_->Run("bank:transfer", Value::FromObject({{"from", accounts[(t + k) % 8]},
                                                               {"to", accounts[(t + k + 3) % 8]},
                                                               {"amount", Value::Float64(1)}}));
        } else {
          r = runner_->Run("bank:auditedTotal", Value::FromObject({{"id", accounts[t]}}));
          if (r.ok() && r->ok() && ToConvexJson(*r->value) != "{\"all\":400,\"one\":true}") wrong.fetch_add(1);
        }
        if (!r.ok() || !r->ok()) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(Call("bank:total").float64(), 400);
}

TEST_F(JsRuntimeTest, ACallPastItsTimeLimitIsKilledAndWritesNothing) {
  ASSERT_OK_AND_ASSIGN(FunctionResult r, runner_->Run("bank:spin", Value::FromObject({})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, "Function execution timed out (maximum duration: 1s)");
  EXPECT_EQ(Call("bank:count").float64(), 0);
  EXPECT_EQ(Call("bank:total").float64(), 0);  // a fresh worker answers
  EXPECT_GE(ts_.runtime->workers_started(), 2u);
}

class ShortLimitTest : public JsRuntimeTest {
 protected:
  ShortLimitTest() { time_limit_ = absl::Milliseconds(300); }
};

TEST_F(ShortLimitTest, TheTimeLimitIsConfigurable) {
  ASSERT_OK_AND_ASSIGN(FunctionResult r, runner_->Run("bank:spin", Value::FromObject({})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, "Function execution timed out (maximum duration: 0.3s)");
}

TEST_F(JsRuntimeTest, AnEnvironmentChangeStartsFreshWorkers) {
  Call("bank:count");
  uint64_t before = ts_.runtime->workers_started();
  ASSERT_OK(runner_->SetEnv("SOMETHING", "new"));
  Call("bank:count");
  EXPECT_GT(ts_.runtime->workers_started(), before);
}

}  // namespace
}  // namespace cvx::js
