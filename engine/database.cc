#include "engine/database.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/internal/state.h"
#include "engine/storage/key_layout.h"
#include "engine/value/json.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace cvx {
namespace engine_internal {

const IndexInfo* TableInfo::FindIndex(std::string_view index_name) const {
  for (const IndexInfo& index : indexes) {
    if (index.name == index_name) return &index;
  }
  return nullptr;
}

std::string TableInfo::IndexesJson() const {
  Array list;
  for (const IndexInfo& index : indexes) {
    Array fields;
    for (const std::string& f : index.fields) fields.push_back(Value::String(f));
    list.push_back(Value::FromObject({{"name", Value::String(index.name)},
                                      {"fields", Value::FromArray(std::move(fields))},
                                      {"id", Value::Float64(index.id)}}));
  }
  return ToConvexJson(Value::FromArray(std::move(list)));
}

absl::StatusOr<std::vector<IndexInfo>> TableInfo::ParseIndexesJson(std::string_view json) {
  CVX_ASSIGN_OR_RETURN(Value v, ParseConvexJson(json));
  std::vector<IndexInfo> out;
  auto corrupt = [] { return MakeError(absl::StatusCode::kDataLoss, "Corruption",
                                       "malformed index catalog entry"); };
  if (!v.is_array()) return corrupt();
  for (const Value& e : v.array()) {
    const Value* name = e.Find("name");
    const Value* fields = e.Find("fields");
    const Value* id = e.Find("id");
    if (!name || !name->is_string() || !fields || !fields->is_array() || !id ||
        !id->is_float64()) {
      return corrupt();
    }
    IndexInfo info;
    info.name = name->string();
    info.id = static_cast<uint32_t>(id->float64());
    for (const Value& f : fields->array()) {
      if (!f.is_string()) return corrupt();
      info.fields.push_back(f.string());
    }
    out.push_back(std::move(info));
  }
  return out;
}

bool Intersects(const std::vector<std::pair<std::string, std::string>>& reads,
                const std::vector<std::string>& keys) {
  if (reads.empty()) return false;
  for (const std::string& key : keys) {
    // The last interval whose start is <= key.
    auto it = std::upper_bound(reads.begin(), reads.end(), key,
                               [](const std::string& k, const auto& r) { return k < r.first; });
    if (it == reads.begin()) continue;
    --it;
    if (key < it->second) return true;
  }
  return false;
}

absl::Status FromRocksStatus(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(AV(context), ": ", s.ToString());
  if (s.IsBusy() || s.IsTryAgain()) return Aborted("OccConflict", msg);
  if (s.IsCorruption()) return MakeError(absl::StatusCode::kDataLoss, "Corruption", msg);
  if (s.IsIOError()) {
    if (absl::StrContains(s.ToString(), "lock")) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "DataDirLocked",
                       absl::StrCat(AV(context),
                                    ": the data directory is in use by another process (",
                                    s.ToString(), ")"));
    }
    if (absl::StrContains(s.ToString(), "Read-only") ||
        absl::StrContains(s.ToString(), "Permission denied")) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "DataDirNotWritable",
                       absl::StrCat(AV(context), ": the data directory is not writable (",
                                    s.ToString(), ")"));
    }
    return MakeError(absl::StatusCode::kUnavailable, "IoError", msg);
  }
  if (s.IsNotSupported() || s.IsInvalidArgument()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "StorageError", msg);
  }
  return Internal("StorageError", msg);
}

}  // namespace engine_internal

using engine_internal::Catalog;
using engine_internal::CommitRequest;
using engine_internal::FromRocksStatus;
using engine_internal::LogEntry;
using engine_internal::Snapshot;
using engine_internal::TableInfo;

