// File: engine/internal/state.h
//
// Engine-private state shared by database.cc and transaction.cc: the published snapshot,
// the table catalog, commit requests and the Database's guts. Includes RocksDB, so no
// public header may include it.

#ifndef CVX_ENGINE_INTERNAL_STATE_H_
#define CVX_ENGINE_INTERNAL_STATE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include <condition_variable>
#include <mutex>
#include "engine/database.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/write_batch.h"

namespace cvx::engine_internal {

struct IndexInfo {
  std::string name;
  std::vector<std::string> fields;  // declared fields only
  uint32_t id = 0;
};

// One table of the catalog. `indexes[0]` is always by_creation_time.
struct TableInfo {
  std::string name;
  uint32_t number = 0;
  std::vector<IndexInfo> indexes;
  // In a transaction's table_changes_ only: the table is deleted by this transaction.
  bool deleted = false;

  const IndexInfo* FindIndex(std::string_view index_name) const;
  std::string IndexesJson() const;
  static absl::StatusOr<std::vector<IndexInfo>> ParseIndexesJson(std::string_view json);
};

struct Catalog {
  std::map<std::string, std::shared_ptr<const TableInfo>, std::less<>> by_name;
  std::map<uint32_t, std::shared_ptr<const TableInfo>> by_number;
};

// A published commit: readers pin it; the RocksDB snapshot is released with the last pin.
struct Snapshot {
  uint64_t ts = 0;
  rocksdb::DB* db = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;
  std::shared_ptr<const Catalog> catalog;
  ~Snapshot() {
    if (snapshot != nullptr) db->ReleaseSnapshot(snapshot);
  }
};

struct CommitRequest {
  uint64_t begin_ts = 0;
  std::vector<std::pair<std::string, std::string>> reads;  // sorted, disjoint [lo, hi)
  // Puts (value set) and deletes (nullopt), applied in order.
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  std::vector<std::string> written_keys;  // sorted, unique
  std::vector<std::shared_ptr<const TableInfo>> catalog_changes;
  // Filled by the committer.
  bool done = false;
  absl::Status status;
  uint64_t ts = 0;
};

struct LogEntry {
  uint64_t wall = 0;  // when it committed, by the wall clock
  size_t bytes = 0;
  std::shared_ptr<const CommitInfo> info;
};

// True when some key of `keys` falls in one of the sorted, disjoint intervals `reads`.
bool Intersects(const std::vector<std::pair<std::string, std::string>>& reads,
                const std::vector<std::string>& keys);

// Maps a RocksDB status to ours (FromRocksStatus in style-models.md §3).
absl::Status FromRocksStatus(const rocksdb::Status& s, std::string_view context);

}  // namespace cvx::engine_internal

namespace cvx {

struct Database::Impl {
  DatabaseOptions options;
  std::unique_ptr<rocksdb::Env> mem_env;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;

  // std::mutex, not absl::Mutex: Debian's abseil is built without TSan annotations, so
  // TSan cannot see absl::Mutex's happens-before edges and reports false races. `make tsan`
  // must be able to judge this code. Fields below "guarded by mu" say so in comments.
  mutable std::mutex mu;
  std::shared_ptr<const engine_internal::Snapshot> current;  // guarded by mu
  // Recently published snapshots, oldest first, with their wall publish time (BeginAt).
  std::deque<std::pair<uint64_t, std::shared_ptr<const engine_internal::Snapshot>>>
      recent;  // guarded by mu
  std::condition_variable queue_cv;
  std::deque<engine_internal::CommitRequest*> queue;  // guarded by mu
  std::deque<engine_internal::LogEntry> log;  // guarded by mu
  size_t log_bytes = 0;  // guarded by mu
  uint64_t log_floor_ts = 0;  // guarded by mu; every commit with ts > this is logged
  uint64_t last_ts = 0;  // guarded by mu
  absl::Status background_error;  // guarded by mu
  Stats stats;  // guarded by mu

  std::mutex listeners_mu;
  std::map<int, std::function<void(const CommitInfo&)>> listeners;  // guarded by listeners_mu
  int next_listener = 0;  // guarded by listeners_mu

  absl::Status Commit(engine_internal::CommitRequest* request);
  std::shared_ptr<const engine_internal::Snapshot> MakeSnapshot(
      uint64_t ts, std::shared_ptr<const engine_internal::Catalog> catalog);
};

}  // namespace cvx

#endif  // CVX_ENGINE_INTERNAL_STATE_H_
