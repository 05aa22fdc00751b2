// ctx.db.query end to end: real handlers registered on an App and run by a Runner over a
// memory database. Index ranges (every clause kind, _creationTime/_id, undefined, order,
// Convex's total order), every range error with its code, tag and Convex's text, filter
// expressions and their EvalErrors, terminal operations, read limits, system tables and
// normalizeId, and serializable index-range reads under concurrent mutations.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/context.h"
#include "functions/query.h"
#include "functions/runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::Arr;
using ::cvx::testing::Bits;
using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kIndexDocs[] = "For more information see https://docs.convex.dev/using/indexes.";
constexpr char kOverLimitHelp[] =
    "Consider using smaller limits in your queries, paginating your queries, or using indexed "
    "queries with a selective index range expressions.";

Value B(bool b) { return Value::Boolean(b); }
Value Bytes(std::string s) { return Value::Bytes(std::move(s)); }
constexpr double kInf = std::numeric_limits<double>::infinity();

// Builds a query from the handler's db (e.g. `db.Query("t").WithIndex(...)`).
using Build = std::function<cvx::Query(DatabaseReader&)>;
using Range = std::function<void(IndexRangeBuilder&)>;

std::vector<int64_t> SeqOf(const std::vector<Value>& docs) {
  std::vector<int64_t> out;
  for (const Value& d : docs) {
    const Value* s = d.Find("seq");
    out.push_back(s != nullptr && s->is_int64() ? s->int64() : -1000);
  }
  return out;
}

std::vector<std::string> LabelsOf(const std::vector<Value>& docs) {
  std::vector<std::string> out;
  for (const Value& d : docs) {
    const Value* s = d.Find("label");
    out.push_back(s != nullptr && s->is_string() ? s->string() : "?");
  }
  return out;
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb();
    ASSERT_NE(db_, nullptr);
    app_.SetSchema(DefineSchema()
                       .Table("items", DefineTable(v::Any())
                                           .Index("by_k", {"k"})
                                           .Index("by_k_n", {"k", "n"})
                                           .Index("by_meta_x", {"meta.x"}))
                       .Table("mixed", DefineTable(v::Any()).Index("by_v", {"v"}))
                       .Table("other", DefineTable(v::Any()))
                       .Table("bulk", DefineTable(v::Any()))
                       .Table("race", DefineTable(v::Any()).Index("by_k", {"k"})));
    app_.Query("t:q", std::nullopt, [this](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
      return query_body_(ctx);
    });
    app_.Mutation("t:m", std::nullopt,
                  [this](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                    return mutation_body_(ctx);
                  });
    // The function the scheduler test schedules (never run here).
    app_.InternalMutation("file:fn", std::nullopt,
                          [](MutationCtx&, const Object&) -> absl::StatusOr<Value> {
                            return Value::Null();
                          });
    // Counts the rows with k == "a" through an index range, then inserts one more with
    // that count as its sequence number. Serializable execution numbers them 0, 1, 2, ...
    app_.Mutation("race:add", std::nullopt,
                  [this](MutationCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                    CVX_ASSIGN_OR_RETURN(
                        std::vector<Value> rows,
                        ctx.db()
                            .Query("race")
                            .WithIndex("by_k", [](IndexRangeBuilder& q) { q.Eq("k", Str("a")); })
                            .Collect());
                    int64_t seq = static_cast<int64_t>(rows.size());
                    // The first four executions wait for each other after reading, so they
                    // all read the same snapshot and at least three must conflict.
                    if (race_gate_.fetch_add(1) < 4) {
                      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
                      while (race_gate_.load() < 4 && std::chrono::steady_clock::now() < deadline) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(1));
                      }
                    }
                    CVX_RETURN_IF_ERROR(
                        ctx.db().Insert("race", {{"k", Str("a")}, {"seq", I(seq)}}).status());
                    return I(seq);
                  });
    ASSERT_OK(ApplySchema(*db_, app_.schema()));
    runner_ = std::make_unique<Runner>(&app_, db_.get());
  }

  // Runs `body` as the handler of the query t:q.
  FunctionResult RunQuery(std::function<absl::StatusOr<Value>(QueryCtx&)> body,
                          Runner* runner = nullptr) {
    query_body_ = std::move(body);
    auto r = (runner != nullptr ? runner : runner_.get())->Run("t:q", Obj({}));
    EXPECT_OK(r);
    return r.ok() ? *std::move(r) : FunctionResult{};
  }
  // Runs `body` as the handler of the mutation t:m.
  FunctionResult RunMutation(std::function<absl::StatusOr<Value>(MutationCtx&)> body) {
    mutation_body_ = std::move(body);
    auto r = runner_->Run("t:m", Obj({}));
    EXPECT_OK(r);
    return r.ok() ? *std::move(r) : FunctionResult{};
  }

  // Inserts `rows` into `table` in one mutation, in order; returns their ids.
  std::vector<std::string> InsertRows(const std::string& table, const std::vector<Object>& rows) {
    std::vector<std::string> ids;
    FunctionResult r = RunMutation([&](MutationCtx& ctx) -> absl::StatusOr<Value> {
      ids.clear();
      for (const Object& row : rows) {
        CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert(table, row));
        ids.push_back(id);
      }
      return Value::Null();
    });
    EXPECT_TRUE(r.ok()) << r.error->message;
    return ids;
  }

  // Runs build(db).Collect() inside a query handler; the handler itself succeeds.
  absl::StatusOr<std::vector<Value>> Collect(const Build& build) {
    absl::StatusOr<std::vector<Value>> out = absl::InternalError("handler did not run");
    FunctionResult r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
      out = build(ctx.db()).Collect();
      return Value::Null();
    });
    EXPECT_TRUE(r.ok()) << r.error->message;
    return out;
  }
  // The "seq" fields of build(db).Collect(); {-1} (and a failure) on an error.
  std::vector<int64_t> Seqs(const Build& build) {
    absl::StatusOr<std::vector<Value>> docs = Collect(build);
    if (!docs.ok()) {
      ADD_FAILURE() << "query failed: " << docs.status();
      return {-1};
    }
    return SeqOf(*docs);
  }
  std::vector<int64_t> Items(const std::string& index, Range range, Order order = Order::kAsc) {
    return Seqs([&](DatabaseReader& db) {
      return db.Query("items").WithIndex(index, range).Order(order);
    });
  }
  static std::string Msg(const absl::Status& s) { return std::string(s.message()); }
  absl::Status ItemsError(const std::string& index, Range range) {
    return Collect([&](DatabaseReader& db) { return db.Query("items").WithIndex(index, range); })
        .status();
  }

  //  seq  k      n     meta
  //   0   "a"    1     {x: 1}
  //   1   "a"    3     {x: 1}
  //   2   "a"    2     {x: 1}
  //   3   "b"    2     {x: 2}
  //   4   "b"    1
  //   5   "c"    5
  //   6   (none) 4
  //   7   "b"    3
  // by_k_n ascending: 6, 0, 2, 1, 4, 3, 7, 5.
  void SeedItems() {
    item_ids_ = InsertRows(
        "items", {{{"seq", I(0)}, {"k", Str("a")}, {"n", I(1)}, {"meta", Obj({{"x", I(1)}})}},
                  {{"seq", I(1)}, {"k", Str("a")}, {"n", I(3)}, {"meta", Obj({{"x", I(1)}})}},
                  {{"seq", I(2)}, {"k", Str("a")}, {"n", I(2)}, {"meta", Obj({{"x", I(1)}})}},
                  {{"seq", I(3)}, {"k", Str("b")}, {"n", I(2)}, {"meta", Obj({{"x", I(2)}})}},
                  {{"seq", I(4)}, {"k", Str("b")}, {"n", I(1)}},
                  {{"seq", I(5)}, {"k", Str("c")}, {"n", I(5)}},
                  {{"seq", I(6)}, {"n", I(4)}},
                  {{"seq", I(7)}, {"k", Str("b")}, {"n", I(3)}}});
    ASSERT_EQ(item_ids_.size(), 8u);
  }

  std::unique_ptr<Database> db_;
  App app_;
  std::unique_ptr<Runner> runner_;
  std::function<absl::StatusOr<Value>(QueryCtx&)> query_body_;
  std::function<absl::StatusOr<Value>(MutationCtx&)> mutation_body_;
  std::atomic<int> race_gate_{0};
  std::vector<std::string> item_ids_;
};

