// Serializability checked the way Elle (and Convex's crates/simulation verifier) checks it:
// a list-append history from real concurrent threads on real RocksDB, a dependency graph
// built from what every committed transaction read and appended, and no cycle allowed.
//
// The model: lists keyed by an integer, one document per list ({key, elements}) found
// through the index by_key. A transaction reads some lists (point reads through the
// index, or a scan of the whole index, which also sees which lists exist) and then
// appends unique values to some lists (creating a list on its first append). Reads come
// before appends in a transaction, so every read shows committed state.
//
// The graph (Adya): for consecutive values a, b of a list's final order, ww T(a) -> T(b);
// a read whose last element is v: wr T(v) -> reader; a read of a prefix of length n (0 for
// a list that did not exist): rw reader -> T(final[n]); and each thread's own order.
// Serializable means acyclic. Also checked directly: every read is a prefix of the final
// list, every committed append is in it exactly once, nothing else is, and no list was
// created twice (a phantom insert).

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"

namespace cvx {
namespace {

struct Op {
  enum class Kind { kRead, kAppend } kind = Kind::kRead;
  int key = 0;
  int64_t value = 0;                // kAppend
  std::vector<int64_t> read;        // kRead: what it saw (empty: no such list)
};

struct Txn {
  int thread = 0;
  int seq = 0;  // order within its thread
  std::vector<Op> ops;
  bool scan = false;  // its reads come from one scan of the whole index
};

// The checker. Returns the anomalies found (empty: the history is serializable).
class ListAppendChecker {
 public:
  ListAppendChecker(const std::vector<Txn>& txns, const std::map<int, std::vector<int64_t>>& final_lists)
      : txns_(txns), final_(final_lists) {}

  std::vector<std::string> Check() {
    std::vector<std::string> anomalies;
    std::map<int64_t, std::pair<int, int>> writer;  // value -> (txn index, key)
    for (size_t t = 0; t < txns_.size(); ++t) {
      for (const Op& op : txns_[t].ops) {
        if (op.kind == Op::Kind::kAppend) writer[op.value] = {static_cast<int>(t), op.key};
      }
    }
    // Every committed append once in its own list, nothing else.
    std::map<int64_t, int> seen;
    for (const auto& [key, list] : final_) {
      for (int64_t v : list) {
        ++seen[v];
        auto w = writer.find(v);
        if (w == writer.end()) anomalies.push_back(absl::StrCat("list ", key, " holds ", v, ", which no committed txn appended"));
        else if (w->second.second != key) anomalies.push_back(absl::StrCat("value ", v, " is in list ", key, ", appended to ", w->second.second));
      }
    }
    for (const auto& [v, w] : writer) {
      if (seen[v] != 1) anomalies.push_back(absl::StrCat("committed append ", v, " appears ", seen[v], " times"));
    }
    // Edges.
    edges_.assign(txns_.size(), {});
    auto edge = [&](int from, int to, const std::string& why) {
      if (from != to) edges_[from].push_back({to, why});
    };
    for (const auto& [key, list] : final_) {
      for (size_t i = 0; i + 1 < list.size(); ++i) {
        if (writer.count(list[i]) && writer.count(list[i + 1])) {
          edge(writer[list[i]].first, writer[list[i + 1]].first, absl::StrCat("ww on ", key));
        }
      }
    }
    for (size_t t = 0; t < txns_.size(); ++t) {
      for (const Op& op : txns_[t].ops) {
        if (op.kind != Op::Kind::kRead) continue;
        auto it = final_.find(op.key);
        const std::vector<int64_t> empty;
        const std::vector<int64_t>& list = it == final_.end() ? empty : it->second;
        if (op.read.size() > list.size() || !std::equal(op.read.begin(), op.read.end(), list.begin())) {
          anomalies.push_back(absl::StrCat("txn ", t, " read list ", op.key, " as [", absl::StrJoin(op.read, ","),
                                           "], not a prefix of its final order"));
          continue;
        }
        if (!op.read.empty() && writer.count(op.read.back())) {
          edge(writer[op.read.back()].first, static_cast<int>(t), absl::StrCat("wr on ", op.key));
        }
        if (op.read.size() < list.size() && writer.count(list[op.read.size()])) {
          edge(static_cast<int>(t), writer[list[op.read.size()]].first, absl::StrCat("rw on ", op.key));
        }
      }
    }
    std::map<int, std::map<int, int>> by_thread;  // thread -> seq -> txn
    for (size_t t = 0; t < txns_.size(); ++t) by_thread[txns_[t].thread][txns_[t].seq] = static_cast<int>(t);
    for (const auto& [thread, order] : by_thread) {
      for (auto it = order.begin(); std::next(it) != order.end(); ++it) {
        edge(it->second, std::next(it)->second, "thread order");
      }
    }
    if (std::optional<std::string> cycle = FindCycle()) anomalies.push_back("cycle: " + *cycle);
    return anomalies;
  }

