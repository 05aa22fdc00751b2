// Single-threaded behaviour of Database and Transaction: CRUD, own-write visibility,
// indexes and range scans, conflicts, catalog, durability across reopen, retention.

#include "engine/database.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/transaction.h"
#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"

namespace cvx {
namespace {

using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;
using ::testing::ElementsAre;

Object Fields(std::initializer_list<std::pair<const std::string, Value>> init) {
  return Object(init);
}

std::vector<double> Numbers(const ScanResult& r, const std::string& field) {
  std::vector<double> out;
  for (const Document& d : r.documents) {
    auto it = d.fields.find(field);
    out.push_back(it == d.fields.end() ? -1 : it->second.float64());
  }
  return out;
}

TEST(DatabaseTest, InsertGetReplaceDelete) {
  auto db = OpenTestDb();
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId id, txn->Insert("users", Fields({{"name", Value::String("ada")}})));
  EXPECT_EQ(id.table_number, kFirstUserTableNumber);
  ASSERT_OK_AND_ASSIGN(auto own, txn->Get(id));
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->fields.at("name").string(), "ada");
  ASSERT_OK(txn->Commit());
  EXPECT_GT(txn->commit_ts(), 0u);
  EXPECT_EQ(db->LatestTs(), txn->commit_ts());

  auto t2 = db->Begin();
  ASSERT_OK_AND_ASSIGN(auto got, t2->Get(id));
  ASSERT_TRUE(got.has_value());
  Value v = got->ToValue();
  EXPECT_EQ(v.Find("_id")->string(), id.Encode());
  EXPECT_TRUE(v.Find("_creationTime")->is_float64());
  ASSERT_OK(t2->Replace(id, Fields({{"name", Value::String("grace")}})));
  ASSERT_OK(t2->Commit());

  auto t3 = db->Begin();
  ASSERT_OK_AND_ASSIGN(got, t3->Get(id));
  EXPECT_EQ(got->fields.at("name").string(), "grace");
  EXPECT_EQ(got->fields.size(), 1u);
  ASSERT_OK(t3->Delete(id));
  ASSERT_OK_AND_ASSIGN(got, t3->Get(id));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK(t3->Commit());

  auto t4 = db->Begin();
  ASSERT_OK_AND_ASSIGN(got, t4->Get(id));
  EXPECT_FALSE(got.has_value());
  EXPECT_THAT(t4->Delete(id), StatusIs(absl::StatusCode::kNotFound, "DocumentNotFound"));
  EXPECT_THAT(t4->Replace(id, {}), StatusIs(absl::StatusCode::kNotFound, "DocumentNotFound"));
}

TEST(DatabaseTest, WritesInvisibleUntilCommitAndDroppedOnAbandon) {
  auto db = OpenTestDb();
  DocumentId id;
  {
    auto txn = db->Begin();
    ASSERT_OK_AND_ASSIGN(id, txn->Insert("t", Fields({{"x", Value::Float64(1)}})));
    auto other = db->Begin();
    ASSERT_OK_AND_ASSIGN(auto seen, other->Get(id));
    EXPECT_FALSE(seen.has_value());
    // txn is destroyed without Commit.
  }
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(auto seen, txn->Get(id));
  EXPECT_FALSE(seen.has_value());
  EXPECT_TRUE(db->TableNames().empty());  // the table creation did not leak either
}

TEST(DatabaseTest, RollbackToSavepointDropsLaterWritesOnly) {
  auto db = OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId kept, setup->Insert("t", Fields({{"v", Value::Float64(0)}})));
  ASSERT_OK(setup->Commit());

  auto txn = db->Begin();
  ASSERT_OK(txn->Replace(kept, Fields({{"v", Value::Float64(1)}})));
  ASSERT_OK_AND_ASSIGN(DocumentId before, txn->Insert("t", Fields({{"v", Value::Float64(2)}})));
  Transaction::Savepoint savepoint = txn->Save();
  // After the savepoint: a replace, a delete, an insert into a new table, a new index.
  ASSERT_OK(txn->Replace(kept, Fields({{"v", Value::Float64(9)}})));
  ASSERT_OK(txn->Delete(before));
  ASSERT_OK_AND_ASSIGN(DocumentId gone, txn->Insert("fresh", {}));
  ASSERT_OK(txn->SetIndexes("t", {IndexDefinition{"by_v", {"v"}}}));
  txn->RollbackTo(std::move(savepoint));

  ASSERT_OK_AND_ASSIGN(auto k, txn->Get(kept));
  EXPECT_EQ(k->fields.at("v").float64(), 1);
  ASSERT_OK_AND_ASSIGN(auto b, txn->Get(before));
  ASSERT_TRUE(b.has_value());
  ASSERT_OK_AND_ASSIGN(auto g, txn->Get(gone));
  EXPECT_FALSE(g.has_value());
  ScanRequest scan;
  scan.table = "t";
  ASSERT_OK_AND_ASSIGN(ScanResult all, txn->Scan(scan));
  EXPECT_THAT(Numbers(all, "v"), ElementsAre(1, 2));  // index entries rolled back too
  scan.index = "by_v";
  EXPECT_THAT(txn->Scan(scan), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  ASSERT_OK(txn->Commit());

  auto check = db->Begin();
  EXPECT_THAT(check->TableNames(), ElementsAre("t"));
  ScanRequest committed_scan;
  committed_scan.table = "t";
  ASSERT_OK_AND_ASSIGN(ScanResult committed, check->Scan(committed_scan));
  EXPECT_THAT(Numbers(committed, "v"), ElementsAre(1, 2));
}