// --- withIndex ranges ---

TEST_F(QueryTest, EqualityOnOneAndTwoFields) {
  SeedItems();
  auto eq_k = [](Value k) { return [k](IndexRangeBuilder& q) { q.Eq("k", k); }; };
  // Equal keys come back in _creationTime order (the index's next field) on by_k...
  EXPECT_THAT(Items("by_k", eq_k(Str("a"))), ElementsAre(0, 1, 2));
  EXPECT_THAT(Items("by_k", eq_k(Str("b"))), ElementsAre(3, 4, 7));
  EXPECT_THAT(Items("by_k", eq_k(Str("zz"))), IsEmpty());
  // ... and in n order on by_k_n.
  EXPECT_THAT(Items("by_k_n", eq_k(Str("a"))), ElementsAre(0, 2, 1));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("b")).Eq("n", I(2)); }), ElementsAre(3));
  // Equalities may be given in any order: they are sorted by index position.
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("n", I(2)).Eq("k", Str("b")); }), ElementsAre(3));
  // Typed: int64 2 is not float64 2.0.
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Eq("n", F(2)); }), IsEmpty());
  // A dotted index field.
  EXPECT_THAT(Items("by_meta_x", [](auto& q) { q.Eq("meta.x", I(1)); }), ElementsAre(0, 1, 2));
  EXPECT_THAT(Items("by_meta_x", [](auto& q) { q.Eq("meta.x", I(2)); }), ElementsAre(3));
}

TEST_F(QueryTest, BoundsAfterAnEqualityPrefix) {
  SeedItems();
  auto b = [](std::function<void(IndexRangeBuilder&)> bounds) {
    return [bounds](IndexRangeBuilder& q) {
      q.Eq("k", Str("b"));
      bounds(q);
    };
  };
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Gt("n", I(1)); })), ElementsAre(3, 7));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Gte("n", I(2)); })), ElementsAre(3, 7));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Gte("n", I(1)); })), ElementsAre(4, 3, 7));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Lt("n", I(3)); })), ElementsAre(4, 3));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Lte("n", I(2)); })), ElementsAre(4, 3));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Lte("n", I(3)); })), ElementsAre(4, 3, 7));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Lt("n", I(1)); })), IsEmpty());
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Gt("n", I(3)); })), IsEmpty());
  // Both bounds on the same field, in either order.
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("n", I(1)).Lte("n", I(3)); }),
              ElementsAre(2, 1));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Lt("n", I(3)).Gte("n", I(1)); }),
              ElementsAre(0, 2));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("n", I(1)).Lt("n", I(2)); }),
              IsEmpty());
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gte("n", I(2)).Lte("n", I(2)); }),
              ElementsAre(2));
  // The bound's value sorts by Convex's total order: every float64 is above every int64.
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Lt("n", F(-1000)); })), ElementsAre(4, 3, 7));
  EXPECT_THAT(Items("by_k_n", b([](auto& q) { q.Gt("n", F(-1000)); })), IsEmpty());
}

TEST_F(QueryTest, BoundsOnTheFirstField) {
  SeedItems();
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gt("k", Str("a")); }), ElementsAre(3, 4, 7, 5));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gte("k", Str("b")).Lt("k", Str("c")); }),
              ElementsAre(3, 4, 7));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gt("k", Str("b")); }), ElementsAre(5));
  // Without a lower bound the range starts at undefined (missing fields sort first).
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Lte("k", Str("a")); }), ElementsAre(6, 0, 1, 2));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Lt("k", Str("a")); }), ElementsAre(6));
  // A lower bound excludes undefined; every string is above every number.
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gt("k", I(1000000)); }),
              ElementsAre(0, 1, 2, 3, 4, 7, 5));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gte("k", Value::Null()); }),
              ElementsAre(0, 1, 2, 3, 4, 7, 5));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Lt("k", Str("")); }), ElementsAre(6));
  // Descending.
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Gt("k", Str("a")); }, Order::kDesc),
              ElementsAre(5, 7, 4, 3));
}

TEST_F(QueryTest, UndefinedEqualityMatchesMissingFields) {
  SeedItems();
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Eq("k", std::nullopt); }), ElementsAre(6));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", std::nullopt).Eq("n", I(4)); }),
              ElementsAre(6));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", std::nullopt).Eq("n", I(5)); }), IsEmpty());
  EXPECT_THAT(Items("by_meta_x", [](auto& q) { q.Eq("meta.x", std::nullopt); }),
              ElementsAre(4, 5, 6, 7));
  // null is not undefined.
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Eq("k", Value::Null()); }), IsEmpty());
}

TEST_F(QueryTest, OrderAscDescAndDefaults) {
  SeedItems();
  // No index: by_creation_time, ascending.
  EXPECT_THAT(Seqs([](DatabaseReader& db) { return db.Query("items"); }),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(Seqs([](DatabaseReader& db) { return db.Query("items").Order(Order::kDesc); }),
              ElementsAre(7, 6, 5, 4, 3, 2, 1, 0));
  EXPECT_THAT(Seqs([](DatabaseReader& db) { return db.Query("items").Order(Order::kAsc); }),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  // An index without a range: the whole index, in index order.
  EXPECT_THAT(Items("by_k_n", nullptr), ElementsAre(6, 0, 2, 1, 4, 3, 7, 5));
  EXPECT_THAT(Items("by_k_n", nullptr, Order::kDesc), ElementsAre(5, 7, 3, 4, 1, 2, 0, 6));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("a")); }, Order::kDesc),
              ElementsAre(1, 2, 0));
  EXPECT_THAT(Items("by_k_n", [](auto& q) { q.Eq("k", Str("b")).Gte("n", I(2)); }, Order::kDesc),
              ElementsAre(7, 3));
  // Order may come before withIndex, as in the builder's call order it is still one order.
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Order(Order::kDesc).WithIndex(
                    "by_k", [](auto& q) { q.Eq("k", Str("a")); });
              }),
              ElementsAre(2, 1, 0));
}

TEST_F(QueryTest, CreationTimeAndIdRanges) {
  SeedItems();
  ASSERT_OK_AND_ASSIGN(std::vector<Value> all,
                       Collect([](DatabaseReader& db) { return db.Query("items"); }));
  ASSERT_EQ(all.size(), 8u);
  std::vector<double> ct;
  for (const Value& d : all) ct.push_back(d.Find("_creationTime")->float64());
  for (size_t i = 1; i < ct.size(); ++i) ASSERT_LT(ct[i - 1], ct[i]);
  auto c = [&](size_t i) { return F(ct[i]); };
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Gt("_creationTime", c(2)).Lte("_creationTime", c(5)); }),
              ElementsAre(3, 4, 5));
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Gte("_creationTime", c(2)).Lt("_creationTime", c(5)); }),
              ElementsAre(2, 3, 4));
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Eq("_creationTime", c(4)); }),
              ElementsAre(4));
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Gt("_creationTime", c(5)); }, Order::kDesc),
              ElementsAre(7, 6));
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Lt("_creationTime", c(0)); }), IsEmpty());
  // _creationTime as the field after a user index's declared fields.
  EXPECT_THAT(Items("by_k", [&](auto& q) { q.Eq("k", Str("b")).Gt("_creationTime", c(3)); }),
              ElementsAre(4, 7));
  EXPECT_THAT(Items("by_k_n", [&](auto& q) {
                q.Eq("k", Str("a")).Eq("n", I(3)).Lte("_creationTime", c(1));
              }),
              ElementsAre(1));
  // _id equality on by_id, and as the tiebreak after _creationTime.
  for (size_t i = 0; i < item_ids_.size(); ++i) {
    std::string id = item_ids_[i];
    EXPECT_THAT(Items("by_id", [id](auto& q) { q.Eq("_id", Str(id)); }),
                ElementsAre(static_cast<int64_t>(i)));
  }
  std::string id5 = item_ids_[5];
  EXPECT_THAT(Items("by_creation_time", [&](auto& q) { q.Eq("_creationTime", c(5)).Eq("_id", Str(id5)); }),
              ElementsAre(5));
  // A full by_id scan returns every document exactly once.
  std::vector<int64_t> by_id = Items("by_id", nullptr);
  std::sort(by_id.begin(), by_id.end());
  EXPECT_THAT(by_id, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
}

