// Index range rules and filter evaluation through a real Query over a memory database:
// every range error with Convex's text, every filter operator and EvalError, terminals.

#include "engine/base/status_macros.h"
#include "functions/context.h"
#include "functions/query.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;
using ::testing::ElementsAre;

class QueryRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDb();
    ASSERT_OK(db_->SetIndexes("t", {{"by_a_b", {"a", "b"}}, {"by_nested", {"n.x"}}}));
    auto txn = db_->Begin();
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 3; ++b) {
        ASSERT_OK(txn->Insert("t", {{"a", F(a)}, {"b", F(b)}, {"i", I(a * 3 + b)},
                                    {"n", Obj({{"x", F(b)}})}}).status());
      }
    }
    ASSERT_OK(txn->Insert("t", {{"b", F(9)}, {"i", I(100)}}).status());  // no "a"
    ASSERT_OK(txn->Commit());
    txn_ = db_->Begin();
  }
  Query Q() { return Query(txn_.get(), &state_, "t"); }
  static std::vector<int64_t> Is(const std::vector<Value>& docs) {
    std::vector<int64_t> out;
    for (const Value& d : docs) out.push_back(d.Find("i")->int64());
    return out;
  }
  absl::StatusOr<std::vector<Value>> Range(std::function<void(IndexRangeBuilder&)> r,
                                           std::string index = "by_a_b") {
    return Q().WithIndex(index, r).Collect();
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<Transaction> txn_;
  ExecutionState state_{Limits(), 0, 1};
};

TEST_F(QueryRulesTest, ValidRanges) {
  ASSERT_OK_AND_ASSIGN(auto r, Range([](auto& q) { q.Eq("a", F(1)); }));
  EXPECT_THAT(Is(r), ElementsAre(3, 4, 5));
  ASSERT_OK_AND_ASSIGN(r, Range([](auto& q) { q.Eq("a", F(1)).Gt("b", F(0)).Lte("b", F(2)); }));
  EXPECT_THAT(Is(r), ElementsAre(4, 5));
  ASSERT_OK_AND_ASSIGN(r, Range([](auto& q) { q.Gte("a", F(1)).Lt("a", F(2)); }));
  EXPECT_THAT(Is(r), ElementsAre(3, 4, 5));
  ASSERT_OK_AND_ASSIGN(r, Range([](auto& q) { q.Eq("a", std::nullopt); }));
  EXPECT_THAT(Is(r), ElementsAre(100));
  ASSERT_OK_AND_ASSIGN(r, Range([](auto& q) { q.Eq("n.x", F(2)); }, "by_nested"));
  EXPECT_THAT(Is(r), ElementsAre(2, 5, 8));
  ASSERT_OK_AND_ASSIGN(r, Q().WithIndex("by_a_b", [](auto& q) { q.Eq("a", F(2)); }).Order(Order::kDesc).Collect());
  EXPECT_THAT(Is(r), ElementsAre(8, 7, 6));
  // _creationTime bounds on by_creation_time; _id equality on by_id.
  ASSERT_OK_AND_ASSIGN(auto all, Q().Collect());
  double third = all[2].Find("_creationTime")->float64();
  ASSERT_OK_AND_ASSIGN(r, Range([&](auto& q) { q.Lte("_creationTime", F(third)); }, "by_creation_time"));
  EXPECT_EQ(r.size(), 3u);
  ASSERT_OK_AND_ASSIGN(r, Range([&](auto& q) { q.Eq("_id", *all[4].Find("_id")); }, "by_id"));
  EXPECT_THAT(Is(r), ElementsAre(Is(all)[4]));
}

