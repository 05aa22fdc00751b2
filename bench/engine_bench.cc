// engine_bench: convexlite's engine against raw RocksDB doing the same work in the same run.
//
//   1. Single-document insert commits: Transaction::Insert + Commit vs one raw WriteBatch
//      of the same bytes (document, by_creation_time entry, commit ts record), durability
//      process and sync, 1 and 8 threads. Commits/s and p50/p99 latency.
//   2. Point reads: Begin + Get + Commit vs a raw snapshot Get of the same key.
//   3. Index range scan of 1000 documents: Transaction::Scan vs raw iteration over the
//      same index keys plus a Get of each document (the same work), and vs iterating the
//      index keys alone.
//   4. Open + close of a memory-mode database: time and RSS.
//
// Prints a Markdown report on stdout. Usage: engine_bench [--seconds S] [--quick]

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "engine/database.h"
#include "engine/storage/key_layout.h"
#include "engine/value/json.h"
#include "engine/value/sort_key.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/write_batch.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT: the benchmark helpers


Object SampleFields(int64_t i) {
  return {{"owner", Value::String("user-" + std::to_string(i))},
          {"balance", Value::Int64(i)},
          {"note", Value::String(std::string(64, 'x'))}};
}


void InsertBench(Durability durability, const std::string& dir) {
  const char* mode = durability == Durability::kSync ? "sync" : "process";
  for (int threads : {1, 8}) {
    // convexlite
    std::filesystem::remove_all(dir);
    DatabaseOptions options;
    options.path = dir + "/cvx";
    options.durability = durability;
    auto db = Database::Open(options);
    if (!db.ok()) Die(std::string(db.status().message()));
    std::atomic<int64_t> counter{0};
    Result ours = RunTimed(threads, [&](int) {
      int64_t i = counter.fetch_add(1);
      for (int attempt = 0;; ++attempt) {  // the first inserts race to create the table
        auto txn = (*db)->Begin();
        if (!txn->Insert("accounts", SampleFields(i)).ok()) Die("insert");
        absl::Status s = txn->Commit();
        if (s.ok()) break;
        if (s.code() != absl::StatusCode::kAborted || attempt > 10) Die("insert commit");
      }
    });
    db->reset();

    // raw RocksDB: the same keys and values in one WriteBatch per commit.
    rocksdb::Options rocks;
    rocks.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(rocks, dir + "/raw", &raw).ok()) Die("raw open");
    rocksdb::WriteOptions wo;
    wo.sync = durability == Durability::kSync;
    std::atomic<int64_t> raw_counter{0};
    Result base = RunTimed(threads, [&](int) {
      int64_t i = raw_counter.fetch_add(1);
      DocumentId id;
      id.table_number = kFirstUserTableNumber;
      std::mt19937_64 rng(i);
      for (auto& b : id.internal_id) b = static_cast<uint8_t>(rng());
      Object stored = SampleFields(i);
      double ct = 1.7e12 + i;
      stored.emplace("_creationTime", Value::Float64(ct));
      std::string index_key = key_layout::IndexPrefix(1);
      AppendSortKey(Value::Float64(ct), &index_key);
      AppendIdSortKey(id, &index_key);
      std::string ts;
      key_layout::AppendU64(static_cast<uint64_t>(i), &ts);
      rocksdb::WriteBatch batch;
      batch.Put(key_layout::DocumentKey(id), ToConvexJson(Value::FromObject(std::move(stored))))
          .PermitUncheckedError();
      batch.Put(index_key, "").PermitUncheckedError();
      batch.Put(key_layout::MetaTsKey(), ts).PermitUncheckedError();
      if (!raw->Write(wo, &batch).ok()) Die("raw write");
    });
    delete raw;
    std::printf("| insert, %s, %d thread%s | %s | %s / %s | %s | %s / %s | %.0f%% |\n", mode,
                threads, threads > 1 ? "s" : "", Fmt(ours.ops_per_sec).c_str(),
                Fmt(ours.p50_us).c_str(), Fmt(ours.p99_us).c_str(), Fmt(base.ops_per_sec).c_str(),
                Fmt(base.p50_us).c_str(), Fmt(base.p99_us).c_str(),
                100.0 * ours.ops_per_sec / base.ops_per_sec);
  }
}

