// The function runner end to end on a memory database: registration, argument and return
// validation, error shapes, ConvexError data, logs, limits, OCC retries under real
// concurrency, triggers inside the writing transaction, and actions.

#include "functions/runner.h"

#include <atomic>
#include <stdexcept>
#include <thread>

#include "engine/base/status_macros.h"
#include "functions/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::Str;
using ::cvx::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

App MakeApp() {
  App app;
  app.SetSchema(DefineSchema()
                    .Table("accounts", DefineTable({{"owner", v::String()}, {"balance", v::Int64()}})
                                           .Index("by_owner", {"owner"}))
                    .Table("notes", DefineTable({{"text", v::String()}})));
  app.Query("values:echo", v::Object({{"value", v::Any()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              ctx.Log("echo");
              return args.at("value");
            });
  app.Mutation("bank:open", v::Object({{"owner", v::String()}, {"balance", v::Int64()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("accounts", args));
                 return Value::String(id);
               });
  app.Mutation(
      "bank:transfer",
      v::Object({{"from", v::Id("accounts")}, {"to", v::Id("accounts")}, {"amount", v::Int64()}}),
      [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
        const std::string& from = args.at("from").string();
        const std::string& to = args.at("to").string();
        int64_t amount = args.at("amount").int64();
        if (from == to) return ConvexError(Obj({{"code", Str("SAME_ACCOUNT")}}));
        if (amount <= 0) return ConvexError(Obj({{"code", Str("BAD_AMOUNT")}}));
        CVX_ASSIGN_OR_RETURN(auto a, ctx.db().Get(from));
        CVX_ASSIGN_OR_RETURN(auto b, ctx.db().Get(to));
        int64_t ab = a->Find("balance")->int64(), bb = b->Find("balance")->int64();
        if (ab < amount) return ConvexError(Obj({{"code", Str("INSUFFICIENT_FUNDS")}}));
        CVX_RETURN_IF_ERROR(ctx.db().Patch(from, {{"balance", I(ab - amount)}}));
        CVX_RETURN_IF_ERROR(ctx.db().Patch(to, {{"balance", I(bb + amount)}}));
        return Value::Null();
      });
  app.Query("bank:total", v::Object({}), [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("accounts").Collect());
    int64_t total = 0;
    for (const Value& d : docs) total += d.Find("balance")->int64();
    return I(total);
  });
  app.InternalQuery("secret:get", std::nullopt,
                    [](QueryCtx&, const Object&) -> absl::StatusOr<Value> { return Str("s"); });
  app.Query("bad:throws", std::nullopt, [](QueryCtx&, const Object&) -> absl::StatusOr<Value> {
    throw std::runtime_error("kaboom");
  });
  app.Query("bad:returns", std::nullopt, [](QueryCtx&, const Object&) -> absl::StatusOr<Value> {
    return Str("not a number");
  }, v::Float64());
  app.Mutation("bad:writeThenFail", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Insert("notes", {{"text", Str("x")}}).status());
                 return absl::InvalidArgumentError("boom");
               });
  app.Mutation("bad:schema", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Insert("notes", {{"text", I(1)}}).status());
                 return Value::Null();
               });
  app.Mutation("bad:tooManyWrites", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 for (int i = 0; i < 20; ++i) {
                   (void)ctx.db().Insert("notes", {{"text", Str("x")}});  // errors ignored
                 }
                 return Value::Null();
               });
  app.Action("act:sum", std::nullopt, [](ActionCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(Value total, ctx.RunQuery("bank:total", {}));
    CVX_ASSIGN_OR_RETURN(Value secret, ctx.RunQuery("secret:get", {}));
    ctx.Log("summed");
    return Obj({{"total", total}, {"secret", secret}});
  });
  app.Mutation("notes:addWithTrigger", std::nullopt,
               [](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("notes", {{"text", Str("hello")}}));
                 return Value::String(id);
               });
  return app;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb();
    app_ = MakeApp();
    ASSERT_OK(ApplySchema(*db_, app_.schema()));
    runner_ = std::make_unique<Runner>(&app_, db_.get());
  }
  FunctionResult Call(std::string_view path, Value args, CallOptions options = {}) {
    auto r = runner_->Run(path, args, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : FunctionResult{};
  }
  std::string Open(const std::string& owner, int64_t balance) {
    FunctionResult r = Call("bank:open", Obj({{"owner", Str(owner)}, {"balance", I(balance)}}));
    EXPECT_TRUE(r.ok()) << r.error->message;
    return r.value->string();
  }
  std::unique_ptr<Database> db_;
  App app_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, QueryReturnsValueAndLogs) {
  FunctionResult r = Call("values:echo", Obj({{"value", I(7)}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value, I(7));
  EXPECT_THAT(r.log_lines, ::testing::ElementsAre("[LOG] 'echo'"));
  // The module form with .js and the exact same function.
  r = Call("values.js:echo", Obj({{"value", Str("x")}}));
  EXPECT_EQ(*r.value, Str("x"));
}

TEST_F(RunnerTest, ArgumentValidationErrors) {
  FunctionResult r = Call("values:echo", Obj({}));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error->message,
              StartsWith("ArgumentValidationError: Object is missing the required field `value`."));
  r = Call("bank:open", Obj({{"owner", Str("a")}, {"balance", testing::F(1)}}));
  EXPECT_EQ(r.error->message,
            "ArgumentValidationError: Value does not match validator.\nPath: .balance\nValue: "
            "1.0\nValidator: v.int64()");
  r = Call("values:echo", Str("not an object"));
  EXPECT_THAT(r.error->message, HasSubstr("Expected to receive an object"));
}

TEST_F(RunnerTest, UnknownWrongTypeAndInternal) {
  FunctionResult r = Call("nope:missing", Obj({}));
  EXPECT_EQ(r.error->message,
            "Could not find public function for 'nope:missing'. Did you forget to run `npx "
            "convex dev` or `npx convex deploy`?");
  CallOptions as_mutation;
  as_mutation.expected_type = FunctionType::kMutation;
  r = Call("values:echo", Obj({{"value", I(1)}}), as_mutation);
  EXPECT_EQ(r.error->message,
            "Trying to execute values.js:echo as Mutation, but it is defined as Query.");
  r = Call("secret:get", Obj({}));
  EXPECT_THAT(r.error->message, StartsWith("Could not find public function for 'secret:get'"));
  CallOptions admin;
  admin.allow_internal = true;
  r = Call("secret:get", Obj({}), admin);
  EXPECT_EQ(*r.value, Str("s"));
  EXPECT_THAT(runner_->Run("bad path!", Obj({})),
              StatusIs(absl::StatusCode::kInvalidArgument, "BadConvexFunctionIdentifier"));
}

TEST_F(RunnerTest, ConvexErrorCarriesDataAndRollsBack) {
  std::string a = Open("a", 100);
  std::string b = Open("b", 0);
  FunctionResult r = Call("bank:transfer", Obj({{"from", Str(a)}, {"to", Str(a)}, {"amount", I(1)}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(*r.error->data, Obj({{"code", Str("SAME_ACCOUNT")}}));
  EXPECT_EQ(r.error->message, "Uncaught ConvexError: {\"code\":\"SAME_ACCOUNT\"}");
  r = Call("bank:transfer", Obj({{"from", Str(a)}, {"to", Str(b)}, {"amount", I(500)}}));
  EXPECT_EQ(*r.error->data, Obj({{"code", Str("INSUFFICIENT_FUNDS")}}));
  r = Call("bank:transfer", Obj({{"from", Str(a)}, {"to", Str(b)}, {"amount", I(30)}}));
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_GT(r.ts, 0u);
  EXPECT_EQ(*Call("bank:total", Obj({})).value, I(100));
  // An id from the wrong table fails validation with Convex's text.
  std::string note = Call("notes:addWithTrigger", Obj({})).value->string();
  r = Call("bank:transfer", Obj({{"from", Str(note)}, {"to", Str(b)}, {"amount", I(1)}}));
  EXPECT_THAT(r.error->message, HasSubstr("from table `notes`, which does not match the table "
                                          "name in validator `v.id(\"accounts\")`.Path: .from"));
}

TEST_F(RunnerTest, FailedMutationLeavesNoTrace) {
  FunctionResult r = Call("bad:writeThenFail", Obj({}));
  EXPECT_EQ(r.error->message, "Uncaught Error: boom");
  r = Call("bad:schema", Obj({}));
  EXPECT_THAT(r.error->message,
              StartsWith("Uncaught Error: Failed to insert or update a document in table "
                         "\"notes\" because it does not match the schema: "));
  auto txn = db_->Begin();
  ScanRequest all;
  all.table = "notes";
  ASSERT_OK_AND_ASSIGN(ScanResult rows, txn->Scan(all));
  EXPECT_TRUE(rows.documents.empty());
}

TEST_F(RunnerTest, LimitPoisonsExecutionEvenIfIgnored) {
  RunnerOptions options;
  options.limits.max_documents_written = 5;
  Runner limited(&app_, db_.get(), options);
  auto r = limited.Run("bad:tooManyWrites", Obj({}));
  ASSERT_OK(r.status());
  ASSERT_FALSE(r->ok());
  EXPECT_THAT(r->error->message, HasSubstr("Too many writes in a single function execution (limit: 5)"));
}

TEST_F(RunnerTest, ExceptionsBecomeInternalErrorsAndReturnsAreValidated) {
  EXPECT_THAT(runner_->Run("bad:throws", Obj({})),
              StatusIs(absl::StatusCode::kInternal, "UncaughtException"));
  FunctionResult r = Call("bad:returns", Obj({}));
  EXPECT_THAT(r.error->message, StartsWith("ReturnsValidationError: Value does not match validator."));
}

TEST_F(RunnerTest, ActionsRunNestedFunctionsAsAdmin) {
  Open("a", 5);
  FunctionResult r = Call("act:sum", Obj({}));
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, Obj({{"secret", Str("s")}, {"total", I(5)}}));
  EXPECT_THAT(r.log_lines, ::testing::ElementsAre("[LOG] 'summed'"));
}

TEST_F(RunnerTest, ConcurrentTransfersRetryAndConserveTotal) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Open("o" + std::to_string(i), 1000));
  // Under heavy contention a transfer may exhaust Convex's 4 retries: that, and only that,
  // is an acceptable failure, and it must leave nothing behind.
  std::atomic<int> other_failures{0}, occ_failures{0}, successes{0};
  // On a loaded machine one round may happen to run without overlap; rounds repeat (up to
  // 20) until a conflict has been retried, which is what the test is about.
  int rounds = 0;
  do {
    ++rounds;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          auto r = runner_->Run("bank:transfer", Obj({{"from", Str(ids[(t + i) % 4])},
                                                     {"to", Str(ids[(t + i + 1) % 4])},
                                                     {"amount", I(1 + i % 7)}}));
          if (r.ok() && r->ok()) successes.fetch_add(1);
          else if (!r.ok() && ErrorTag(r.status()) == "OptimisticConcurrencyControlFailure") occ_failures.fetch_add(1);
          else other_failures.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
  } while (runner_->total_occ_retries() == 0 && rounds < 20);
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_GT(successes.load(), 150 * rounds);
  RecordProperty("occ_failures", occ_failures.load());
  EXPECT_GT(runner_->total_occ_retries(), 0u);
  EXPECT_EQ(*Call("bank:total", Obj({})).value, I(4000));
}

TEST(TriggerTest, FailingTriggerAbortsEverything) {
  auto db = OpenTestDb();
  App app = MakeApp();
  int created = 0;
  app.triggers().For("notes").before_create = [](DatabaseWriter&, Object data) -> absl::StatusOr<Object> {
    data["text"] = Str(data["text"].string() + "!");
    return data;
  };
  app.triggers().For("notes").on_create = [&](DatabaseWriter& db, const Value& doc) -> absl::Status {
    ++created;
    EXPECT_EQ(doc.Find("text")->string(), "hello!");
    CVX_RETURN_IF_ERROR(db.Insert("accounts", {{"owner", Str("audit")}, {"balance", I(0)}}).status());
    if (created >= 2) return absl::FailedPreconditionError("trigger refused");
    return absl::OkStatus();
  };
  ASSERT_OK(ApplySchema(*db, app.schema()));
  Runner runner(&app, db.get());
  auto r = runner.Run("notes:addWithTrigger", Obj({}));
  ASSERT_OK(r.status());
  ASSERT_TRUE(r->ok());
  r = runner.Run("notes:addWithTrigger", Obj({}));
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error->message, "Uncaught Error: trigger refused");
  auto txn = db->Begin();
  ScanRequest notes;
  notes.table = "notes";
  ASSERT_OK_AND_ASSIGN(ScanResult n, txn->Scan(notes));
  ScanRequest accounts;
  accounts.table = "accounts";
  ASSERT_OK_AND_ASSIGN(ScanResult a, txn->Scan(accounts));
  EXPECT_EQ(n.documents.size(), 1u);  // only the first mutation's note
  EXPECT_EQ(a.documents.size(), 1u);  // and only its trigger's audit row
}

}  // namespace
}  // namespace cvx