TEST_F(QueryRulesTest, RangeErrorsHaveConvexTagsAndTexts) {
  EXPECT_THAT(Range([](auto& q) { q.Eq("zzz", F(1)); }),
              StatusIs(absl::StatusCode::kInvalidArgument, "FieldNotInIndex"));
  auto r = Range([](auto& q) { q.Eq("zzz", F(1)); });
  EXPECT_EQ(r.status().message(),
            "The index range included a comparison with \"zzz\", but t.by_a_b with fields [\"a\", "
            "\"b\", \"_creationTime\"] doesn't index this field. For more information see "
            "https://docs.convex.dev/using/indexes.");
  r = Range([](auto& q) { q.Eq("b", F(1)); });
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexRange"));
  EXPECT_EQ(r.status().message(),
            "Tried to query index t.by_a_b but the query didn't use the index fields in order.\n"
            "Index fields: [\"a\", \"b\", \"_creationTime\"]\nQuery fields: [\"b\"]\n"
            "First incorrect field: \"b\"\nFor more information see "
            "https://docs.convex.dev/using/indexes.");
  r = Range([](auto& q) { q.Gt("a", F(0)).Lt("b", F(1)); });
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "BoundsOnMultipleFields"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("attempted to set a range bound on both \"a\" and \"b\""));
  r = Range([](auto& q) { q.Gt("a", F(0)).Gte("a", F(1)); });
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "AlreadyDefinedBound"));
  EXPECT_EQ(r.status().message(), "Already defined lower bound in index range. Can't add \"a\" >= 1.0.");
  r = Range([](auto& q) { q.Lt("a", F(0)).Lte("a", F(1)); });
  EXPECT_EQ(r.status().message(), "Already defined upper bound in index range. Can't add \"a\" <= 1.0.");
  r = Range([](auto& q) { q.Eq("a", F(0)).Eq("a", F(1)); });
  EXPECT_EQ(r.status().message(), "Already defined equality bound in index range. Can't add \"a\" == 0.0.");
  r = Range([](auto& q) { q.Eq("a", F(0)).Gt("a", F(1)); });
  EXPECT_EQ(r.status().message(), "Already defined inequality bound in index range. Can't add \"a\" == 0.0.");
  EXPECT_THAT(Range([](auto& q) { q.Eq("a", F(0)); }, "nope"),
              StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  EXPECT_THAT(Q().Order(Order::kAsc).Order(Order::kDesc).Collect(),
              StatusIs(absl::StatusCode::kInvalidArgument, "OrderAlreadySet"));
}

absl::StatusOr<std::optional<Value>> Eval(const Expr& e) {
  return e.Evaluate(Obj({{"f", F(2.5)}, {"i", I(7)}, {"s", Str("x")}, {"o", Obj({{"p", I(1)}})}}));
}

TEST(FilterTest, Operators) {
  using namespace q;  // NOLINT
  auto is = [](const Expr& e, const Value& expected) {
    auto v = Eval(e);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ(**v, expected);
  };
  is(Field("o.p"), I(1));
  EXPECT_FALSE(Eval(Field("missing"))->has_value());
  EXPECT_FALSE(Eval(Field("o.p.q"))->has_value());
  is(Eq(Field("i"), Literal(I(7))), Value::Boolean(true));
  is(Eq(Field("i"), Literal(F(7))), Value::Boolean(false));  // int64 != float64
  is(Neq(Field("s"), Literal(Str("y"))), Value::Boolean(true));
  is(Lt(Field("missing"), Literal(Value::Null())), Value::Boolean(true));  // undefined first
  is(Eq(Field("missing"), Literal(std::nullopt)), Value::Boolean(true));
  is(Gt(Field("s"), Field("f")), Value::Boolean(true));  // string > float64 in the total order
  is(Lte(Field("f"), Literal(F(2.5))), Value::Boolean(true));
  is(Gte(Field("i"), Literal(I(8))), Value::Boolean(false));
  is(Add(Field("i"), Literal(I(3))), I(10));
  is(Sub(Field("f"), Literal(F(0.5))), F(2));
  is(Mul(Field("i"), Literal(I(-2))), I(-14));
  is(Div(Field("i"), Literal(I(2))), I(3));
  is(Mod(Field("i"), Literal(I(4))), I(3));
  is(Div(Field("f"), Literal(F(0))), F(INFINITY));
  is(Neg(Field("i")), I(-7));
  is(Not(Eq(Field("i"), Literal(I(7)))), Value::Boolean(false));
  is(And({Literal(Value::Boolean(true)), Eq(Field("s"), Literal(Str("x")))}), Value::Boolean(true));
  // Short circuit: the erroring operand is never evaluated.
  is(Or({Literal(Value::Boolean(true)), Add(Field("s"), Field("s"))}), Value::Boolean(true));
  is(And({Literal(Value::Boolean(false)), Add(Field("s"), Field("s"))}), Value::Boolean(false));
}