// Every kind of value in one index: Convex's total order.
TEST_F(QueryTest, ResultsFollowConvexTotalOrder) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Entry {
    std::string label;
    std::optional<Value> v;
  };
  const std::vector<Entry> sorted = {
      {"undefined", std::nullopt},
      {"null", Value::Null()},
      {"i-3", I(-3)},
      {"i10", I(10)},
      {"imax", I(INT64_MAX)},
      {"f-inf", F(-kInf)},
      {"f-1", F(-1)},
      {"f-0", F(-0.0)},
      {"f+0", F(0.0)},
      {"f10", F(10)},
      {"f+inf", F(kInf)},
      {"fnan", F(nan)},
      {"false", B(false)},
      {"true", B(true)},
      {"s-empty", Str("")},
      {"s-B", Str("B")},
      {"s-a", Str("a")},
      {"s-ab", Str("ab")},
      {"s-U+FF61", Str("\xEF\xBD\xA1")},        // UTF-16 would put this after the emoji
      {"s-U+1F600", Str("\xF0\x9F\x98\x80")},
      {"bytes-00", Bytes(std::string(1, '\0'))},
      {"bytes-ff", Bytes("\xff")},
      {"arr-empty", Arr({})},
      {"arr-1", Arr({I(1)})},
      {"arr-1-2", Arr({I(1), I(2)})},
      {"arr-2", Arr({I(2)})},
      {"obj-empty", Obj({})},
      {"obj-a1", Obj({{"a", I(1)}})},
      {"obj-b0", Obj({{"b", I(0)}})},
  };
  const size_t n = sorted.size();  // 29, coprime with 7: (i * 7) % n is a permutation
  std::vector<Object> rows;
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = sorted[(i * 7) % n];
    Object row{{"label", Str(e.label)}};
    if (e.v) row["v"] = *e.v;
    rows.push_back(row);
  }
  ASSERT_EQ(InsertRows("mixed", rows).size(), n);
  std::vector<std::string> expected;
  for (const Entry& e : sorted) expected.push_back(e.label);
  auto labels = [&](Range range, Order order = Order::kAsc) {
    absl::StatusOr<std::vector<Value>> docs = Collect([&](DatabaseReader& db) {
      return db.Query("mixed").WithIndex("by_v", range).Order(order);
    });
    EXPECT_OK(docs);
    return docs.ok() ? LabelsOf(*docs) : std::vector<std::string>{"<error>"};
  };
  EXPECT_THAT(labels(nullptr), ElementsAreArray(expected));
  std::vector<std::string> reversed(expected.rbegin(), expected.rend());
  EXPECT_THAT(labels(nullptr, Order::kDesc), ElementsAreArray(reversed));
  // Ranges cut the same order.
  EXPECT_THAT(labels([](auto& q) { q.Lt("v", F(-kInf)); }),
              ElementsAre("undefined", "null", "i-3", "i10", "imax"));
  EXPECT_THAT(labels([](auto& q) { q.Gte("v", Str("")).Lt("v", Bytes("")); }),
              ElementsAre("s-empty", "s-B", "s-a", "s-ab", "s-U+FF61", "s-U+1F600"));
  EXPECT_THAT(labels([](auto& q) { q.Gt("v", F(kInf)).Lte("v", B(true)); }),
              ElementsAre("fnan", "false", "true"));
  EXPECT_THAT(labels([](auto& q) { q.Gte("v", Arr({I(1)})).Lt("v", Obj({})); }),
              ElementsAre("arr-1", "arr-1-2", "arr-2"));
  // Equality is typed and bitwise for floats: -0 is not +0, NaN equals NaN.
  EXPECT_THAT(labels([](auto& q) { q.Eq("v", F(-0.0)); }), ElementsAre("f-0"));
  EXPECT_THAT(labels([](auto& q) { q.Eq("v", F(0.0)); }), ElementsAre("f+0"));
  EXPECT_THAT(labels([](auto& q) { q.Eq("v", I(10)); }), ElementsAre("i10"));
  EXPECT_THAT(labels([](auto& q) { q.Eq("v", F(10)); }), ElementsAre("f10"));
  EXPECT_THAT(labels([&](auto& q) { q.Eq("v", F(nan)); }), ElementsAre("fnan"));
  EXPECT_THAT(labels([](auto& q) { q.Eq("v", std::nullopt); }), ElementsAre("undefined"));
  // Filters compare with the same order (undefined first).
  absl::StatusOr<std::vector<Value>> filtered = Collect([](DatabaseReader& db) {
    return db.Query("mixed").WithIndex("by_v").Filter(
        q::And({q::Gte(q::Field("v"), q::Literal(F(-kInf))),
                q::Lt(q::Field("v"), q::Literal(B(false)))}));
  });
  ASSERT_OK(filtered);
  EXPECT_THAT(LabelsOf(*filtered), ElementsAre("f-inf", "f-1", "f-0", "f+0", "f10", "f+inf", "fnan"));
  filtered = Collect([](DatabaseReader& db) {
    return db.Query("mixed").WithIndex("by_v").Filter(
        q::Lt(q::Field("v"), q::Literal(Value::Null())));
  });
  ASSERT_OK(filtered);
  EXPECT_THAT(LabelsOf(*filtered), ElementsAre("undefined"));
}

// --- range errors ---