// Shared fixture for reads and scans: one database with 20000 documents, 1000 of them
// under owner "hot", indexed by_owner.
struct ReadFixture {
  std::unique_ptr<Database> db;
  std::vector<DocumentId> ids;
};

void ReadBenches(const std::string& dir) {
  std::filesystem::remove_all(dir);
  DatabaseOptions options;
  options.path = dir + "/cvx";
  auto opened = Database::Open(options);
  if (!opened.ok()) Die("open");
  std::unique_ptr<Database> db = std::move(opened).value();
  if (!db->SetIndexes("accounts", {{"by_owner", {"owner"}}}).ok()) Die("indexes");
  std::vector<DocumentId> ids;
  for (int batch = 0; batch < 20; ++batch) {
    auto txn = db->Begin();
    for (int i = 0; i < 1000; ++i) {
      Object f = SampleFields(batch * 1000 + i);
      if (batch == 7) f["owner"] = Value::String("hot");
      auto id = txn->Insert("accounts", std::move(f));
      if (!id.ok()) Die("load");
      ids.push_back(*id);
    }
    if (!txn->Commit().ok()) Die("load commit");
  }
  std::vector<std::string> keys;
  for (const DocumentId& id : ids) keys.push_back(key_layout::DocumentKey(id));

  // The engine's own RocksDB is opened read-only alongside for the raw baseline.
  rocksdb::DB* raw = nullptr;
  rocksdb::Options rocks;
  if (!rocksdb::DB::OpenForReadOnly(rocks, dir + "/cvx", &raw).ok()) Die("raw open");

  for (int threads : {1, 8}) {
    Result ours = RunTimed(threads, [&](int t) {
      thread_local std::mt19937 rng(t);
      auto txn = db->Begin();
      auto doc = txn->Get(ids[rng() % ids.size()]);
      if (!doc.ok() || !doc->has_value() || !txn->Commit().ok()) Die("get");
    });
    Result base = RunTimed(threads, [&](int t) {
      thread_local std::mt19937 rng(t + 100);
      const rocksdb::Snapshot* snap = raw->GetSnapshot();
      rocksdb::ReadOptions ro;
      ro.snapshot = snap;
      std::string value;
      if (!raw->Get(ro, keys[rng() % keys.size()], &value).ok()) Die("raw get");
      auto parsed = ParseConvexJson(value);  // the engine decodes what it reads; so do we
      if (!parsed.ok()) Die("raw parse");
      raw->ReleaseSnapshot(snap);
    });
    std::printf("| point read, %d thread%s | %s | %s / %s | %s | %s / %s | %.0f%% |\n", threads,
                threads > 1 ? "s" : "", Fmt(ours.ops_per_sec).c_str(), Fmt(ours.p50_us).c_str(),
                Fmt(ours.p99_us).c_str(), Fmt(base.ops_per_sec).c_str(), Fmt(base.p50_us).c_str(),
                Fmt(base.p99_us).c_str(), 100.0 * ours.ops_per_sec / base.ops_per_sec);
  }

  // Range scan of the 1000 "hot" documents.
  std::string lo, hi;
  {
    // Find the by_owner index prefix through a scan's cursor: the first 5 bytes.
    auto txn = db->Begin();
    ScanRequest req;
    req.table = "accounts";
    req.index = "by_owner";
    req.range.eq.push_back(Value::String("hot"));
    req.limit = 1;
    auto r = txn->Scan(req);
    if (!r.ok() || r->documents.empty()) Die("scan probe");
    lo = r->cursor.substr(0, 5);
    AppendSortKey(Value::String("hot"), &lo);
    hi = RangeEnd(lo);
  }
  size_t scanned = 0;
  Result ours = RunTimed(1, [&](int) {
    auto txn = db->Begin();
    ScanRequest req;
    req.table = "accounts";
    req.index = "by_owner";
    req.range.eq.push_back(Value::String("hot"));
    auto r = txn->Scan(req);
    if (!r.ok()) Die("scan");
    scanned = r->documents.size();
  });
  auto raw_scan = [&](bool fetch) {
    return RunTimed(1, [&](int) {
      const rocksdb::Snapshot* snap = raw->GetSnapshot();
      rocksdb::ReadOptions ro;
      ro.snapshot = snap;
      rocksdb::Slice upper(hi);
      ro.iterate_upper_bound = &upper;
      std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(ro));
      size_t n = 0;
      for (it->Seek(lo); it->Valid(); it->Next()) {
        if (fetch) {
          DocumentId id;
          key_layout::ParseIndexEntryId(std::string_view(it->key().data(), it->key().size()), &id);
          std::string value;
          rocksdb::ReadOptions get_ro;
          get_ro.snapshot = snap;
          if (!raw->Get(get_ro, key_layout::DocumentKey(id), &value).ok()) Die("raw scan get");
          if (!ParseConvexJson(value).ok()) Die("raw scan parse");
        }
        ++n;
      }
      if (n != 1000) Die("raw scan count " + std::to_string(n));
      raw->ReleaseSnapshot(snap);
    });
  };
  Result same_work = raw_scan(true);
  Result keys_only = raw_scan(false);
  if (scanned != 1000) Die("scan count " + std::to_string(scanned));
  std::printf("| scan 1000 docs (vs raw keys + get + decode) | %s | %s / %s | %s | %s / %s | %.0f%% |\n",
              Fmt(ours.ops_per_sec).c_str(), Fmt(ours.p50_us).c_str(), Fmt(ours.p99_us).c_str(),
              Fmt(same_work.ops_per_sec).c_str(), Fmt(same_work.p50_us).c_str(),
              Fmt(same_work.p99_us).c_str(), 100.0 * ours.ops_per_sec / same_work.ops_per_sec);
  std::printf("| scan 1000 docs (vs raw index keys only) | %s | %s / %s | %s | %s / %s | %.0f%% |\n",
              Fmt(ours.ops_per_sec).c_str(), Fmt(ours.p50_us).c_str(), Fmt(ours.p99_us).c_str(),
              Fmt(keys_only.ops_per_sec).c_str(), Fmt(keys_only.p50_us).c_str(),
              Fmt(keys_only.p99_us).c_str(), 100.0 * ours.ops_per_sec / keys_only.ops_per_sec);
  delete raw;
}

