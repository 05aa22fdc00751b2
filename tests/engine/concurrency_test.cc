// Serializability under real concurrency: bank transfers on hot accounts, write skew and
// phantoms. Real threads, real RocksDB (memory Env and on disk); the invariants are the
// only judges, never timing.

#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "gtest/gtest.h"
#include "tests/testing/retry.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"

namespace cvx {
namespace {

using ::cvx::testing::OpenTestDb;
using ::cvx::testing::RunWithRetries;
using ::cvx::testing::StatusIs;

absl::StatusOr<std::vector<Document>> AllDocs(Transaction& txn, const std::string& table) {
  ScanRequest req;
  req.table = table;
  CVX_ASSIGN_OR_RETURN(ScanResult r, txn.Scan(req));
  return std::move(r.documents);
}

class BankTest : public ::testing::TestWithParam<Durability> {};

TEST_P(BankTest, TransfersOnHotAccountsConserveTheTotal) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.durability = GetParam();
  if (GetParam() != Durability::kMemory) options.path = dir.Sub("db");
  auto db = OpenTestDb(options);
  constexpr int kAccounts = 10;
  constexpr int kThreads = 8;
  constexpr int kTransfersPerThread = 300;
  constexpr int64_t kInitial = 100;
  std::vector<DocumentId> ids;
  ASSERT_OK(RunWithRetries(*db, [&](Transaction& txn) -> absl::Status {
    ids.clear();
    for (int i = 0; i < kAccounts; ++i) {
      CVX_ASSIGN_OR_RETURN(DocumentId id, txn.Insert("accounts", {{"balance", Value::Int64(kInitial)}}));
      ids.push_back(id);
    }
    return absl::OkStatus();
  }));