namespace {

absl::StatusOr<std::shared_ptr<const Catalog>> LoadCatalog(rocksdb::DB* db) {
  auto catalog = std::make_shared<Catalog>();
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  std::string prefix = key_layout::TablePrefix();
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto table = std::make_shared<TableInfo>();
    table->name = it->key().ToString().substr(prefix.size());
    if (it->value().size() != 4) {
      return MakeError(absl::StatusCode::kDataLoss, "Corruption", "bad table catalog entry");
    }
    table->number = key_layout::ReadU32(std::string_view(it->value().data(), 4));
    std::string indexes;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), key_layout::IndexesKey(table->number), &indexes);
    CVX_RETURN_IF_ERROR(FromRocksStatus(s, "reading the index catalog"));
    CVX_ASSIGN_OR_RETURN(table->indexes, TableInfo::ParseIndexesJson(indexes));
    catalog->by_number[table->number] = table;
    catalog->by_name[table->name] = table;
  }
  CVX_RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the table catalog"));
  return std::shared_ptr<const Catalog>(std::move(catalog));
}

}  // namespace

std::shared_ptr<const Snapshot> Database::Impl::MakeSnapshot(
    uint64_t ts, std::shared_ptr<const Catalog> catalog) {
  auto snap = std::make_shared<Snapshot>();
  snap->ts = ts;
  snap->db = db.get();
  snap->snapshot = db->GetSnapshot();
  snap->catalog = std::move(catalog);
  return snap;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  rocksdb::Options rocks;
  rocks.create_if_missing = true;
  rocks.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocks.keep_log_file_num = 2;
  rocks.max_manifest_file_size = 64 << 20;
  rocks.stats_dump_period_sec = 0;
  rocks.stats_persist_period_sec = 0;
  rocks.avoid_unnecessary_blocking_io = true;
  // Damage inside the write-ahead log is refused at open (Corruption) instead of RocksDB's
  // default point-in-time recovery, which silently drops every write after it,
  // acknowledged ones included. A torn last record (a write cut off by a crash before it
  // was acknowledged) is still tolerated.
  rocks.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.cache_index_and_filter_blocks = true;
  rocks.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  std::string path = options.path;
  if (options.durability == Durability::kMemory) {
    impl->mem_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    rocks.env = impl->mem_env.get();
    rocks.write_buffer_size = 4 << 20;
    if (path.empty()) path = "/convexlite-memory";
  } else if (path.empty()) {
    return InvalidArgument("InvalidPath", "DatabaseOptions::path is empty");
  } else {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "DataDirNotWritable",
                       absl::StrCat("cannot create the data directory ", path, ": ",
                                    ec.message()));
    }
  }
  impl->write_options.sync = options.durability == Durability::kSync;
  // Nothing in memory survives Close, so a write-ahead log would only cost time.
  impl->write_options.disableWAL = options.durability == Durability::kMemory;

  rocksdb::DB* raw = nullptr;
  CVX_RETURN_IF_ERROR(FromRocksStatus(rocksdb::DB::Open(rocks, path, &raw),
                                      absl::StrCat("opening ", path)));
  impl->db.reset(raw);

  std::string ts_bytes;
  rocksdb::Status s = impl->db->Get(rocksdb::ReadOptions(), key_layout::MetaTsKey(), &ts_bytes);
  uint64_t last_ts = 0;
  if (s.ok()) {
    if (ts_bytes.size() != 8) {
      return MakeError(absl::StatusCode::kDataLoss, "Corruption", "bad commit ts record");
    }
    last_ts = key_layout::ReadU64(ts_bytes);
  } else if (!s.IsNotFound()) {
    return FromRocksStatus(s, "reading the commit ts");
  }
  CVX_ASSIGN_OR_RETURN(auto catalog, LoadCatalog(impl->db.get()));
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->last_ts = last_ts;
    impl->log_floor_ts = last_ts;
    impl->current = impl->MakeSnapshot(last_ts, std::move(catalog));
    impl->recent.emplace_back(options.clock->NowNanos(), impl->current);
  }
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Database::~Database() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->current.reset();
    impl_->recent.clear();
  }
  if (impl_->db) {
    impl_->db->Close().PermitUncheckedError();
    impl_->db.reset();
  }
}