void OpenCloseBench() {
  // Warm up once (first use loads code pages).
  {
    DatabaseOptions options;
    options.durability = Durability::kMemory;
    auto db = Database::Open(options);
    if (!db.ok()) Die("memory open");
  }
  constexpr int kRounds = 50;
  std::vector<double> lat;
  for (int i = 0; i < kRounds; ++i) {
    auto a = bench::SteadyClock::now();
    DatabaseOptions options;
    options.durability = Durability::kMemory;
    auto db = Database::Open(options);
    if (!db.ok()) Die("memory open");
    db->reset();
    lat.push_back(std::chrono::duration<double, std::micro>(bench::SteadyClock::now() - a).count());
  }
  Result r = Summarize(lat, 1);
  // RSS per open database: hold 20 open at once.
  long before = RssKb();
  size_t heap_before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<Database>> held;
  for (int i = 0; i < 20; ++i) {
    DatabaseOptions options;
    options.durability = Durability::kMemory;
    auto db = Database::Open(options);
    if (!db.ok()) Die("memory open");
    auto txn = (*db)->Begin();
    if (!txn->Insert("t", {}).ok() || !txn->Commit().ok()) Die("memory insert");
    held.push_back(std::move(db).value());
  }
  long per_db_kb = (RssKb() - before) / 20;
  double heap_per_db_mb = (mallinfo2().uordblks - heap_before) / 20.0 / (1 << 20);
  std::printf("\nOpen + close of a memory-mode database: p50 %.2f ms, p99 %.2f ms. "
              "Per open database holding one document: %.2f MB RSS, %.2f MB malloc'd heap.\n",
              r.p50_us / 1000, r.p99_us / 1000, per_db_kb / 1024.0, heap_per_db_mb);
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  cvx::bench::ParseArgs(argc, argv);
  std::string dir = std::filesystem::temp_directory_path().string() + "/cvx-engine-bench-" +
                    std::to_string(getpid());
  std::printf("## Engine (engine_bench, %.1f s per cell)\n\n", cvx::bench::g_seconds);
  std::printf("| case | convexlite ops/s | p50 / p99 µs | raw RocksDB ops/s | p50 / p99 µs | ratio |\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  cvx::InsertBench(cvx::Durability::kProcess, dir);
  cvx::InsertBench(cvx::Durability::kSync, dir);
  cvx::ReadBenches(dir);
  cvx::OpenCloseBench();
  std::filesystem::remove_all(dir);
  return 0;
}