 private:
  struct Edge {
    int to;
    std::string why;
  };

  // A dependency cycle, printed, or nullopt. Iterative DFS (histories have thousands of txns).
  std::optional<std::string> FindCycle() {
    std::vector<int> color(txns_.size(), 0), parent(txns_.size(), -1);
    std::vector<std::string> via(txns_.size());
    for (size_t root = 0; root < txns_.size(); ++root) {
      if (color[root] != 0) continue;
      std::vector<std::pair<int, size_t>> stack{{static_cast<int>(root), 0}};
      color[root] = 1;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == edges_[node].size()) {
          color[node] = 2;
          stack.pop_back();
          continue;
        }
        const Edge& e = edges_[node][next++];
        if (color[e.to] == 1) {
          std::vector<std::string> path{absl::StrCat("T", e.to)};
          std::string step = e.why;
          for (int n = node; n != e.to; n = parent[n]) {
            path.push_back(absl::StrCat("T", n, " -", step, "->"));
            step = via[n];
          }
          path.push_back(absl::StrCat("T", e.to, " -", step, "->"));
          std::reverse(path.begin(), path.end());
          return absl::StrJoin(path, " ");
        }
        if (color[e.to] == 0) {
          color[e.to] = 1;
          parent[e.to] = node;
          via[e.to] = e.why;
          stack.push_back({e.to, 0});
        }
      }
    }
    return std::nullopt;
  }

  const std::vector<Txn>& txns_;
  const std::map<int, std::vector<int64_t>>& final_;
  std::vector<std::vector<Edge>> edges_;
};

Op Read(int key, std::vector<int64_t> seen) { return Op{Op::Kind::kRead, key, 0, std::move(seen)}; }
Op Append(int key, int64_t v) { return Op{Op::Kind::kAppend, key, v, {}}; }

// The checker itself must catch what it is for.
TEST(ListAppendCheckerTest, FindsWriteSkewLostAppendsAndBadReads) {
  // Write skew (G2): each reads the list the other appends to, as empty.
  std::vector<Txn> skew = {{0, 0, {Read(1, {}), Append(2, 10)}}, {1, 0, {Read(2, {}), Append(1, 20)}}};
  std::vector<std::string> found = ListAppendChecker(skew, {{1, {20}}, {2, {10}}}).Check();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rfind("cycle: ", 0), 0u) << found[0];
  // The same two, one after the other: fine.
  std::vector<Txn> serial = {{0, 0, {Read(1, {}), Append(2, 10)}}, {1, 0, {Read(2, {10}), Append(1, 20)}}};
  EXPECT_TRUE(ListAppendChecker(serial, {{1, {20}}, {2, {10}}}).Check().empty());
  // A lost append, a read that is not a prefix, a value nobody appended.
  std::vector<Txn> broken = {{0, 0, {Append(1, 1)}}, {0, 1, {Append(1, 2)}}, {1, 0, {Read(1, {2})}}};
  found = ListAppendChecker(broken, {{1, {1, 3}}}).Check();
  EXPECT_EQ(found.size(), 3u) << absl::StrJoin(found, "\n");
  // A read that saw a later state than its own thread's next txn did (fractured order).
  std::vector<Txn> fractured = {{0, 0, {Read(1, {5})}}, {0, 1, {Read(1, {})}}, {1, 0, {Append(1, 5)}}};
  found = ListAppendChecker(fractured, {{1, {5}}}).Check();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rfind("cycle: ", 0), 0u);
}

class ListAppendTest : public ::testing::TestWithParam<Durability> {};

// Reads through index ranges, so phantoms (a list created after a scan missed it) are in
// the model too.
absl::StatusOr<std::optional<Document>> FindList(Transaction& txn, int key) {
  ScanRequest req;
  req.table = "lists";
  req.index = "by_key";
  req.range.eq = {Value::Int64(key)};
  CVX_ASSIGN_OR_RETURN(ScanResult r, txn.Scan(req));
  if (r.documents.size() > 1) return absl::InternalError(absl::StrCat("list ", key, " exists twice"));
  if (r.documents.empty()) return std::optional<Document>();
  return std::optional<Document>(std::move(r.documents[0]));
}

std::vector<int64_t> Elements(const Document& d) {
  std::vector<int64_t> out;
  for (const Value& v : d.fields.at("elements").array()) out.push_back(v.int64());
  return out;
}