TEST_F(QueryTest, RangeErrorsHaveConvexCodesAndTags) {
  SeedItems();
  const auto kBad = absl::StatusCode::kInvalidArgument;
  // FieldNotInIndex: a field the index does not have, in an equality or a bound.
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("zzz", I(1)); }),
              StatusIs(kBad, "FieldNotInIndex"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("zzz", I(1)); }),
              StatusIs(kBad, "FieldNotInIndex"));
  EXPECT_THAT(ItemsError("by_creation_time", [](auto& q) { q.Eq("k", Str("a")); }),
              StatusIs(kBad, "FieldNotInIndex"));
  EXPECT_THAT(ItemsError("by_id", [](auto& q) { q.Eq("_creationTime", F(1)); }),
              StatusIs(kBad, "FieldNotInIndex"));
  EXPECT_THAT(ItemsError("by_meta_x", [](auto& q) { q.Eq("meta", Obj({{"x", I(1)}})); }),
              StatusIs(kBad, "FieldNotInIndex"));
  // InvalidIndexRange: skipping the first field, skipping a middle field, or a bound
  // before an equality in index order.
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("n", I(1)); }),
              StatusIs(kBad, "InvalidIndexRange"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("_creationTime", F(0)); }),
              StatusIs(kBad, "InvalidIndexRange"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Gt("k", Str("a")).Eq("n", I(1)); }),
              StatusIs(kBad, "InvalidIndexRange"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Lt("n", I(1)); }),
              StatusIs(kBad, "InvalidIndexRange"));
  EXPECT_THAT(ItemsError("by_creation_time", [](auto& q) { q.Eq("_id", Str("x")); }),
              StatusIs(kBad, "InvalidIndexRange"));
  // BoundsOnMultipleFields.
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Gt("k", Str("a")).Lt("n", I(1)); }),
              StatusIs(kBad, "BoundsOnMultipleFields"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gte("n", I(1)).Lt("_creationTime", F(5)); }),
              StatusIs(kBad, "BoundsOnMultipleFields"));
  // AlreadyDefinedBound: lower twice, upper twice, equality twice, equality + bound.
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("n", I(1)).Gte("n", I(2)); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Lt("n", I(3)).Lte("n", I(4)); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k", [](auto& q) { q.Eq("k", Str("a")).Eq("k", Str("b")); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k", [](auto& q) { q.Eq("k", Str("a")).Eq("k", Str("a")); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k", [](auto& q) { q.Eq("k", Str("a")).Gt("k", Str("0")); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k", [](auto& q) { q.Lte("k", Str("z")).Eq("k", Str("a")); }),
              StatusIs(kBad, "AlreadyDefinedBound"));
  // IndexNotFound, with or without a range.
  EXPECT_THAT(ItemsError("nope", [](auto& q) { q.Eq("k", Str("a")); }),
              StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  EXPECT_THAT(ItemsError("nope", nullptr), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  // An index of another table is not this table's.
  EXPECT_THAT(ItemsError("by_v", nullptr), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  // Order twice.
  absl::Status twice = Collect([](DatabaseReader& db) {
                         return db.Query("items").Order(Order::kAsc).Order(Order::kDesc);
                       }).status();
  EXPECT_THAT(twice, StatusIs(kBad, "OrderAlreadySet"));
  EXPECT_EQ(Msg(twice), "Queries may only specify order at most once");
  // Ranges that are fine: every permutation of equalities on a prefix, plus one bound.
  EXPECT_OK(ItemsError("by_k_n", [](auto& q) { q.Gt("n", I(0)).Eq("k", Str("a")); }));
  EXPECT_OK(ItemsError("by_k_n", [](auto& q) {
    q.Eq("n", I(1)).Eq("k", Str("a")).Gt("_creationTime", F(0)).Lt("_creationTime", F(1e15));
  }));
}

TEST_F(QueryTest, RangeErrorSurfacesAsTheFunctionError) {
  SeedItems();
  FunctionResult r = RunQuery([](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_RETURN_IF_ERROR(ctx.db().Query("items").WithIndex("by_k_n", [](auto& q) {
      q.Gt("k", Str("a")).Lt("n", I(1));
    }).Collect().status());
    return Value::Null();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message,
            "Uncaught Error: Upper and lower bounds in `range` can only be applied to a single "
            "index field. This query against index items.by_k_n attempted to set a range bound "
            "on both \"k\" and \"n\". Consider using `filter` instead. See "
            "https://docs.convex.dev/using/indexes for more info.");
}

// Convex's exact texts (crates/common/src/query.rs): field paths print quoted ("a"), the
// index's field list is IndexedFields' Display (declared fields plus _creationTime, without
// the implicit trailing _id), and an equality plus a bound on one field reports the
// equality after all clauses were read.
TEST_F(QueryTest, RangeErrorTextsMatchConvex) {
  SeedItems();
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("zzz", I(1)); })),
            absl::StrCat("The index range included a comparison with \"zzz\", but items.by_k_n "
                         "with fields [\"k\", \"n\", \"_creationTime\"] doesn't index this field. ",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_creation_time", [](auto& q) { q.Lt("k", Str("a")); })),
            absl::StrCat("The index range included a comparison with \"k\", but "
                         "items.by_creation_time with fields [\"_creationTime\"] doesn't index "
                         "this field. ",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_id", [](auto& q) { q.Eq("_creationTime", F(1)); })),
            absl::StrCat("The index range included a comparison with \"_creationTime\", but "
                         "items.by_id with fields [] doesn't index this field. ",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("n", I(1)); })),
            absl::StrCat("Tried to query index items.by_k_n but the query didn't use the index "
                         "fields in order.\nIndex fields: [\"k\", \"n\", \"_creationTime\"]\n"
                         "Query fields: [\"n\"]\nFirst incorrect field: \"n\"\n",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Gt("k", Str("a")).Eq("n", I(1)); })),
            absl::StrCat("Tried to query index items.by_k_n but the query didn't use the index "
                         "fields in order.\nIndex fields: [\"k\", \"n\", \"_creationTime\"]\n"
                         "Query fields: [\"n\", \"k\"]\nFirst incorrect field: \"n\"\n",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("_creationTime", F(0)); })),
            absl::StrCat("Tried to query index items.by_k_n but the query didn't use the index "
                         "fields in order.\nIndex fields: [\"k\", \"n\", \"_creationTime\"]\n"
                         "Query fields: [\"k\", \"_creationTime\"]\nFirst incorrect field: "
                         "\"_creationTime\"\n",
                         kIndexDocs));
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gte("n", I(1)).Lt("_creationTime", F(5)); })),
            "Upper and lower bounds in `range` can only be applied to a single index field. This "
            "query against index items.by_k_n attempted to set a range bound on both \"n\" and "
            "\"_creationTime\". Consider using `filter` instead. See "
            "https://docs.convex.dev/using/indexes for more info.");
  // AlreadyDefinedBound: the new clause for bounds, the value already there for equality.
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("n", I(1)).Gte("n", I(2)); })),
            "Already defined lower bound in index range. Can't add \"n\" >= 2.");
  EXPECT_EQ(Msg(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Lt("n", I(3)).Lte("n", F(4)); })),
            "Already defined upper bound in index range. Can't add \"n\" <= 4.0.");
  EXPECT_EQ(Msg(ItemsError("by_k", [](auto& q) { q.Eq("k", Str("a")).Eq("k", Str("b")); })),
            "Already defined equality bound in index range. Can't add \"k\" == \"a\".");
  EXPECT_EQ(Msg(ItemsError("by_k", [](auto& q) { q.Eq("k", Str("a")).Gt("k", Str("0")); })),
            "Already defined inequality bound in index range. Can't add \"k\" == \"a\".");
  EXPECT_EQ(Msg(ItemsError("by_k", [](auto& q) { q.Lte("k", Str("z")).Eq("k", Str("a")); })),
            "Already defined inequality bound in index range. Can't add \"k\" == \"a\".");
}

// Convex checks the clauses themselves (IndexRange::split: repeated bounds, bounds on two
// fields, equality + bound) before it looks at the index's fields (compile).
TEST_F(QueryTest, RangeErrorPrecedenceMatchesConvex) {
  SeedItems();
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("zzz", I(1)).Eq("zzz", I(2)); }),
              StatusIs(absl::StatusCode::kInvalidArgument, "AlreadyDefinedBound"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Gt("k", Str("a")).Lt("zzz", I(1)); }),
              StatusIs(absl::StatusCode::kInvalidArgument, "BoundsOnMultipleFields"));
  EXPECT_THAT(ItemsError("by_k_n", [](auto& q) { q.Eq("k", Str("a")).Gt("k", Str("0")).Lt("n", I(1)); }),
              StatusIs(absl::StatusCode::kInvalidArgument, "BoundsOnMultipleFields"));
}

// --- filter expressions ---

// A document as Convex shows it to a filter.
const Value& Doc() {
  static const Value doc = Obj({{"_id", Str("someid")},
                                {"i", I(7)},
                                {"f", F(2.5)},
                                {"s", Str("x")},
                                {"t", B(true)},
                                {"nul", Value::Null()},
                                {"arr", Arr({I(1), I(2)})},
                                {"meta", Obj({{"x", I(5)}, {"deep", Obj({{"y", Str("z")}})}})}});
  return doc;
}

absl::StatusOr<std::optional<Value>> Ev(const Expr& e) { return e.Evaluate(Doc()); }

// Evaluates to `expected` (a value, not undefined).
void ExpectValue(const Expr& e, const Value& expected, int line) {
  SCOPED_TRACE(::testing::Message() << "expression at line " << line);
  absl::StatusOr<std::optional<Value>> v = Ev(e);
  ASSERT_OK(v);
  ASSERT_TRUE(v->has_value()) << "undefined";
  EXPECT_EQ(**v, expected);
  if (expected.is_float64() && (*v)->is_float64()) {
    EXPECT_EQ(Bits((*v)->float64()), Bits(expected.float64()));
  }
}
#define EXPECT_EVAL(e, expected) ExpectValue((e), (expected), __LINE__)
#define EXPECT_EVAL_TRUE(e) ExpectValue((e), B(true), __LINE__)
#define EXPECT_EVAL_FALSE(e) ExpectValue((e), B(false), __LINE__)
#define EXPECT_EVAL_ERROR(e) \
  EXPECT_THAT(Ev(e), StatusIs(absl::StatusCode::kInvalidArgument, "EvalError"))

