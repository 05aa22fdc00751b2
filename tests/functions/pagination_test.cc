// paginate(): page chaining, isDone semantics, fixed page boundaries through endCursor and
// the journal, tamper-proof cursors, split statuses and every error path.

#include <string>

#include "engine/base/status_macros.h"
#include "functions/runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::F;
using ::cvx::testing::Obj;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::Str;
using ::testing::HasSubstr;

class PaginationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_.SetSchema(DefineSchema().Table(
        "messages", DefineTable({{"channel", v::String()}, {"n", v::Float64()}})
                        .Index("by_channel", {"channel"})));
    app_.Query("messages:list", v::Object({{"channel", v::String()}, {"paginationOpts", v::Any()}}),
               [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 return ctx.db()
                     .Query("messages")
                     .WithIndex("by_channel",
                                [&](IndexRangeBuilder& q) { q.Eq("channel", args.at("channel")); })
                     .Order(Order::kDesc)
                     .Paginate(args.at("paginationOpts"));
               });
    app_.Query("messages:twice", v::Object({{"paginationOpts", v::Any()}}),
               [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Query("messages").Paginate(args.at("paginationOpts")).status());
                 return ctx.db().Query("messages").Paginate(args.at("paginationOpts"));
               });
    app_.Mutation("messages:send", v::Object({{"channel", v::String()}, {"n", v::Float64()}}),
                  [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                    CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("messages", args));
                    return Value::String(id);
                  });
    db_ = OpenTestDb();
    ASSERT_OK(ApplySchema(*db_, app_.schema()));
    runner_ = std::make_unique<Runner>(&app_, db_.get());
  }
  void Send(const std::string& channel, double n) {
    auto r = runner_->Run("messages:send", Obj({{"channel", Str(channel)}, {"n", F(n)}}));
    ASSERT_TRUE(r.ok() && r->ok());
  }
  FunctionResult List(Object opts, const std::string& channel = "general",
                      std::optional<std::string> journal = std::nullopt) {
    CallOptions options;
    options.journal = journal;
    auto r = runner_->Run("messages:list",
                          Obj({{"channel", Str(channel)}, {"paginationOpts", Obj(std::move(opts))}}),
                          options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : FunctionResult{};
  }
  static std::vector<double> Ns(const FunctionResult& r) {
    std::vector<double> out;
    for (const Value& d : r.value->Find("page")->array()) out.push_back(d.Find("n")->float64());
    return out;
  }
  App app_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(PaginationTest, PagesChainUntilDone) {
  for (int i = 0; i < 5; ++i) Send("general", i);
  Send("other", 100);
  FunctionResult p1 = List({{"numItems", F(2)}, {"cursor", Value::Null()}});
  ASSERT_TRUE(p1.ok()) << p1.error->message;
  EXPECT_THAT(Ns(p1), ::testing::ElementsAre(4, 3));
  EXPECT_FALSE(p1.value->Find("isDone")->boolean());
  EXPECT_TRUE(p1.value->Find("splitCursor")->is_null());
  EXPECT_TRUE(p1.value->Find("pageStatus")->is_null());
  FunctionResult p2 = List({{"numItems", F(2)}, {"cursor", *p1.value->Find("continueCursor")}});
  EXPECT_THAT(Ns(p2), ::testing::ElementsAre(2, 1));
  EXPECT_FALSE(p2.value->Find("isDone")->boolean());
  FunctionResult p3 = List({{"numItems", F(2)}, {"cursor", *p2.value->Find("continueCursor")}});
  EXPECT_THAT(Ns(p3), ::testing::ElementsAre(0));
  EXPECT_TRUE(p3.value->Find("isDone")->boolean());
  // After the end: an empty, done page.
  FunctionResult p4 = List({{"numItems", F(2)}, {"cursor", *p3.value->Find("continueCursor")}});
  EXPECT_TRUE(Ns(p4).empty());
  EXPECT_TRUE(p4.value->Find("isDone")->boolean());
}

TEST_F(PaginationTest, ExactlyFullPageIsNotDone) {
  for (int i = 0; i < 2; ++i) Send("general", i);
  FunctionResult p1 = List({{"numItems", F(2)}, {"cursor", Value::Null()}});
  EXPECT_EQ(Ns(p1).size(), 2u);
  EXPECT_FALSE(p1.value->Find("isDone")->boolean());
  FunctionResult p2 = List({{"numItems", F(2)}, {"cursor", *p1.value->Find("continueCursor")}});
  EXPECT_TRUE(Ns(p2).empty());
  EXPECT_TRUE(p2.value->Find("isDone")->boolean());
}

TEST_F(PaginationTest, EndCursorAndJournalKeepBoundariesFixed) {
  for (int i = 0; i < 4; ++i) Send("general", i);
  FunctionResult first = List({{"numItems", F(2)}, {"cursor", Value::Null()}});
  EXPECT_THAT(Ns(first), ::testing::ElementsAre(3, 2));
  ASSERT_TRUE(first.journal.has_value());
  Value end = *first.value->Find("continueCursor");
  Send("general", 10);  // newest first: lands at the front of page 1
  // Re-running page 1 with its end cursor (from args or the journal) keeps its end fixed
  // and grows the page instead of shifting rows onto page 2.
  FunctionResult by_arg = List({{"numItems", F(2)}, {"cursor", Value::Null()}, {"endCursor", end}});
  EXPECT_THAT(Ns(by_arg), ::testing::ElementsAre(10, 3, 2));
  FunctionResult by_journal = List({{"numItems", F(2)}, {"cursor", Value::Null()}}, "general",
                                   first.journal);
  EXPECT_THAT(Ns(by_journal), ::testing::ElementsAre(10, 3, 2));
  FunctionResult second = List({{"numItems", F(2)}, {"cursor", end}});
  EXPECT_THAT(Ns(second), ::testing::ElementsAre(1, 0));
}

TEST_F(PaginationTest, TamperedOrForeignCursorsAreRejected) {
  for (int i = 0; i < 3; ++i) Send("general", i);
  Send("other", 1);
  FunctionResult p1 = List({{"numItems", F(1)}, {"cursor", Value::Null()}});
  std::string cursor = p1.value->Find("continueCursor")->string();
  std::string tampered = cursor;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {tampered, std::string("garbage"), std::string("")}) {
    FunctionResult r = List({{"numItems", F(1)}, {"cursor", Str(bad)}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error->message, HasSubstr("InvalidCursor: Tried to run a query starting from a "
                                            "cursor, but it looks like this cursor is from a "
                                            "different query."));
  }
  // A valid cursor of a different query (another channel) is refused too.
  FunctionResult r = List({{"numItems", F(1)}, {"cursor", Str(cursor)}}, "other");
  EXPECT_THAT(r.error->message, HasSubstr("InvalidCursor"));
  // And a cursor signed by another runner's key.
  Runner other(&app_, db_.get());
  auto foreign = other.Run("messages:list", Obj({{"channel", Str("general")},
                                                 {"paginationOpts",
                                                  Obj({{"numItems", F(1)}, {"cursor", Str(cursor)}})}}));
  EXPECT_THAT(foreign->error->message, HasSubstr("InvalidCursor"));
}

TEST_F(PaginationTest, Errors) {
  EXPECT_THAT(List({{"numItems", F(0)}, {"cursor", Value::Null()}}).error->message,
              HasSubstr("Must request at least 1 document while paginating"));
  EXPECT_THAT(List({{"numItems", F(32001)}, {"cursor", Value::Null()}}).error->message,
              HasSubstr("Requested too many items: 32001"));
  EXPECT_THAT(List({{"numItems", F(1)}, {"cursor", Value::Null()}, {"maximumRowsRead", F(0)}})
                  .error->message,
              HasSubstr("maximumRowsRead and maximumBytesRead must be greater than 0"));
  auto twice = runner_->Run("messages:twice",
                            Obj({{"paginationOpts", Obj({{"numItems", F(1)}, {"cursor", Value::Null()}})}}));
  EXPECT_THAT(twice->error->message, HasSubstr("ran multiple paginated queries"));
}

TEST_F(PaginationTest, MaximumRowsReadSplitsThePage) {
  for (int i = 0; i < 10; ++i) Send("general", i);
  FunctionResult r = List({{"numItems", F(8)}, {"cursor", Value::Null()}, {"maximumRowsRead", F(4)}});
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_THAT(Ns(r), ::testing::ElementsAre(9, 8, 7, 6));
  EXPECT_EQ(r.value->Find("pageStatus")->string(), "SplitRequired");
  EXPECT_FALSE(r.value->Find("isDone")->boolean());
  ASSERT_TRUE(r.value->Find("splitCursor")->is_string());
  // The split cursor ends a half page.
  FunctionResult half = List({{"numItems", F(8)}, {"cursor", Value::Null()},
                              {"endCursor", *r.value->Find("splitCursor")}});
  EXPECT_THAT(Ns(half), ::testing::ElementsAre(9, 8));
  FunctionResult rest = List({{"numItems", F(8)}, {"cursor", *r.value->Find("continueCursor")}});
  EXPECT_THAT(Ns(rest), ::testing::ElementsAre(5, 4, 3, 2, 1, 0));
}

}  // namespace
}  // namespace cvx