std::unique_ptr<Transaction> Database::Begin() {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    snap = impl_->current;
  }
  return std::unique_ptr<Transaction>(
      new Transaction(this, std::move(snap), impl_->options.clock->NowNanos()));
}

absl::StatusOr<std::unique_ptr<Transaction>> Database::BeginAt(uint64_t ts) {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (ts > impl_->current->ts) {
      return MakeError(absl::StatusCode::kOutOfRange, "FutureTimestamp",
                       absl::StrCat("timestamp ", ts, " is after the latest commit ",
                                    impl_->current->ts));
    }
    if (ts == impl_->current->ts) {
      snap = impl_->current;
    } else {
      for (auto it = impl_->recent.rbegin(); it != impl_->recent.rend(); ++it) {
        if (it->second->ts <= ts) {
          // `recent` is a contiguous tail of published commits, so the newest one at or
          // before ts is exactly the state as of ts.
          snap = it->second;
          break;
        }
      }
    }
  }
  if (snap == nullptr) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "SnapshotTooOld",
                     absl::StrCat("timestamp ", ts, " is older than the retained snapshots"));
  }
  return std::unique_ptr<Transaction>(
      new Transaction(this, std::move(snap), impl_->options.clock->NowNanos()));
}

uint64_t Database::LatestTs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->current->ts;
}

int Database::AddCommitListener(std::function<void(const CommitInfo&)> listener) {
  std::lock_guard<std::mutex> lock(impl_->listeners_mu);
  int handle = impl_->next_listener++;
  impl_->listeners[handle] = std::move(listener);
  return handle;
}

void Database::RemoveCommitListener(int handle) {
  std::lock_guard<std::mutex> lock(impl_->listeners_mu);
  impl_->listeners.erase(handle);
}

std::vector<std::string> Database::TableNames() const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    snap = impl_->current;
  }
  std::vector<std::string> names;
  for (const auto& [name, table] : snap->catalog->by_name) names.push_back(name);
  return names;
}

absl::Status Database::SetIndexes(std::string_view table,
                                  const std::vector<IndexDefinition>& indexes) {
  auto txn = Begin();
  CVX_RETURN_IF_ERROR(txn->SetIndexes(table, indexes));
  return txn->Commit();
}

Database::Stats Database::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