TEST(FilterTest, EvalErrors) {
  using namespace q;  // NOLINT
  for (const Expr& e : {Add(Field("i"), Field("f")), Add(Literal(I(INT64_MAX)), Literal(I(1))),
                        Mul(Literal(I(INT64_MAX)), Literal(I(2))), Neg(Literal(I(INT64_MIN))),
                        Div(Field("i"), Literal(I(0))), Mod(Field("i"), Literal(I(0))),
                        Not(Field("i")), And({Field("s")}), Or({Literal(Value::Boolean(false)), Field("i")}),
                        Neg(Field("s")), Add(Field("missing"), Literal(I(1)))}) {
    EXPECT_THAT(Eval(e), StatusIs(absl::StatusCode::kInvalidArgument, "EvalError"));
  }
}

TEST_F(QueryRulesTest, FiltersAndTerminals) {
  ASSERT_OK_AND_ASSIGN(auto r, Q().Filter(q::Eq(q::Field("b"), q::Literal(F(1)))).Collect());
  EXPECT_THAT(Is(r), ElementsAre(1, 4, 7));
  ASSERT_OK_AND_ASSIGN(r, Q().Filter(q::Gt(q::Field("i"), q::Literal(I(2)))).Take(2));
  EXPECT_THAT(Is(r), ElementsAre(3, 4));
  ASSERT_OK_AND_ASSIGN(r, Q().Take(0));
  EXPECT_TRUE(r.empty());
  ASSERT_OK_AND_ASSIGN(auto first, Q().Filter(q::Eq(q::Field("i"), q::Literal(I(5)))).First());
  EXPECT_EQ(first->Find("i")->int64(), 5);
  ASSERT_OK_AND_ASSIGN(first, Q().Filter(q::Eq(q::Field("i"), q::Literal(I(-1)))).First());
  EXPECT_FALSE(first.has_value());
  ASSERT_OK_AND_ASSIGN(auto unique, Q().Filter(q::Eq(q::Field("i"), q::Literal(I(5)))).Unique());
  EXPECT_TRUE(unique.has_value());
  auto two = Q().WithIndex("by_a_b", [](auto& q) { q.Eq("a", F(0)); }).Unique();
  EXPECT_THAT(two, StatusIs(absl::StatusCode::kInvalidArgument, "UniqueQueryReturnedMultiple"));
  EXPECT_THAT(std::string(two.status().message()), ::testing::StartsWith("unique() query returned more than one result from table t:\n ["));
  // A filter that is not boolean is an EvalError.
  EXPECT_THAT(Q().Filter(q::Field("i")).Collect(), StatusIs(absl::StatusCode::kInvalidArgument, "EvalError"));
}

TEST_F(QueryRulesTest, ScannedRowsCountTowardLimits) {
  Limits limits;
  limits.max_documents_read = 5;
  ExecutionState small(limits, 0, 1);
  auto r = Query(txn_.get(), &small, "t").Filter(q::Eq(q::Field("i"), q::Literal(I(100)))).Collect();
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "TooManyDocumentsRead"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith("Too many documents read in a single function execution (limit: 5)."));
}

}  // namespace
}  // namespace cvx