TEST(FilterExprTest, FieldAndLiteral) {
  using namespace q;  // NOLINT
  EXPECT_EVAL(Field("i"), I(7));
  EXPECT_EVAL(Field("_id"), Str("someid"));
  EXPECT_EVAL(Field("meta.x"), I(5));
  EXPECT_EVAL(Field("meta.deep.y"), Str("z"));
  EXPECT_EVAL(Field("meta"), Obj({{"x", I(5)}, {"deep", Obj({{"y", Str("z")}})}}));
  EXPECT_EVAL(Field("nul"), Value::Null());
  for (const char* missing : {"missing", "meta.nope", "meta.x.y", "i.x", "arr.0", "meta.deep.y.z"}) {
    absl::StatusOr<std::optional<Value>> v = Ev(Field(missing));
    ASSERT_OK(v);
    EXPECT_FALSE(v->has_value()) << missing;
  }
  EXPECT_EVAL(Literal(Arr({I(1), Str("a")})), Arr({I(1), Str("a")}));
  absl::StatusOr<std::optional<Value>> undef = Ev(Literal(std::nullopt));
  ASSERT_OK(undef);
  EXPECT_FALSE(undef->has_value());
}

TEST(FilterExprTest, ComparisonsUseTheTotalOrder) {
  using namespace q;  // NOLINT
  auto L = [](std::optional<Value> v) { return Literal(std::move(v)); };
  EXPECT_EVAL_TRUE(Eq(Field("i"), L(I(7))));
  EXPECT_EVAL_FALSE(Eq(Field("i"), L(F(7))));  // 7n != 7
  EXPECT_EVAL_TRUE(Neq(Field("i"), L(F(7))));
  EXPECT_EVAL_FALSE(Neq(Field("s"), L(Str("x"))));
  EXPECT_EVAL_TRUE(Lt(L(I(1000)), L(F(-1000))));  // int64 < float64 whatever the values
  EXPECT_EVAL_TRUE(Gt(L(F(-kInf)), L(I(INT64_MAX))));
  EXPECT_EVAL_TRUE(Lt(L(Value::Null()), L(I(INT64_MIN))));
  EXPECT_EVAL_TRUE(Lt(L(F(kInf)), L(B(false))));
  EXPECT_EVAL_TRUE(Lt(L(B(false)), L(B(true))));
  EXPECT_EVAL_TRUE(Lt(L(B(true)), L(Str(""))));
  EXPECT_EVAL_TRUE(Lt(L(Str("\xff")), L(Bytes(""))));
  EXPECT_EVAL_TRUE(Lt(L(Bytes("\xff\xff")), L(Arr({}))));
  EXPECT_EVAL_TRUE(Lt(L(Arr({I(9), I(9)})), L(Obj({}))));
  // Undefined sorts first, below null, and equals only undefined.
  EXPECT_EVAL_TRUE(Lt(Field("missing"), L(Value::Null())));
  EXPECT_EVAL_TRUE(Lte(Field("missing"), L(std::nullopt)));
  EXPECT_EVAL_TRUE(Eq(Field("missing"), L(std::nullopt)));
  EXPECT_EVAL_TRUE(Eq(Field("missing"), Field("meta.nope")));
  EXPECT_EVAL_FALSE(Eq(Field("nul"), L(std::nullopt)));
  EXPECT_EVAL_TRUE(Gt(Field("nul"), Field("missing")));
  EXPECT_EVAL_FALSE(Gte(Field("missing"), L(Value::Null())));
  // Floats: IEEE total order; -0 < +0; NaN above +inf and equal to itself.
  EXPECT_EVAL_TRUE(Lt(L(F(-0.0)), L(F(0.0))));
  EXPECT_EVAL_FALSE(Eq(L(F(-0.0)), L(F(0.0))));
  EXPECT_EVAL_TRUE(Gt(L(F(std::nan(""))), L(F(kInf))));
  EXPECT_EVAL_TRUE(Eq(L(F(std::nan(""))), L(F(std::nan("")))));
  // Strings bytewise (UTF-8), not UTF-16: U+FF61 < U+1F600.
  EXPECT_EVAL_TRUE(Lt(L(Str("\xEF\xBD\xA1")), L(Str("\xF0\x9F\x98\x80"))));
  EXPECT_EVAL_TRUE(Lt(L(Str("B")), L(Str("a"))));
  EXPECT_EVAL_TRUE(Lt(L(Str("a")), L(Str("ab"))));
  // Arrays lexicographic, a prefix first; objects by sorted (name, value).
  EXPECT_EVAL_TRUE(Lt(L(Arr({I(1)})), L(Arr({I(1), I(0)}))));
  EXPECT_EVAL_TRUE(Lt(L(Arr({I(1), I(5)})), L(Arr({I(2)}))));
  EXPECT_EVAL_TRUE(Lt(L(Obj({{"a", I(9)}})), L(Obj({{"b", I(0)}}))));
  EXPECT_EVAL_TRUE(Eq(Field("arr"), L(Arr({I(1), I(2)}))));
  // Every comparison operator, both ways.
  EXPECT_EVAL_TRUE(Lt(Field("i"), L(I(8))));
  EXPECT_EVAL_FALSE(Lt(Field("i"), L(I(7))));
  EXPECT_EVAL_TRUE(Lte(Field("i"), L(I(7))));
  EXPECT_EVAL_FALSE(Lte(Field("i"), L(I(6))));
  EXPECT_EVAL_TRUE(Gt(Field("f"), L(F(2.25))));
  EXPECT_EVAL_FALSE(Gt(Field("f"), L(F(2.5))));
  EXPECT_EVAL_TRUE(Gte(Field("f"), L(F(2.5))));
  EXPECT_EVAL_FALSE(Gte(Field("f"), L(F(2.75))));
}

TEST(FilterExprTest, Arithmetic) {
  using namespace q;  // NOLINT
  auto L = [](Value v) { return Literal(std::move(v)); };
  EXPECT_EVAL(Add(Field("i"), L(I(3))), I(10));
  EXPECT_EVAL(Sub(Field("i"), L(I(10))), I(-3));
  EXPECT_EVAL(Mul(Field("i"), L(I(-2))), I(-14));
  EXPECT_EVAL(Div(L(I(7)), L(I(2))), I(3));
  EXPECT_EVAL(Div(L(I(-7)), L(I(2))), I(-3));  // truncates toward zero
  EXPECT_EVAL(Mod(L(I(7)), L(I(4))), I(3));
  EXPECT_EVAL(Mod(L(I(-7)), L(I(2))), I(-1));  // sign of the dividend
  EXPECT_EVAL(Add(L(I(INT64_MAX - 1)), L(I(1))), I(INT64_MAX));
  EXPECT_EVAL(Sub(L(I(INT64_MIN + 1)), L(I(1))), I(INT64_MIN));
  EXPECT_EVAL(Add(Field("f"), L(F(0.25))), F(2.75));
  EXPECT_EVAL(Sub(Field("f"), L(F(0.5))), F(2.0));
  EXPECT_EVAL(Mul(Field("f"), L(F(-2))), F(-5.0));
  EXPECT_EVAL(Div(Field("f"), L(F(2))), F(1.25));
  EXPECT_EVAL(Div(L(F(1)), L(F(0))), F(kInf));  // floats divide by zero like JS
  EXPECT_EVAL(Div(L(F(-1)), L(F(0))), F(-kInf));
  EXPECT_EVAL(Mod(L(F(5.5)), L(F(2))), F(1.5));
  EXPECT_EVAL(Mod(L(F(-5.5)), L(F(2))), F(-1.5));
  EXPECT_EVAL(Neg(Field("i")), I(-7));
  EXPECT_EVAL(Neg(L(I(INT64_MAX))), I(-INT64_MAX));
  EXPECT_EVAL(Neg(Field("f")), F(-2.5));
  EXPECT_EVAL(Neg(L(F(0.0))), F(-0.0));
  // Arithmetic composes with comparisons.
  EXPECT_EVAL_TRUE(Eq(Mod(Field("i"), L(I(2))), L(I(1))));
  EXPECT_EVAL_TRUE(Gt(Mul(Field("f"), L(F(4))), L(F(9.5))));
}