  std::atomic<int> retries{0}, done{0}, failures{0}, audits{0}, bad_audits{0};
  std::atomic<bool> stop{false};
  std::thread auditor([&] {
    while (!stop.load()) {
      auto txn = db->Begin();
      auto docs = AllDocs(*txn, "accounts");
      if (!docs.ok()) continue;  // e.g. TransactionTooOld never happens here, but be safe
      int64_t total = 0;
      for (const Document& d : *docs) total += d.fields.at("balance").int64();
      audits.fetch_add(1);
      if (total != kAccounts * kInitial) bad_audits.fetch_add(1);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < kTransfersPerThread; ++i) {
        int from = rng() % kAccounts, to = rng() % kAccounts;
        if (from == to) to = (to + 1) % kAccounts;
        int64_t amount = 1 + rng() % 60;
        absl::Status s = RunWithRetries(*db, [&](Transaction& txn) -> absl::Status {
          CVX_ASSIGN_OR_RETURN(auto a, txn.Get(ids[from]));
          CVX_ASSIGN_OR_RETURN(auto b, txn.Get(ids[to]));
          int64_t ab = a->fields.at("balance").int64();
          int64_t bb = b->fields.at("balance").int64();
          if (ab < amount) return absl::OkStatus();  // insufficient funds: no write
          CVX_RETURN_IF_ERROR(txn.Replace(ids[from], {{"balance", Value::Int64(ab - amount)}}));
          return txn.Replace(ids[to], {{"balance", Value::Int64(bb + amount)}});
        }, &retries);
        if (!s.ok()) failures.fetch_add(1);
        done.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  auditor.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(done.load(), kThreads * kTransfersPerThread);
  EXPECT_GT(retries.load(), 0) << "10 hot accounts under 8 threads should conflict";
  EXPECT_GT(audits.load(), 0);
  EXPECT_EQ(bad_audits.load(), 0);
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(auto docs, AllDocs(*txn, "accounts"));
  int64_t total = 0;
  for (const Document& d : docs) {
    int64_t b = d.fields.at("balance").int64();
    EXPECT_GE(b, 0);
    total += b;
  }
  EXPECT_EQ(total, kAccounts * kInitial);
  RecordProperty("retries", retries.load());
}

INSTANTIATE_TEST_SUITE_P(Modes, BankTest,
                         ::testing::Values(Durability::kMemory, Durability::kProcess),
                         [](const auto& info) {
                           return info.param == Durability::kMemory ? "Memory" : "Process";
                         });

// Two on-call doctors: each may leave only if the other stays. x + y >= 1 must hold.
absl::Status MaybeLeave(Transaction& txn, DocumentId me, DocumentId other) {
  CVX_ASSIGN_OR_RETURN(auto a, txn.Get(me));
  CVX_ASSIGN_OR_RETURN(auto b, txn.Get(other));
  if (a->fields.at("on").int64() + b->fields.at("on").int64() >= 2) {
    return txn.Replace(me, {{"on", Value::Int64(0)}});
  }
  return absl::OkStatus();
}

TEST(WriteSkewTest, InterleavedLeaversConflict) {
  auto db = OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId x, setup->Insert("doctors", {{"on", Value::Int64(1)}}));
  ASSERT_OK_AND_ASSIGN(DocumentId y, setup->Insert("doctors", {{"on", Value::Int64(1)}}));
  ASSERT_OK(setup->Commit());
  auto t1 = db->Begin();
  auto t2 = db->Begin();
  ASSERT_OK(MaybeLeave(*t1, x, y));
  ASSERT_OK(MaybeLeave(*t2, y, x));
  ASSERT_OK(t1->Commit());
  EXPECT_THAT(t2->Commit(), StatusIs(absl::StatusCode::kAborted, "OccConflict"));
}

TEST(WriteSkewTest, ConcurrentRoundsKeepSomeoneOnCall) {
  auto db = OpenTestDb();
  constexpr int kRounds = 300;
  std::atomic<int> retries{0};
  for (int round = 0; round < kRounds; ++round) {
    DocumentId x, y;
    ASSERT_OK(RunWithRetries(*db, [&](Transaction& txn) -> absl::Status {
      CVX_ASSIGN_OR_RETURN(x, txn.Insert("doctors", {{"on", Value::Int64(1)}}));
      CVX_ASSIGN_OR_RETURN(y, txn.Insert("doctors", {{"on", Value::Int64(1)}}));
      return absl::OkStatus();
    }));
    std::atomic<int> ready{0};
    auto leave = [&](DocumentId me, DocumentId other) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      EXPECT_OK(RunWithRetries(*db, [&](Transaction& txn) { return MaybeLeave(txn, me, other); },
                               &retries));
    };
    std::thread a(leave, x, y), b(leave, y, x);
    a.join();
    b.join();
    auto txn = db->Begin();
    ASSERT_OK_AND_ASSIGN(auto dx, txn->Get(x));
    ASSERT_OK_AND_ASSIGN(auto dy, txn->Get(y));
    ASSERT_EQ(dx->fields.at("on").int64() + dy->fields.at("on").int64(), 1) << "round " << round;
  }
  RecordProperty("retries", retries.load());
}

// Each transaction counts the rows with k == "a" and inserts one more tagged with that
// count. Only serial executions are allowed, so the tags are exactly 0..N-1.
TEST(PhantomTest, CountThenInsertIsSerial) {
  auto db = OpenTestDb();
  ASSERT_OK(db->SetIndexes("rows", {{"by_k", {"k"}}}));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> retries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Noise in another key range must not conflict with anything.
        EXPECT_OK(RunWithRetries(*db, [&](Transaction& txn) -> absl::Status {
          return txn.Insert("rows", {{"k", Value::String(absl::StrCat("b", t))}}).status();
        }));
        EXPECT_OK(RunWithRetries(*db, [&](Transaction& txn) -> absl::Status {
          ScanRequest req;
          req.table = "rows";
          req.index = "by_k";
          req.range.eq.push_back(Value::String("a"));
          CVX_ASSIGN_OR_RETURN(ScanResult r, txn.Scan(req));
          return txn
              .Insert("rows", {{"k", Value::String("a")},
                               {"seq", Value::Int64(static_cast<int64_t>(r.documents.size()))}})
              .status();
        }, &retries));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto txn = db->Begin();
  ScanRequest req;
  req.table = "rows";
  req.index = "by_k";
  req.range.eq.push_back(Value::String("a"));
  ASSERT_OK_AND_ASSIGN(ScanResult r, txn->Scan(req));
  ASSERT_EQ(r.documents.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<int64_t> seqs;
  for (const Document& d : r.documents) seqs.insert(d.fields.at("seq").int64());
  EXPECT_EQ(seqs.size(), r.documents.size());
  EXPECT_EQ(*seqs.begin(), 0);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kPerThread - 1);
  RecordProperty("retries", retries.load());
}

TEST(CommitOrderTest, TimestampsStrictlyIncreaseAcrossThreads) {
  auto db = OpenTestDb();
  std::mutex mu;
  std::vector<uint64_t> listener_ts;
  db->AddCommitListener([&](const CommitInfo& info) {
    std::lock_guard<std::mutex> lock(mu);
    listener_ts.push_back(info.ts);
  });
  std::vector<std::thread> threads;
  std::mutex ts_mu;
  std::set<uint64_t> commit_ts;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto txn = db->Begin();
        EXPECT_OK(txn->Insert(absl::StrCat("t", t), {}).status());
        absl::Status s = txn->Commit();
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(ts_mu);
          EXPECT_TRUE(commit_ts.insert(txn->commit_ts()).second);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(std::is_sorted(listener_ts.begin(), listener_ts.end()));
  EXPECT_EQ(std::set<uint64_t>(listener_ts.begin(), listener_ts.end()).size(), listener_ts.size());
  EXPECT_EQ(listener_ts.size(), commit_ts.size());
}

}  // namespace
}  // namespace cvx