TEST_P(ListAppendTest, ConcurrentHistoryHasNoDependencyCycle) {
  testing::TempDir dir;
  DatabaseOptions options;
  options.durability = GetParam();
  if (GetParam() != Durability::kMemory) options.path = dir.Sub("db");
  auto db = cvx::testing::OpenTestDb(options);
  ASSERT_OK(db->SetIndexes("lists", {{"by_key", {"key"}}}));
  constexpr int kThreads = 6, kTxnsPerThread = 250, kKeys = 8;
  std::atomic<int64_t> next_value{1};
  std::atomic<int> conflicts{0};
  std::vector<std::vector<Txn>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1000 + t);  // seeded: the same ops each run, the interleaving varies
      for (int seq = 0; seq < kTxnsPerThread; ++seq) {
        Txn txn{t, seq, {}};
        if (rng() % 5 == 0) {
          txn.scan = true;
          for (int k = 0; k < kKeys; ++k) txn.ops.push_back(Read(k, {}));
        } else {
          int n = 1 + static_cast<int>(rng() % 4);
          for (int i = 0; i < n; ++i) {
            int key = static_cast<int>(rng() % kKeys);
            if (rng() % 2) txn.ops.push_back(Read(key, {}));
            else txn.ops.push_back(Append(key, next_value.fetch_add(1)));
          }
          std::stable_sort(txn.ops.begin(), txn.ops.end(),
                           [](const Op& a, const Op& b) { return a.kind < b.kind; });  // reads first
        }
        for (int attempt = 0;; ++attempt) {
          ASSERT_LT(attempt, 1000) << "livelock";
          auto handle = db->Begin();
          absl::Status s;
          if (txn.scan) {
            ScanRequest all;
            all.table = "lists";
            all.index = "by_key";
            absl::StatusOr<ScanResult> r = handle->Scan(all);
            s = r.status();
            std::map<int, std::vector<int64_t>> lists;
            if (r.ok()) {
              for (const Document& d : r->documents) lists[static_cast<int>(d.fields.at("key").int64())] = Elements(d);
            }
            for (Op& op : txn.ops) op.read = lists[op.key];
          } else {
            for (Op& op : txn.ops) {
              if (!s.ok()) break;
              absl::StatusOr<std::optional<Document>> found = FindList(*handle, op.key);
              if (!found.ok()) {
                s = found.status();
                break;
              }
              if (op.kind == Op::Kind::kRead) {
                op.read = *found ? Elements(**found) : std::vector<int64_t>();
              } else if (*found) {
                Object fields = (*found)->fields;
                Array elements = fields.at("elements").array();
                elements.push_back(Value::Int64(op.value));
                fields["elements"] = Value::FromArray(std::move(elements));
                s = handle->Replace((*found)->id, std::move(fields));
              } else {
                s = handle->Insert("lists", {{"key", Value::Int64(op.key)},
                                             {"elements", Value::FromArray({Value::Int64(op.value)})}})
                        .status();
              }
            }
          }
          if (s.ok()) s = handle->Commit();
          if (s.ok()) break;
          ASSERT_EQ(s.code(), absl::StatusCode::kAborted) << s;
          conflicts.fetch_add(1);
        }
        per_thread[t].push_back(std::move(txn));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<Txn> history;
  for (auto& txns : per_thread) history.insert(history.end(), txns.begin(), txns.end());
  ASSERT_EQ(history.size(), static_cast<size_t>(kThreads * kTxnsPerThread));

  std::map<int, std::vector<int64_t>> final_lists;
  auto reader = db->Begin();
  ScanRequest all;
  all.table = "lists";
  all.index = "by_key";
  ASSERT_OK_AND_ASSIGN(ScanResult rows, reader->Scan(all));
  for (const Document& d : rows.documents) {
    int key = static_cast<int>(d.fields.at("key").int64());
    EXPECT_FALSE(final_lists.count(key)) << "list " << key << " was created twice (a phantom insert)";
    final_lists[key] = Elements(d);
  }
  std::vector<std::string> anomalies = ListAppendChecker(history, final_lists).Check();
  EXPECT_TRUE(anomalies.empty()) << absl::StrJoin(anomalies, "\n");
  EXPECT_GT(conflicts.load(), 0) << "the run had no contention, so it proved little";
  RecordProperty("conflicts", conflicts.load());
}

INSTANTIATE_TEST_SUITE_P(Durabilities, ListAppendTest,
                         ::testing::Values(Durability::kMemory, Durability::kProcess),
                         [](const auto& info) { return info.param == Durability::kMemory ? "Memory" : "Process"; });

}  // namespace
}  // namespace cvx