TEST(FilterExprTest, NotAndOrWithShortCircuit) {
  using namespace q;  // NOLINT
  auto T = [] { return Literal(B(true)); };
  auto Fl = [] { return Literal(B(false)); };
  auto Err = [] { return Add(Literal(I(1)), Literal(F(1))); };  // EvalError when evaluated
  EXPECT_EVAL_FALSE(Not(T()));
  EXPECT_EVAL_TRUE(Not(Eq(Field("i"), Literal(I(8)))));
  EXPECT_EVAL_TRUE(And({T(), T(), Eq(Field("s"), Literal(Str("x")))}));
  EXPECT_EVAL_FALSE(And({T(), Fl(), T()}));
  EXPECT_EVAL_TRUE(Or({Fl(), Fl(), T()}));
  EXPECT_EVAL_FALSE(Or({Fl(), Fl()}));
  EXPECT_EVAL_TRUE(And({T()}));
  EXPECT_EVAL_FALSE(Or({Fl()}));
  // Short circuit: operands after the deciding one are never evaluated.
  EXPECT_EVAL_TRUE(Or({T(), Err()}));
  EXPECT_EVAL_TRUE(Or({Fl(), T(), Err(), Literal(I(1))}));
  EXPECT_EVAL_FALSE(And({Fl(), Err()}));
  EXPECT_EVAL_FALSE(And({T(), Fl(), Literal(Str("not a bool"))}));
  EXPECT_EVAL_TRUE(Or({T(), Literal(std::nullopt)}));
  // ... but the ones before it are, left to right.
  EXPECT_EVAL_ERROR(Or({Fl(), Err()}));
  EXPECT_EVAL_ERROR(And({T(), Err()}));
  EXPECT_EVAL_ERROR(And({Err(), Fl()}));
  EXPECT_EVAL_ERROR(Or({Err(), T()}));
}

TEST(FilterExprTest, EvalErrors) {
  using namespace q;  // NOLINT
  auto L = [](std::optional<Value> v) { return Literal(std::move(v)); };
  // Mixing int64 and float64, or non-numbers.
  EXPECT_EVAL_ERROR(Add(Field("i"), Field("f")));
  EXPECT_EVAL_ERROR(Sub(L(F(1)), L(I(1))));
  EXPECT_EVAL_ERROR(Mul(L(I(2)), L(F(2))));
  EXPECT_EVAL_ERROR(Div(L(F(2)), L(I(2))));
  EXPECT_EVAL_ERROR(Mod(L(I(2)), L(F(2))));
  EXPECT_EVAL_ERROR(Add(Field("s"), Field("s")));
  EXPECT_EVAL_ERROR(Add(Field("missing"), L(I(1))));
  EXPECT_EVAL_ERROR(Add(L(Value::Null()), L(I(1))));
  EXPECT_EVAL_ERROR(Neg(Field("s")));
  EXPECT_EVAL_ERROR(Neg(Field("missing")));
  // int64 overflow.
  EXPECT_EVAL_ERROR(Add(L(I(INT64_MAX)), L(I(1))));
  EXPECT_EVAL_ERROR(Add(L(I(INT64_MIN)), L(I(-1))));
  EXPECT_EVAL_ERROR(Sub(L(I(INT64_MIN)), L(I(1))));
  EXPECT_EVAL_ERROR(Mul(L(I(INT64_MAX)), L(I(2))));
  EXPECT_EVAL_ERROR(Mul(L(I(INT64_MIN)), L(I(-1))));
  EXPECT_EVAL_ERROR(Div(L(I(INT64_MIN)), L(I(-1))));
  EXPECT_EVAL_ERROR(Neg(L(I(INT64_MIN))));
  // int64 division and modulo by zero.
  EXPECT_EVAL_ERROR(Div(Field("i"), L(I(0))));
  EXPECT_EVAL_ERROR(Mod(Field("i"), L(I(0))));
  EXPECT_EVAL_ERROR(Div(L(I(0)), L(I(0))));
  // Non-boolean operands of Not/And/Or (undefined and null included).
  EXPECT_EVAL_ERROR(Not(Field("i")));
  EXPECT_EVAL_ERROR(Not(Field("missing")));
  EXPECT_EVAL_ERROR(Not(L(Value::Null())));
  EXPECT_EVAL_ERROR(And({Field("s")}));
  EXPECT_EVAL_ERROR(And({L(B(true)), L(I(1))}));
  EXPECT_EVAL_ERROR(Or({L(B(false)), Field("missing")}));
  EXPECT_EVAL_ERROR(Or({L(Str("true"))}));
  // Errors propagate through comparisons and arithmetic.
  EXPECT_EVAL_ERROR(Eq(Add(L(I(1)), L(F(1))), L(I(2))));
  EXPECT_EVAL_ERROR(Neg(Add(L(I(INT64_MAX)), L(I(1)))));
  EXPECT_EVAL_ERROR(Not(Div(L(I(1)), L(I(0)))));
}

TEST_F(QueryTest, FiltersRunOverIndexRanges) {
  SeedItems();
  using namespace q;  // NOLINT
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(Eq(Field("k"), Literal(Str("b"))));
              }),
              ElementsAre(3, 4, 7));
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items")
                    .WithIndex("by_k", [](auto& r) { r.Eq("k", Str("b")); })
                    .Filter(Gt(Field("n"), Literal(I(1))));
              }),
              ElementsAre(3, 7));
  // Several filters all apply; a dotted path; undefined fields.
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items")
                    .Filter(Eq(Field("meta.x"), Literal(I(1))))
                    .Filter(Neq(Field("n"), Literal(I(3))))
                    .Order(Order::kDesc);
              }),
              ElementsAre(2, 0));
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(Eq(Field("k"), Literal(std::nullopt)));
              }),
              ElementsAre(6));
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(
                    Or({Eq(Field("k"), Literal(Str("c"))),
                        And({Eq(Field("k"), Literal(Str("a"))),
                             Eq(Mod(Field("n"), Literal(I(2))), Literal(I(0)))})}));
              }),
              ElementsAre(2, 5));
  // The system fields are visible to filters.
  std::string id4 = item_ids_[4];
  EXPECT_THAT(Seqs([&](DatabaseReader& db) {
                return db.Query("items").Filter(Eq(Field("_id"), Literal(Str(id4))));
              }),
              ElementsAre(4));
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(Gt(Field("_creationTime"), Literal(F(0))));
              }),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  // Short circuit per document: the row with n == 4 never divides by n - 4 == 0.
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(
                    Or({Eq(Field("n"), Literal(I(4))),
                        Eq(Div(Literal(I(1)), Sub(Field("n"), Literal(I(4)))), Literal(I(0)))}));
              }),
              ElementsAre(0, 2, 3, 4, 6));
  EXPECT_THAT(Seqs([](DatabaseReader& db) {
                return db.Query("items").Filter(
                    And({Neq(Field("k"), Literal(std::nullopt)),
                         Eq(Add(Field("n"), Literal(I(1))), Literal(I(2)))}));
              }),
              ElementsAre(0, 4));
}

TEST_F(QueryTest, FilterErrorsFailTheQuery) {
  SeedItems();
  using namespace q;  // NOLINT
  auto err = [&](Expr e) {
    return Collect([e](DatabaseReader& db) { return db.Query("items").Filter(e); }).status();
  };
  const auto kBad = absl::StatusCode::kInvalidArgument;
  // A filter whose value is not a boolean.
  EXPECT_THAT(err(Field("n")), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Field("missing")), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Literal(std::nullopt)), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Literal(Value::Null())), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Add(Field("n"), Literal(I(1)))), StatusIs(kBad, "EvalError"));
  // Evaluation errors inside the filter.
  EXPECT_THAT(err(Eq(Add(Field("n"), Literal(F(1))), Literal(F(2)))), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Eq(Div(Field("n"), Literal(I(0))), Literal(I(0)))), StatusIs(kBad, "EvalError"));
  EXPECT_THAT(err(Not(Field("n"))), StatusIs(kBad, "EvalError"));
  // Only a row that reaches the bad operand fails: row 6 (k missing, n == 4).
  EXPECT_THAT(err(Or({Neq(Field("k"), Literal(std::nullopt)), Field("n")})),
              StatusIs(kBad, "EvalError"));
  EXPECT_OK(err(Or({Gte(Field("seq"), Literal(I(0))), Field("n")})));
  // Without the short circuit in front, row 6 divides by zero.
  EXPECT_THAT(err(Or({Eq(Div(Literal(I(1)), Sub(Field("n"), Literal(I(4)))), Literal(I(0))),
                      Eq(Field("n"), Literal(I(4)))})),
              StatusIs(kBad, "EvalError"));
  // As the function's error.
  FunctionResult r = RunQuery([](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_RETURN_IF_ERROR(ctx.db().Query("items").Filter(Field("n")).Collect().status());
    return Value::Null();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error->message, StartsWith("Uncaught Error: EvalError"));
}