TEST(DatabaseTest, RolledBackReadsStillConflict) {
  auto db = OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId id, setup->Insert("t", Fields({{"v", Value::Float64(0)}})));
  ASSERT_OK(setup->Commit());

  auto txn = db->Begin();
  Transaction::Savepoint savepoint = txn->Save();
  ASSERT_OK(txn->Get(id).status());
  txn->RollbackTo(std::move(savepoint));
  ASSERT_OK(txn->Insert("t", {}).status());
  auto other = db->Begin();
  ASSERT_OK(other->Replace(id, Fields({{"v", Value::Float64(1)}})));
  ASSERT_OK(other->Commit());
  EXPECT_THAT(txn->Commit(), StatusIs(absl::StatusCode::kAborted, "OccConflict"));
}

TEST(DatabaseTest, RejectsBadInput) {
  auto db = OpenTestDb();
  auto txn = db->Begin();
  EXPECT_THAT(txn->Insert("bad-name", {}), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidTableName"));
  EXPECT_THAT(txn->Insert("t", Fields({{"_secret", Value::Null()}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName"));
  EXPECT_THAT(txn->Insert("t", Fields({{"_id", Value::Null()}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName"));
  EXPECT_THAT(txn->Insert("t", Fields({{"$x", Value::Null()}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidFieldName"));
  EXPECT_THAT(txn->Insert("t", Fields({{"big", Value::String(std::string(1 << 20, 'x'))}})),
              StatusIs(absl::StatusCode::kInvalidArgument, "DocumentTooLarge"));
}

TEST(DatabaseTest, CreationTimesIncreaseWithinATransaction) {
  auto db = OpenTestDb();
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId a, txn->Insert("t", {}));
  ASSERT_OK_AND_ASSIGN(DocumentId b, txn->Insert("t", {}));
  ASSERT_OK_AND_ASSIGN(auto da, txn->Get(a));
  ASSERT_OK_AND_ASSIGN(auto db_, txn->Get(b));
  EXPECT_LT(da->creation_time, db_->creation_time);
  EXPECT_GT(da->creation_time, 1.6e12);  // ms since the epoch
}

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb();
    ASSERT_OK(db_->SetIndexes("items", {{"by_n", {"n"}}, {"by_tag_n", {"tag", "n"}}}));
    auto txn = db_->Begin();
    for (int i = 0; i < 10; ++i) {
      Object f = Fields({{"n", Value::Float64(i)}, {"tag", Value::String(i % 2 ? "odd" : "even")}});
      ASSERT_OK(txn->Insert("items", std::move(f)).status());
    }
    ASSERT_OK(txn->Insert("items", Fields({{"tag", Value::String("none")}})).status());
    ASSERT_OK(txn->Commit());
  }
  absl::StatusOr<ScanResult> Scan(const std::string& index, IndexRange range,
                                  Order order = Order::kAsc, size_t limit = SIZE_MAX) {
    auto txn = db_->Begin();
    ScanRequest r;
    r.table = "items";
    r.index = index;
    r.range = std::move(range);
    r.order = order;
    r.limit = limit;
    return txn->Scan(r);
  }
  std::unique_ptr<Database> db_;
};

TEST_F(IndexTest, FullScanInIndexOrderWithMissingFieldFirst) {
  ASSERT_OK_AND_ASSIGN(ScanResult r, Scan("by_n", {}));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_TRUE(r.done);
  ASSERT_OK_AND_ASSIGN(r, Scan("by_n", {}, Order::kDesc));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1));
}

TEST_F(IndexTest, Bounds) {
  IndexRange gt3_lte6;
  gt3_lte6.lower = IndexRange::Bound{Value::Float64(3), false};
  gt3_lte6.upper = IndexRange::Bound{Value::Float64(6), true};
  ASSERT_OK_AND_ASSIGN(ScanResult r, Scan("by_n", gt3_lte6));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(4, 5, 6));
  IndexRange gte3_lt6;
  gte3_lt6.lower = IndexRange::Bound{Value::Float64(3), true};
  gte3_lt6.upper = IndexRange::Bound{Value::Float64(6), false};
  ASSERT_OK_AND_ASSIGN(r, Scan("by_n", gte3_lt6, Order::kDesc));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(5, 4, 3));
  IndexRange undefined_only;
  undefined_only.eq.push_back(std::nullopt);
  ASSERT_OK_AND_ASSIGN(r, Scan("by_n", undefined_only));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(-1));
}

TEST_F(IndexTest, EqualityPrefixThenBound) {
  IndexRange odd_below_7;
  odd_below_7.eq.push_back(Value::String("odd"));
  odd_below_7.upper = IndexRange::Bound{Value::Float64(7), false};
  ASSERT_OK_AND_ASSIGN(ScanResult r, Scan("by_tag_n", odd_below_7));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(1, 3, 5));
  IndexRange even;
  even.eq.push_back(Value::String("even"));
  ASSERT_OK_AND_ASSIGN(r, Scan("by_tag_n", even, Order::kDesc));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(8, 6, 4, 2, 0));
  // Int64 1 is not float64 1.
  IndexRange int_one;
  int_one.eq.push_back(Value::Int64(1));
  ASSERT_OK_AND_ASSIGN(r, Scan("by_n", int_one));
  EXPECT_TRUE(r.documents.empty());
}

TEST_F(IndexTest, LimitAndContinuation) {
  std::vector<double> all;
  std::optional<std::string> after;
  for (int page = 0; page < 10; ++page) {
    auto txn = db_->Begin();
    ScanRequest req;
    req.table = "items";
    req.index = "by_n";
    req.limit = 3;
    req.after = after;
    ASSERT_OK_AND_ASSIGN(ScanResult r, txn->Scan(req));
    for (double n : Numbers(r, "n")) all.push_back(n);
    if (r.done) break;
    EXPECT_EQ(r.documents.size(), 3u);
    after = r.cursor;
  }
  EXPECT_THAT(all, ElementsAre(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST_F(IndexTest, UntilStopsAtCursor) {
  auto txn = db_->Begin();
  ScanRequest first;
  first.table = "items";
  first.index = "by_n";
  first.limit = 4;
  ASSERT_OK_AND_ASSIGN(ScanResult page, txn->Scan(first));
  ScanRequest again;
  again.table = "items";
  again.index = "by_n";
  again.until = page.cursor;
  ASSERT_OK_AND_ASSIGN(ScanResult r, txn->Scan(again));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(-1, 0, 1, 2));
}

TEST_F(IndexTest, ScansSeeOwnWrites) {
  auto txn = db_->Begin();
  ScanRequest req;
  req.table = "items";
  req.index = "by_n";
  ASSERT_OK_AND_ASSIGN(ScanResult before, txn->Scan(req));
  // Move n=0 to n=4.5, delete n=9, insert n=2.5.
  const Document& zero = before.documents[1];
  Object moved = zero.fields;
  moved["n"] = Value::Float64(4.5);
  ASSERT_OK(txn->Replace(zero.id, moved));
  ASSERT_OK(txn->Delete(before.documents.back().id));
  ASSERT_OK(txn->Insert("items", Fields({{"n", Value::Float64(2.5)}})).status());
  ASSERT_OK_AND_ASSIGN(ScanResult r, txn->Scan(req));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(-1, 1, 2, 2.5, 3, 4, 4.5, 5, 6, 7, 8));
  req.order = Order::kDesc;
  ASSERT_OK_AND_ASSIGN(r, txn->Scan(req));
  EXPECT_THAT(Numbers(r, "n"), ElementsAre(8, 7, 6, 5, 4.5, 4, 3, 2.5, 2, 1, -1));
  req.index = "by_id";
  req.order = Order::kAsc;
  ASSERT_OK_AND_ASSIGN(r, txn->Scan(req));
  EXPECT_EQ(r.documents.size(), 11u);
  EXPECT_TRUE(std::is_sorted(r.documents.begin(), r.documents.end(),
                             [](const Document& a, const Document& b) { return a.id < b.id; }));
}

TEST_F(IndexTest, ByIdEqualityAndCreationTimeOrder) {
  ASSERT_OK_AND_ASSIGN(ScanResult all, Scan("by_creation_time", {}));
  ASSERT_EQ(all.documents.size(), 11u);
  for (size_t i = 1; i < all.documents.size(); ++i) {
    EXPECT_LT(all.documents[i - 1].creation_time, all.documents[i].creation_time);
  }
  IndexRange one;
  one.eq.push_back(Value::String(all.documents[5].id.Encode()));
  ASSERT_OK_AND_ASSIGN(ScanResult r, Scan("by_id", one));
  ASSERT_EQ(r.documents.size(), 1u);
  EXPECT_EQ(r.documents[0].id, all.documents[5].id);
  IndexRange bad;
  bad.eq.push_back(Value::String("not-an-id"));
  ASSERT_OK_AND_ASSIGN(r, Scan("by_id", bad));
  EXPECT_TRUE(r.documents.empty());
}

TEST_F(IndexTest, Errors) {
  EXPECT_THAT(Scan("nope", {}), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  IndexRange too_many;
  for (int i = 0; i < 4; ++i) too_many.eq.push_back(Value::Null());
  EXPECT_THAT(Scan("by_n", too_many), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexRange"));
  EXPECT_THAT(db_->SetIndexes("items", {{"by_id", {"x"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexName"));
  EXPECT_THAT(db_->SetIndexes("items", {{"by_ct", {"_creationTime"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
  std::vector<IndexDefinition> many;
  for (int i = 0; i < 65; ++i) many.push_back({"i" + std::to_string(i), {"x"}});
  EXPECT_THAT(db_->SetIndexes("items", many), StatusIs(absl::StatusCode::kInvalidArgument, "TooManyIndexes"));
  std::vector<std::string> seventeen(17, "x");
  EXPECT_THAT(db_->SetIndexes("items", {{"wide", seventeen}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
}

TEST_F(IndexTest, NewIndexIsBackfilledAndDroppedIndexRemoved) {
  ASSERT_OK(db_->SetIndexes("items", {{"by_tag", {"tag"}}}));
  IndexRange odd;
  odd.eq.push_back(Value::String("odd"));
  ASSERT_OK_AND_ASSIGN(ScanResult r, Scan("by_tag", odd));
  EXPECT_EQ(r.documents.size(), 5u);
  EXPECT_THAT(Scan("by_n", {}), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  // Re-adding by_n rebuilds it from the documents.
  ASSERT_OK(db_->SetIndexes("items", {{"by_n", {"n"}}}));
  ASSERT_OK_AND_ASSIGN(r, Scan("by_n", {}));
  EXPECT_EQ(r.documents.size(), 11u);
}

TEST(ConflictTest, WriteAfterReadConflicts) {
  auto db = OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId id, setup->Insert("t", Fields({{"v", Value::Float64(0)}})));
  ASSERT_OK(setup->Commit());

  auto a = db->Begin();
  auto b = db->Begin();
  ASSERT_OK(a->Get(id).status());
  ASSERT_OK(b->Get(id).status());
  ASSERT_OK(a->Replace(id, Fields({{"v", Value::Float64(1)}})));
  ASSERT_OK(b->Replace(id, Fields({{"v", Value::Float64(2)}})));
  ASSERT_OK(a->Commit());
  EXPECT_THAT(b->Commit(), StatusIs(absl::StatusCode::kAborted, "OccConflict"));
  auto check = db->Begin();
  ASSERT_OK_AND_ASSIGN(auto doc, check->Get(id));
  EXPECT_EQ(doc->fields.at("v").float64(), 1);
  EXPECT_EQ(db->stats().conflicts, 1u);
}

TEST(ConflictTest, RangeReadConflictsWithInsertIntoRange) {
  auto db = OpenTestDb();
  ASSERT_OK(db->SetIndexes("t", {{"by_k", {"k"}}}));
  auto reader = db->Begin();
  ScanRequest req;
  req.table = "t";
  req.index = "by_k";
  req.range.eq.push_back(Value::String("a"));
  ASSERT_OK_AND_ASSIGN(ScanResult r, reader->Scan(req));
  EXPECT_TRUE(r.documents.empty());
  ASSERT_OK(reader->Insert("t", Fields({{"k", Value::String("z")}})).status());

  auto outside = db->Begin();
  ASSERT_OK(outside->Insert("t", Fields({{"k", Value::String("b")}})).status());
  ASSERT_OK(outside->Commit());
  auto inside = db->Begin();
  ASSERT_OK(inside->Insert("t", Fields({{"k", Value::String("a")}})).status());
  ASSERT_OK(inside->Commit());
  EXPECT_THAT(reader->Commit(), StatusIs(absl::StatusCode::kAborted, "OccConflict"));
}

TEST(ConflictTest, DisjointRangesDoNotConflict) {
  auto db = OpenTestDb();
  ASSERT_OK(db->SetIndexes("t", {{"by_k", {"k"}}}));
  auto reader = db->Begin();
  ScanRequest req;
  req.table = "t";
  req.index = "by_k";
  req.range.eq.push_back(Value::String("a"));
  ASSERT_OK(reader->Scan(req).status());
  ASSERT_OK(reader->Insert("t", Fields({{"k", Value::String("a")}})).status());
  auto other = db->Begin();
  ASSERT_OK(other->Insert("t", Fields({{"k", Value::String("b")}})).status());
  ASSERT_OK(other->Commit());
  EXPECT_OK(reader->Commit());
}

TEST(ConflictTest, LimitedScanOnlyCoversWhatItRead) {
  auto db = OpenTestDb();
  ASSERT_OK(db->SetIndexes("t", {{"by_n", {"n"}}}));
  auto setup = db->Begin();
  for (int i = 0; i < 5; ++i) ASSERT_OK(setup->Insert("t", Fields({{"n", Value::Float64(i)}})).status());
  ASSERT_OK(setup->Commit());
  auto reader = db->Begin();
  ScanRequest req;
  req.table = "t";
  req.index = "by_n";
  req.limit = 2;  // reads n=0,1
  ASSERT_OK(reader->Scan(req).status());
  ASSERT_OK(reader->Insert("t", Fields({{"n", Value::Float64(100)}})).status());
  auto beyond = db->Begin();
  ASSERT_OK(beyond->Insert("t", Fields({{"n", Value::Float64(3.5)}})).status());
  ASSERT_OK(beyond->Commit());
  EXPECT_OK(reader->Commit());
}

TEST(ConflictTest, ConcurrentTableCreationConflicts) {
  auto db = OpenTestDb();
  auto a = db->Begin();
  auto b = db->Begin();
  ASSERT_OK(a->Insert("x", {}).status());
  ASSERT_OK(b->Insert("y", {}).status());
  ASSERT_OK(a->Commit());
  EXPECT_THAT(b->Commit(), StatusIs(absl::StatusCode::kAborted, "OccConflict"));
  auto c = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId y, c->Insert("y", {}));
  ASSERT_OK(c->Commit());
  EXPECT_EQ(y.table_number, kFirstUserTableNumber + 1);
  EXPECT_THAT(db->TableNames(), ElementsAre("x", "y"));
}

TEST(ConflictTest, ReadOnlyTransactionCommitsAtBeginTs) {
  auto db = OpenTestDb();
  auto w = db->Begin();
  ASSERT_OK(w->Insert("t", {}).status());
  ASSERT_OK(w->Commit());
  auto r = db->Begin();
  ASSERT_OK(r->TableNumber("t").status());
  ASSERT_OK(r->Commit());
  EXPECT_EQ(r->commit_ts(), w->commit_ts());
  EXPECT_THAT(r->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition, "TransactionFinished"));
}

TEST(RetentionTest, OldTransactionsFailRetryably) {
  FakeClock clock(1'700'000'000'000'000'000ull);
  DatabaseOptions options;
  options.clock = &clock;
  options.max_transaction_age = absl::Seconds(5);
  options.write_log_window = absl::Seconds(10);
  auto db = OpenTestDb(options);
  auto old = db->Begin();
  clock.AdvanceNanos(6'000'000'000ull);
  EXPECT_THAT(old->Get(DocumentId{kFirstUserTableNumber, {}}),
              StatusIs(absl::StatusCode::kAborted, "TransactionTooOld"));
  EXPECT_THAT(old->Commit(), StatusIs(absl::StatusCode::kAborted, "TransactionTooOld"));
}

TEST(RetentionTest, TrimmedWriteLogAbortsOlderSnapshots) {
  FakeClock clock(1'700'000'000'000'000'000ull);
  DatabaseOptions options;
  options.clock = &clock;
  options.max_transaction_age = absl::Hours(1);
  options.write_log_window = absl::Seconds(1);
  auto db = OpenTestDb(options);
  auto old = db->Begin();
  ASSERT_OK(old->Insert("a", {}).status());
  for (int i = 0; i < 3; ++i) {
    auto w = db->Begin();
    ASSERT_OK(w->Insert("b", {}).status());
    ASSERT_OK(w->Commit());
    clock.AdvanceNanos(2'000'000'000ull);
  }
  EXPECT_THAT(old->Commit(), StatusIs(absl::StatusCode::kAborted, "SnapshotTooOld"));
}

TEST(DurabilityTest, ReopenKeepsDataCatalogAndTimestamps) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  DocumentId id;
  uint64_t last_ts = 0;
  {
    auto db = OpenTestDb(options);
    ASSERT_OK(db->SetIndexes("t", {{"by_k", {"k"}}}));
    auto txn = db->Begin();
    ASSERT_OK_AND_ASSIGN(id, txn->Insert("t", Fields({{"k", Value::Int64(7)}})));
    ASSERT_OK(txn->Commit());
    last_ts = txn->commit_ts();
  }
  // A clock far in the past must not make timestamps go backwards.
  FakeClock past(1000);
  options.clock = &past;
  auto db = OpenTestDb(options);
  EXPECT_EQ(db->LatestTs(), last_ts);
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(auto doc, txn->Get(id));
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->fields.at("k").int64(), 7);
  ScanRequest req;
  req.table = "t";
  req.index = "by_k";
  req.range.eq.push_back(Value::Int64(7));
  ASSERT_OK_AND_ASSIGN(ScanResult r, txn->Scan(req));
  EXPECT_EQ(r.documents.size(), 1u);
  ASSERT_OK(txn->Insert("t", {}).status());
  ASSERT_OK(txn->Commit());
  EXPECT_GT(txn->commit_ts(), last_ts);
}

TEST(DurabilityTest, SecondOpenOfSameDirIsRefused) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  auto first = OpenTestDb(options);
  auto second = Database::Open(options);
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition, "DataDirLocked"));
}

// The newest write-ahead log of a closed database (its writes are not flushed to tables).
std::string NewestWal(const std::string& db_path) {
  std::string newest;
  for (const auto& entry : std::filesystem::directory_iterator(db_path)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".log" && entry.path().string() > newest) {
      newest = entry.path().string();
    }
  }
  return newest;
}

// Damage inside the log must not silently drop the acknowledged writes after it (RocksDB's
// default point-in-time recovery would); a torn last record is a crash mid-write.
TEST(DurabilityTest, CorruptWalIsRefusedNotTruncated) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  options.durability = Durability::kSync;
  std::vector<DocumentId> ids;
  {
    auto db = OpenTestDb(options);
    for (int i = 0; i < 30; ++i) {
      auto txn = db->Begin();
      ASSERT_OK_AND_ASSIGN(DocumentId id, txn->Insert("t", Fields({{"i", Value::Int64(i)}})));
      ASSERT_OK(txn->Commit());
      ids.push_back(id);
    }
  }
  std::string wal = NewestWal(options.path);
  ASSERT_FALSE(wal.empty());
  uintmax_t size = std::filesystem::file_size(wal);
  ASSERT_GT(size, 1000u);
  std::string original;
  {
    std::ifstream in(wal, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A torn tail: the last record cut short. It was never acknowledged; the rest opens.
  {
    std::filesystem::copy(options.path, dir.Sub("torn"), std::filesystem::copy_options::recursive);
    std::string torn_wal = dir.Sub("torn") + "/" + std::filesystem::path(wal).filename().string();
    std::filesystem::resize_file(torn_wal, size - 5);
    DatabaseOptions torn = options;
    torn.path = dir.Sub("torn");
    auto db = OpenTestDb(torn);
    auto txn = db->Begin();
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(auto doc, txn->Get(ids[i]));
      EXPECT_TRUE(doc.has_value()) << i;
    }
  }
  // Zeroed bytes in the middle: refused at open, and the files are left as they were.
  {
    std::fstream out(wal, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(size / 2));
    out.write(std::string(64, '\0').data(), 64);
  }
  absl::StatusOr<std::unique_ptr<Database>> reopened = Database::Open(options);
  EXPECT_THAT(reopened, StatusIs(absl::StatusCode::kDataLoss, "Corruption"));
  EXPECT_EQ(std::filesystem::file_size(wal), size);
}

TEST(DurabilityTest, SyncModeWorks) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  options.durability = Durability::kSync;
  auto db = OpenTestDb(options);
  auto txn = db->Begin();
  ASSERT_OK(txn->Insert("t", {}).status());
  EXPECT_OK(txn->Commit());
}

TEST(CommitListenerTest, SeesEveryCommitInOrderWithKeys) {
  auto db = OpenTestDb();
  std::vector<uint64_t> seen;
  size_t keys = 0;
  int handle = db->AddCommitListener([&](const CommitInfo& info) {
    seen.push_back(info.ts);
    keys += info.written_keys.size();
  });
  for (int i = 0; i < 3; ++i) {
    auto txn = db->Begin();
    ASSERT_OK(txn->Insert("t", {}).status());
    ASSERT_OK(txn->Commit());
    EXPECT_EQ(seen.back(), txn->commit_ts());
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GT(keys, 6u);  // document key + by_creation_time entry per insert, plus the catalog
  db->RemoveCommitListener(handle);
  auto txn = db->Begin();
  ASSERT_OK(txn->Insert("t", {}).status());
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace cvx

namespace cvx {
namespace {

TEST(BeginAtTest, ReadsTheStateAsOfATimestamp) {
  auto db = testing::OpenTestDb();
  std::vector<uint64_t> ts;
  DocumentId id;
  for (int i = 0; i < 3; ++i) {
    auto txn = db->Begin();
    if (i == 0) {
      ASSERT_OK_AND_ASSIGN(id, txn->Insert("t", {{"v", Value::Float64(i)}}));
    } else {
      ASSERT_OK(txn->Replace(id, {{"v", Value::Float64(i)}}));
    }
    ASSERT_OK(txn->Commit());
    ts.push_back(txn->commit_ts());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto txn, db->BeginAt(ts[i]));
    ASSERT_OK_AND_ASSIGN(auto doc, txn->Get(id));
    EXPECT_EQ(doc->fields.at("v").float64(), i);
    // Between two commits: the earlier one's state.
    if (i < 2) {
      ASSERT_OK_AND_ASSIGN(auto mid, db->BeginAt(ts[i] + (ts[i + 1] - ts[i]) / 2));
      ASSERT_OK_AND_ASSIGN(auto d2, mid->Get(id));
      EXPECT_EQ(d2->fields.at("v").float64(), i);
    }
  }
  EXPECT_THAT(db->BeginAt(ts[2] + 1), testing::StatusIs(absl::StatusCode::kOutOfRange, "FutureTimestamp"));
  // Before the first commit: the empty database.
  ASSERT_OK_AND_ASSIGN(auto empty, db->BeginAt(1));
  ASSERT_OK_AND_ASSIGN(auto none, empty->Get(id));
  EXPECT_FALSE(none.has_value());
}

TEST(BeginAtTest, OnlyRecentSnapshotsAreRetained) {
  DatabaseOptions options;
  options.retained_snapshots = 2;
  auto db = testing::OpenTestDb(options);
  std::vector<uint64_t> ts;
  for (int i = 0; i < 4; ++i) {
    auto txn = db->Begin();
    ASSERT_OK(txn->Insert("t", {}).status());
    ASSERT_OK(txn->Commit());
    ts.push_back(txn->commit_ts());
  }
  EXPECT_OK(db->BeginAt(ts[2]).status());
  EXPECT_THAT(db->BeginAt(ts[1]), testing::StatusIs(absl::StatusCode::kFailedPrecondition, "SnapshotTooOld"));
}

}  // namespace
}  // namespace cvx

namespace cvx {
namespace {

TEST(DatabaseTest, InsertWithIdKeepsIdsAndCreationTimes) {
  auto db = cvx::testing::OpenTestDb();
  auto txn = db->Begin();
  absl::StatusOr<DocumentId> made = txn->Insert("t", {{"a", Value::Float64(1)}});
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(txn->Commit().ok());
  // Another document of the same table number, as a snapshot from elsewhere has.
  DocumentId id = *made;
  id.internal_id[0] ^= 0x5a;
  auto t2 = db->Begin();
  ASSERT_TRUE(t2->InsertWithId("t", id, 1234.5, {{"a", Value::Float64(2)}}).ok());
  EXPECT_EQ(t2->InsertWithId("t", id, 1, {}).code(), absl::StatusCode::kAlreadyExists);
  DocumentId foreign = id;
  foreign.table_number += 7;
  absl::Status conflict = t2->InsertWithId("t", foreign, 1, {});
  EXPECT_EQ(conflict.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorTag(conflict), "ImportConflict");
  EXPECT_EQ(t2->InsertWithId("t", id, 1, {{"_id", Value::String("x")}}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(t2->Commit().ok());
  auto t3 = db->Begin();
  absl::StatusOr<std::optional<Document>> got = t3->Get(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->creation_time, 1234.5);
  EXPECT_EQ((*got)->fields.at("a"), Value::Float64(2));
}

// Snapshot import gives tables the numbers their IDs carry (Convex's assign_table_numbers).
TEST(DatabaseTest, AssignTableNumberCreatesRenumbersAndSwapsAcrossReopen) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  DocumentId in_a, in_b, in_c;
  {
    auto db = OpenTestDb(options);
    ASSERT_OK(db->SetIndexes("a", {{"by_k", {"k"}}}));  // 10001
    ASSERT_OK(db->SetIndexes("b", {}));                  // 10002
    auto txn = db->Begin();
    ASSERT_OK_AND_ASSIGN(auto a, txn->TableNumber("a"));
    ASSERT_OK_AND_ASSIGN(auto b, txn->TableNumber("b"));
    ASSERT_EQ(*a, 10001u);
    ASSERT_EQ(*b, 10002u);
    // A swap in one transaction: a to a free number first, then b and a to their targets.
    ASSERT_OK(txn->AssignTableNumber("a", 10010));
    ASSERT_OK(txn->AssignTableNumber("b", 10001));
    ASSERT_OK(txn->AssignTableNumber("a", 10002));
    ASSERT_OK(txn->AssignTableNumber("c", 10005));  // a missing table is created with it
    ASSERT_OK_AND_ASSIGN(in_a, txn->Insert("a", Fields({{"k", Value::Int64(1)}})));
    ASSERT_OK_AND_ASSIGN(in_b, txn->Insert("b", Fields({{"k", Value::Int64(2)}})));
    ASSERT_OK_AND_ASSIGN(in_c, txn->Insert("c", Fields({})));
    EXPECT_EQ(in_a.table_number, 10002u);
    EXPECT_EQ(in_b.table_number, 10001u);
    EXPECT_EQ(in_c.table_number, 10005u);
    ASSERT_OK(txn->Commit());
    auto check = db->Begin();
    EXPECT_EQ(check->TableName(10001), "b");
    EXPECT_EQ(check->TableName(10002), "a");
    EXPECT_EQ(check->TableName(10010), std::nullopt);
  }
  auto db = OpenTestDb(options);
  auto txn = db->Begin();
  EXPECT_EQ(txn->TableName(10001), "b");
  EXPECT_EQ(txn->TableName(10002), "a");
  EXPECT_EQ(txn->TableName(10005), "c");
  EXPECT_EQ(txn->TableName(10010), std::nullopt);
  ASSERT_OK_AND_ASSIGN(auto doc, txn->Get(in_a));
  ASSERT_TRUE(doc.has_value());
  // a's index came along: its entries are found through the renumbered table.
  ScanRequest by_k;
  by_k.table = "a";
  by_k.index = "by_k";
  by_k.range.eq = {Value::Int64(1)};
  ASSERT_OK_AND_ASSIGN(ScanResult found, txn->Scan(by_k));
  ASSERT_EQ(found.documents.size(), 1u);
  EXPECT_EQ(found.documents[0].id, in_a);
  // A new table takes the lowest free number again.
  ASSERT_OK_AND_ASSIGN(DocumentId in_d, txn->Insert("d", Fields({})));
  EXPECT_EQ(in_d.table_number, 10003u);
}

TEST(DatabaseTest, AssignTableNumberRefusesTakenNumbersAndNonEmptyTables) {
  auto db = OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId row, setup->Insert("a", Fields({})));  // 10001
  ASSERT_OK(setup->Insert("b", Fields({})).status());                  // 10002
  ASSERT_OK(setup->Commit());
  auto txn = db->Begin();
  absl::Status taken = txn->AssignTableNumber("c", 10002);
  EXPECT_EQ(ErrorTag(taken), "TableConflict") << taken;
  absl::Status full = txn->AssignTableNumber("a", 10007);
  EXPECT_EQ(ErrorTag(full), "TableNumberConflict") << full;
  EXPECT_EQ(ErrorTag(txn->AssignTableNumber("c", 5)), "InvalidId");
  EXPECT_OK(txn->AssignTableNumber("a", 10001));  // already so
  // Emptied in this transaction, the table may move.
  ASSERT_OK(txn->Delete(row));
  ASSERT_OK(txn->AssignTableNumber("a", 10007));
  ASSERT_OK(txn->Commit());
  auto after = db->Begin();
  EXPECT_EQ(after->TableName(10007), "a");
  EXPECT_EQ(after->TableName(10001), std::nullopt);
}

// replaceAll deletes the tables an import does not bring: rows, index entries, catalog entry.
TEST(DatabaseTest, DeleteTableFreesNameAndNumberAcrossReopen) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.path = dir.Sub("db");
  DocumentId gone_row, kept_row;
  {
    auto db = OpenTestDb(options);
    ASSERT_OK(db->SetIndexes("gone", {{"by_k", {"k"}}}));  // 10001
    auto setup = db->Begin();
    ASSERT_OK_AND_ASSIGN(gone_row, setup->Insert("gone", Fields({{"k", Value::Int64(1)}})));
    ASSERT_OK_AND_ASSIGN(kept_row, setup->Insert("kept", Fields({})));  // 10002
    ASSERT_OK(setup->Commit());

    auto reader = db->Begin();  // began before the delete: sees the table
    auto txn = db->Begin();
    EXPECT_EQ(ErrorTag(txn->DeleteTable("missing")), "TableNotFound");
    ASSERT_OK(txn->DeleteTable("gone"));
    EXPECT_EQ(ErrorTag(txn->DeleteTable("gone")), "TableNotFound");
    ASSERT_OK_AND_ASSIGN(auto number, txn->TableNumber("gone"));
    EXPECT_EQ(number, std::nullopt);
    EXPECT_EQ(txn->TableName(10001), std::nullopt);
    ASSERT_OK_AND_ASSIGN(auto row, txn->Get(gone_row));
    EXPECT_EQ(row, std::nullopt);
    std::vector<std::string> names = txn->TableNames();
    EXPECT_EQ(std::count(names.begin(), names.end(), "gone"), 0);
    // Its number is free for a table of this transaction.
    ASSERT_OK(txn->AssignTableNumber("other", 10001));
    ASSERT_OK(txn->Commit());

    ASSERT_OK_AND_ASSIGN(auto old_view, reader->Get(gone_row));
    EXPECT_TRUE(old_view.has_value());
    auto after = db->Begin();
    EXPECT_EQ(after->TableName(10001), "other");
    names = db->TableNames();
    EXPECT_EQ(std::count(names.begin(), names.end(), "gone"), 0);
  }
  auto db = OpenTestDb(options);
  auto txn = db->Begin();
  EXPECT_EQ(txn->TableName(10001), "other");
  EXPECT_EQ(txn->TableName(10002), "kept");
  ASSERT_OK_AND_ASSIGN(auto kept, txn->Get(kept_row));
  EXPECT_TRUE(kept.has_value());
  // Made again, the table has no rows and only the built-in indexes.
  ASSERT_OK_AND_ASSIGN(DocumentId again, txn->Insert("gone", Fields({{"k", Value::Int64(1)}})));
  EXPECT_EQ(again.table_number, 10003u);
  ScanRequest all;
  all.table = "gone";
  all.index = "by_creation_time";
  ASSERT_OK_AND_ASSIGN(ScanResult rows, txn->Scan(all));
  ASSERT_EQ(rows.documents.size(), 1u);
  ScanRequest by_k;
  by_k.table = "gone";
  by_k.index = "by_k";
  EXPECT_EQ(ErrorTag(txn->Scan(by_k).status()), "IndexNotFound");
}

}  // namespace
}  // namespace cvx