// The committer, after leveldb's DBImpl::Write: commit requests queue up; the one at the
// front leads, takes a group of waiting requests, validates each against the write log
// (and against the earlier members of its group, which are logged first), writes one
// WriteBatch, publishes a snapshot, calls listeners, then hands leadership on.
absl::Status Database::Impl::Commit(CommitRequest* request) {
  std::unique_lock<std::mutex> lock(mu);
  queue.push_back(request);
  queue_cv.wait(lock, [&] { return request->done || queue.front() == request; });
  if (request->done) return request->status;

  // This request leads a group.
  std::vector<CommitRequest*> group;
  for (CommitRequest* r : queue) {
    group.push_back(r);
    if (group.size() >= options.max_group_size) break;
  }
  const uint64_t now_wall = options.clock->NowNanos();
  rocksdb::WriteBatch batch;
  std::vector<CommitRequest*> accepted;
  std::vector<std::shared_ptr<const CommitInfo>> infos;
  auto catalog = std::make_shared<Catalog>(*current->catalog);
  bool catalog_changed = false;
  uint64_t ts = last_ts;
  for (CommitRequest* r : group) {
    if (!background_error.ok()) {
      r->status = background_error;
      continue;
    }
    if (r->begin_ts < log_floor_ts) {
      r->status = Aborted("SnapshotTooOld",
                          "the transaction's snapshot is older than the write log window");
      ++stats.conflicts;
      continue;
    }
    auto first = std::upper_bound(log.begin(), log.end(), r->begin_ts,
                                  [](uint64_t t, const LogEntry& e) { return t < e.info->ts; });
    bool conflict = false;
    for (auto it = first; it != log.end() && !conflict; ++it) {
      conflict = engine_internal::Intersects(r->reads, it->info->written_keys);
    }
    if (conflict) {
      r->status = Aborted("OccConflict",
                          "a concurrent commit changed data this transaction read");
      ++stats.conflicts;
      continue;
    }
    ts = std::max(ts + 1, now_wall);
    r->ts = ts;
    for (auto& [key, value] : r->ops) {
      if (value.has_value()) {
        batch.Put(key, *value).PermitUncheckedError();
      } else {
        batch.Delete(key).PermitUncheckedError();
      }
    }
    for (const auto& table : r->catalog_changes) {
      // A renumbered table (snapshot import) leaves its old number, unless another table
      // of this commit has taken it already.
      if (auto old = catalog->by_name.find(table->name);
          old != catalog->by_name.end() && old->second->number != table->number) {
        auto held = catalog->by_number.find(old->second->number);
        if (held != catalog->by_number.end() && held->second->name == table->name) {
          catalog->by_number.erase(held);
        }
      }
      catalog_changed = true;
      if (table->deleted) {
        if (auto held = catalog->by_number.find(table->number);
            held != catalog->by_number.end() && held->second->name == table->name) {
          catalog->by_number.erase(held);
        }
        catalog->by_name.erase(table->name);
        continue;
      }
      catalog->by_name[table->name] = table;
      catalog->by_number[table->number] = table;
    }
    auto info = std::make_shared<CommitInfo>();
    info->ts = ts;
    info->written_keys = std::move(r->written_keys);
    size_t bytes = 64;
    for (const std::string& k : info->written_keys) bytes += k.size() + 32;
    log.push_back(LogEntry{now_wall, bytes, info});
    log_bytes += bytes;
    infos.push_back(std::move(info));
    accepted.push_back(r);
  }

  absl::Status write_status;
  if (!accepted.empty()) {
    std::string ts_bytes;
    key_layout::AppendU64(ts, &ts_bytes);
    batch.Put(key_layout::MetaTsKey(), ts_bytes).PermitUncheckedError();
    last_ts = ts;
    std::shared_ptr<const Catalog> published =
        catalog_changed ? std::shared_ptr<const Catalog>(std::move(catalog)) : current->catalog;
    lock.unlock();
    write_status = FromRocksStatus(db->Write(write_options, &batch), "committing");
    lock.lock();
    if (write_status.ok()) {
      current = MakeSnapshot(ts, std::move(published));
      recent.emplace_back(now_wall, current);
      const uint64_t max_age =
          static_cast<uint64_t>(absl::ToInt64Nanoseconds(options.max_transaction_age));
      while (recent.size() > options.retained_snapshots ||
             (!recent.empty() && now_wall - recent.front().first > max_age)) {
        recent.pop_front();
      }
      stats.commits += accepted.size();
      ++stats.groups;
    } else {
      background_error = write_status;
      for (CommitRequest* r : accepted) r->status = write_status;
    }
    while (!log.empty() && (log_bytes > options.write_log_max_bytes ||
                            now_wall - log.front().wall >
                                static_cast<uint64_t>(
                                    absl::ToInt64Nanoseconds(options.write_log_window)))) {
      log_floor_ts = log.front().info->ts;
      log_bytes -= log.front().bytes;
      log.pop_front();
    }
  }
  lock.unlock();

  if (write_status.ok() && !infos.empty()) {
    std::lock_guard<std::mutex> lock(listeners_mu);
    for (const auto& info : infos) {
      for (auto& [handle, listener] : listeners) listener(*info);
    }
  }

  lock.lock();
  for (CommitRequest* r : group) {
    queue.pop_front();
    r->done = true;
  }
  queue_cv.notify_all();
  return request->status;
}

absl::Status CommitWithRetries(Database& db, const std::function<absl::Status(Transaction&)>& body,
                               std::string_view what) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto txn = db.Begin();
    CVX_RETURN_IF_ERROR(body(*txn));
    absl::Status s = txn->Commit();
    if (s.code() != absl::StatusCode::kAborted) return s;
  }
  return Aborted("OccConflict", absl::StrCat("could not ", AV(what), ": too much contention"));
}

}  // namespace cvx