// --- terminal operations ---

TEST_F(QueryTest, CollectTakeFirst) {
  SeedItems();
  using namespace q;  // NOLINT
  std::vector<int64_t> take0, take3, take_filtered, take_more;
  std::optional<Value> first_empty, first, first_desc;
  FunctionResult r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("items").Take(0));
    take0 = SeqOf(docs);
    CVX_ASSIGN_OR_RETURN(docs, ctx.db().Query("items").Take(3));
    take3 = SeqOf(docs);
    // n >= 2: rows 1, 2, 3, 5, 6, 7; the filter skips rows 0 and 4.
    CVX_ASSIGN_OR_RETURN(docs, ctx.db().Query("items").Filter(Gte(Field("n"), Literal(I(2)))).Take(4));
    take_filtered = SeqOf(docs);
    CVX_ASSIGN_OR_RETURN(docs, ctx.db().Query("items").Take(100));
    take_more = SeqOf(docs);
    CVX_ASSIGN_OR_RETURN(first_empty,
                         ctx.db().Query("items").Filter(Eq(Field("k"), Literal(Str("zz")))).First());
    CVX_ASSIGN_OR_RETURN(first, ctx.db().Query("items").WithIndex("by_k_n", [](auto& q) {
      q.Eq("k", Str("b"));
    }).First());
    CVX_ASSIGN_OR_RETURN(first_desc, ctx.db().Query("items").Order(Order::kDesc).First());
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_THAT(take0, IsEmpty());
  EXPECT_THAT(take3, ElementsAre(0, 1, 2));
  EXPECT_THAT(take_filtered, ElementsAre(1, 2, 3, 5));
  EXPECT_THAT(take_more, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_FALSE(first_empty.has_value());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first->Find("seq"), I(4));  // (b, 1)
  EXPECT_EQ(*first->Find("_id"), Str(item_ids_[4]));
  ASSERT_TRUE(first_desc.has_value());
  EXPECT_EQ(*first_desc->Find("seq"), I(7));
}

TEST_F(QueryTest, TakeWithASelectiveFilterOverManyRows) {
  std::vector<Object> rows;
  for (int i = 0; i < 300; ++i) rows.push_back({{"seq", I(i)}});
  ASSERT_EQ(InsertRows("bulk", rows).size(), 300u);
  using namespace q;  // NOLINT
  auto every_100th = Eq(Mod(Field("seq"), Literal(I(100))), Literal(I(99)));
  EXPECT_THAT(Seqs([&](DatabaseReader& db) { return db.Query("bulk").Filter(every_100th); }),
              ElementsAre(99, 199, 299));
  std::vector<int64_t> two, desc;
  FunctionResult r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("bulk").Filter(every_100th).Take(2));
    two = SeqOf(docs);
    CVX_ASSIGN_OR_RETURN(docs, ctx.db().Query("bulk").Order(Order::kDesc).Filter(every_100th).Take(2));
    desc = SeqOf(docs);
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_THAT(two, ElementsAre(99, 199));
  EXPECT_THAT(desc, ElementsAre(299, 199));
  // Everything, with a filter that keeps all rows: each exactly once, in order.
  std::vector<int64_t> all = Seqs([](DatabaseReader& db) {
    return db.Query("bulk").Filter(Gte(Field("seq"), Literal(I(0))));
  });
  ASSERT_EQ(all.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(all[i], i);
}

TEST_F(QueryTest, Unique) {
  SeedItems();
  std::optional<Value> none, one;
  absl::Status two;
  FunctionResult r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(none, ctx.db().Query("items").WithIndex("by_k", [](auto& q) {
      q.Eq("k", Str("zz"));
    }).Unique());
    CVX_ASSIGN_OR_RETURN(one, ctx.db().Query("items").WithIndex("by_k", [](auto& q) {
      q.Eq("k", Str("c"));
    }).Unique());
    two = ctx.db().Query("items").WithIndex("by_k", [](auto& q) { q.Eq("k", Str("b")); })
              .Unique().status();
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_FALSE(none.has_value());
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one->Find("seq"), I(5));
  // The first two matches in scan order (rows 3 and 4 of k == "b").
  const std::string expected = absl::StrCat(
      "unique() query returned more than one result from table items:\n [", item_ids_[3], ", ",
      item_ids_[4], ", ...]");
  EXPECT_FALSE(two.ok());
  EXPECT_EQ(Msg(two), expected);
  // Uncaught, it is the function's error.
  r = RunQuery([](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_RETURN_IF_ERROR(ctx.db().Query("items").Order(Order::kDesc).Unique().status());
    return Value::Null();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message,
            absl::StrCat("Uncaught Error: unique() query returned more than one result from "
                         "table items:\n [",
                         item_ids_[7], ", ", item_ids_[6], ", ...]"));
}

TEST_F(QueryTest, MutationQueriesSeeTheirOwnWrites) {
  SeedItems();
  std::vector<int64_t> seen;
  FunctionResult r = RunMutation([&](MutationCtx& ctx) -> absl::StatusOr<Value> {
    CVX_RETURN_IF_ERROR(ctx.db().Insert("items", {{"seq", I(8)}, {"k", Str("c")}, {"n", I(0)}}).status());
    CVX_RETURN_IF_ERROR(ctx.db().Delete(item_ids_[5]));
    CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("items").WithIndex("by_k_n", [](auto& q) {
      q.Eq("k", Str("c"));
    }).Collect());
    seen = SeqOf(docs);
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_THAT(seen, ElementsAre(8));
  EXPECT_THAT(Items("by_k", [](auto& q) { q.Eq("k", Str("c")); }), ElementsAre(8));
}

// --- reads count toward limits ---

TEST_F(QueryTest, ReadsCountTowardLimits) {
  std::vector<Object> rows;
  for (int i = 0; i < 20; ++i) rows.push_back({{"seq", I(i)}});
  ASSERT_EQ(InsertRows("bulk", rows).size(), 20u);
  RunnerOptions options;
  options.limits.max_documents_read = 10;
  Runner limited(&app_, db_.get(), options);
  const std::string expected =
      absl::StrCat("Uncaught Error: Too many documents read in a single function execution "
                   "(limit: 10). ",
                   kOverLimitHelp);

  // Collecting 20 documents.
  absl::Status seen;
  FunctionResult r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        absl::StatusOr<std::vector<Value>> docs = ctx.db().Query("bulk").Collect();
        seen = docs.status();
        CVX_RETURN_IF_ERROR(docs.status());
        return Value::Null();
      },
      &limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, expected);
  EXPECT_THAT(seen, StatusIs(absl::StatusCode::kInvalidArgument, "TooManyDocumentsRead"));

  // The handler ignoring the error does not help: the execution is poisoned.
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        (void)ctx.db().Query("bulk").Collect();
        return Value::Null();
      },
      &limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, expected);

  // A filter that rejects every row: the scanned rows still count.
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("bulk").Filter(q::Eq(
                                            q::Field("seq"), q::Literal(I(-1)))).Collect());
        return Value::FromArray(Array(docs.begin(), docs.end()));
      },
      &limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, expected);

  // First() of a row that is the 16th scanned.
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        CVX_ASSIGN_OR_RETURN(auto doc, ctx.db().Query("bulk").Filter(q::Eq(
                                           q::Field("seq"), q::Literal(I(15)))).First());
        return doc.value_or(Value::Null());
      },
      &limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, expected);

  // Within the limit: take(n) reads only n rows; ten reads are allowed; several queries add up.
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("bulk").Take(5));
        CVX_ASSIGN_OR_RETURN(auto more, ctx.db().Query("bulk").Order(Order::kDesc).Take(5));
        return I(static_cast<int64_t>(docs.size() + more.size()));
      },
      &limited);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, I(10));
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        CVX_RETURN_IF_ERROR(ctx.db().Query("bulk").Take(6).status());
        CVX_RETURN_IF_ERROR(ctx.db().Query("bulk").Take(5).status());
        return Value::Null();
      },
      &limited);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, expected);
  // An index range that reads only what it needs stays under the limit.
  r = RunQuery(
      [&](QueryCtx& ctx) -> absl::StatusOr<Value> {
        CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("bulk").WithIndex("by_creation_time").Order(Order::kDesc).Take(10));
        return I(static_cast<int64_t>(docs.size()));
      },
      &limited);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, I(10));
  // The default runner (limit 32000) reads all 20.
  EXPECT_EQ(Seqs([](DatabaseReader& db) { return db.Query("bulk"); }).size(), 20u);
}

// --- system tables ---

TEST_F(QueryTest, SystemTablesNeedDbSystem) {
  SeedItems();
  double now = 0;
  std::string job_id;
  FunctionResult r = RunMutation([&](MutationCtx& ctx) -> absl::StatusOr<Value> {
    now = ctx.Now();
    CVX_ASSIGN_OR_RETURN(job_id, ctx.scheduler().RunAfter(
                                     1500, "file:fn", {{"x", I(1)}, {"y", Str("z")}}));
    // A mutation's db is no more privileged than a query's.
    absl::Status denied = ctx.db().Query("_scheduled_functions").Collect().status();
    EXPECT_THAT(denied, StatusIs(absl::StatusCode::kInvalidArgument, "SystemTableAccess"));
    return Value::String(job_id);
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  ASSERT_FALSE(job_id.empty());

  absl::Status denied, wrong_side, get_denied;
  std::vector<Value> jobs, ranged;
  std::optional<Value> got;
  r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
    denied = ctx.db().Query("_scheduled_functions").Collect().status();
    wrong_side = ctx.db().System().Query("items").Collect().status();
    get_denied = ctx.db().Get(job_id).status();
    CVX_ASSIGN_OR_RETURN(jobs, ctx.db().System().Query("_scheduled_functions").Collect());
    CVX_ASSIGN_OR_RETURN(ranged, ctx.db().System().Query("_scheduled_functions")
                                     .WithIndex("by_creation_time", [](auto& q) {
                                       q.Gt("_creationTime", F(0));
                                     })
                                     .Order(Order::kDesc)
                                     .Collect());
    CVX_ASSIGN_OR_RETURN(got, ctx.db().System().Get(job_id));
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kInvalidArgument, "SystemTableAccess"));
  EXPECT_EQ(Msg(denied),
            "System table \"_scheduled_functions\" can only be read with db.system");
  EXPECT_THAT(wrong_side, StatusIs(absl::StatusCode::kInvalidArgument, "SystemTableAccess"));
  EXPECT_THAT(get_denied, StatusIs(absl::StatusCode::kInvalidArgument, "SystemTableAccess"));

  ASSERT_EQ(jobs.size(), 1u);
  const Value& job = jobs[0];
  EXPECT_EQ(*job.Find("_id"), Str(job_id));
  EXPECT_EQ(*job.Find("name"), Str("file.js:fn"));
  EXPECT_EQ(*job.Find("args"), Arr({Obj({{"x", I(1)}, {"y", Str("z")}})}));
  EXPECT_EQ(*job.Find("scheduledTime"), F(now + 1500));
  EXPECT_EQ(*job.Find("state"), Obj({{"kind", Str("pending")}}));
  ASSERT_NE(job.Find("_creationTime"), nullptr);
  EXPECT_TRUE(job.Find("_creationTime")->is_float64());
  std::vector<std::string> keys;
  for (const auto& [k, unused] : job.object()) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("_creationTime", "_id", "args", "name", "scheduledTime", "state"));
  EXPECT_EQ(ranged, jobs);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, job);
  // Uncaught, the access error is the function's error.
  r = RunQuery([](QueryCtx& ctx) -> absl::StatusOr<Value> {
    CVX_RETURN_IF_ERROR(ctx.db().Query("_scheduled_functions").Collect().status());
    return Value::Null();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message,
            "Uncaught Error: System table \"_scheduled_functions\" can only be read with db.system");
}

TEST_F(QueryTest, NormalizeId) {
  SeedItems();
  std::vector<std::string> others = InsertRows("other", {{{"seq", I(100)}}});
  ASSERT_EQ(others.size(), 1u);
  const std::string item = item_ids_[0];
  const std::string other = others[0];
  std::vector<std::optional<std::string>> got;
  FunctionResult r = RunQuery([&](QueryCtx& ctx) -> absl::StatusOr<Value> {
    DatabaseReader& db = ctx.db();
    got = {db.NormalizeId("items", item),
           db.NormalizeId("other", other),
           db.NormalizeId("other", item),
           db.NormalizeId("items", other),
           db.NormalizeId("items", "garbage"),
           db.NormalizeId("items", ""),
           db.NormalizeId("items", item.substr(0, item.size() - 1)),
           db.NormalizeId("items", absl::AsciiStrToUpper(item)),
           db.NormalizeId("no_such_table", item),
           db.NormalizeId("_scheduled_functions", item)};
    return Value::Null();
  });
  ASSERT_TRUE(r.ok()) << r.error->message;
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0], std::optional<std::string>(item));
  EXPECT_EQ(got[1], std::optional<std::string>(other));
  for (size_t i = 2; i < got.size(); ++i) {
    EXPECT_FALSE(got[i].has_value()) << "case " << i << " gave " << *got[i];
  }
}

// --- concurrency ---

TEST_F(QueryTest, RacingMutationsOnOneIndexRangeAreSerializable) {
  // Rows outside the range do not count.
  InsertRows("race", {{{"k", Str("b")}, {"seq", I(-1)}}, {{"k", Str("")}, {"seq", I(-1)}}});
  RunnerOptions options;
  options.max_occ_retries = 1000;  // "eventually succeeds"
  options.occ_initial_backoff = absl::Milliseconds(1);
  options.occ_max_backoff = absl::Milliseconds(20);
  Runner runner(&app_, db_.get(), options);
  constexpr int kThreads = 4, kIterations = 25;
  std::mutex mu;
  std::vector<int64_t> returned;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        absl::StatusOr<FunctionResult> r = runner.Run("race:add", Obj({}));
        std::lock_guard<std::mutex> lock(mu);
        if (!r.ok()) {
          failures.push_back(r.status().ToString());
        } else if (!r->ok()) {
          failures.push_back(r->error->message);
        } else {
          returned.push_back(r->value->int64());
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(failures, IsEmpty());
  EXPECT_GE(runner.total_occ_retries(), 3u);  // the gated first round alone forces three
  std::vector<int64_t> expected(kThreads * kIterations);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i);
  std::sort(returned.begin(), returned.end());
  EXPECT_EQ(returned, expected);
  // What was committed: exactly 0..99, no duplicates.
  absl::StatusOr<std::vector<Value>> rows = Collect([](DatabaseReader& db) {
    return db.Query("race").WithIndex("by_k", [](auto& q) { q.Eq("k", Str("a")); });
  });
  ASSERT_OK(rows);
  std::vector<int64_t> stored = SeqOf(*rows);
  // Index order within k == "a" is _creationTime order, i.e. commit order: 0, 1, 2, ...
  EXPECT_EQ(stored, expected);
  std::set<int64_t> distinct(stored.begin(), stored.end());
  EXPECT_EQ(distinct.size(), stored.size());
}

}  // namespace
}  // namespace cvx
