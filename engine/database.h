// File: engine/database.h
//
// A convexlite database: Convex documents in tables, with indexes, stored in RocksDB, and
// serializable optimistic transactions on top.
//
// Serializability is ours, not RocksDB's: each Transaction reads at a snapshot (the
// latest published commit when it began) and records a read set of key intervals: points
// for Get and index intervals for Scan. Commit hands the read set and the writes to one
// committer, which checks the read set against the keys written by every commit after the
// transaction's begin ts (a document's key and, in every index of its table, its old and
// new entry), then writes one RocksDB WriteBatch per group of waiting commits and publishes
// a new snapshot. A conflict is kAborted ("OccConflict") and leaves nothing behind; the
// caller retries the whole transaction. See docs/architecture.md.
//
// Timestamps are u64 nanoseconds: each commit gets max(previous + 1, wall clock now),
// persisted in the same batch, so they increase strictly across restarts.
//
// Thread safety: Database is thread-safe. A Transaction is used by one thread at a time.
//
//   ASSIGN_OR_RETURN(auto db, Database::Open({.path = "/tmp/x"}));
//   auto txn = db->Begin();
//   ASSIGN_OR_RETURN(DocumentId id, txn->Insert("users", {{"name", Value::String("ada")}}));
//   RETURN_IF_ERROR(txn->Commit());

#ifndef CVX_ENGINE_DATABASE_H_
#define CVX_ENGINE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/transaction.h"

namespace cvx {

enum class Durability {
  kProcess,  // WAL without fsync: survives a process crash (kill -9), not power loss.
  kSync,     // fsync per commit group: survives power loss.
  kMemory,   // RocksDB's in-memory Env: nothing survives Close. For per-test databases.
};

struct DatabaseOptions {
  std::string path;  // the data directory; ignored (but named) in kMemory mode
  Durability durability = Durability::kProcess;
  Clock* clock = SystemClock();  // not owned; must outlive the Database
  // A transaction older than this (wall time since Begin) fails with kAborted
  // "TransactionTooOld" on its next read or at commit.
  absl::Duration max_transaction_age = absl::Seconds(30);
  // Commits stay in the in-memory write log at least this long, and at most
  // write_log_max_bytes in all. A transaction whose begin ts falls before the log's start
  // fails at commit with kAborted "SnapshotTooOld".
  absl::Duration write_log_window = absl::Seconds(60);
  size_t write_log_max_bytes = 64 << 20;
  // How many recent snapshots BeginAt can still read.
  size_t retained_snapshots = 64;
  // Commits grouped into one WriteBatch at most.
  size_t max_group_size = 64;
};

// What a commit wrote, for subscriptions: the commit ts and every key it touched (document
// keys and old and new index entries), sorted.
struct CommitInfo {
  uint64_t ts = 0;
  std::vector<std::string> written_keys;
};

class Database {
 public:
  // Opens (creating if missing) the database. Errors: kFailedPrecondition "DataDirLocked"
  // when another process holds the directory; kDataLoss "Corruption"; kUnavailable "IoError".
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Database>> Open(
      const DatabaseOptions& options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A transaction at the latest published snapshot.
  std::unique_ptr<Transaction> Begin();

  // A read transaction at the state as of `ts`: the newest published commit at or before
  // it. Recent snapshots are retained (the last `retained_snapshots`, at most
  // `max_transaction_age` old). Errors: kOutOfRange "FutureTimestamp" when ts is after
  // the latest commit; kFailedPrecondition "SnapshotTooOld" when no longer retained.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<Transaction>> BeginAt(uint64_t ts);

  // The ts of the latest published commit (0 for a new database).
  uint64_t LatestTs() const;

  // Calls `listener` after every commit is published, in ts order, on the committing
  // thread. The listener must be quick and must not commit. Returns a handle for removal.
  int AddCommitListener(std::function<void(const CommitInfo&)> listener);
  void RemoveCommitListener(int handle);

  // Table names, sorted, as of the latest snapshot.
  std::vector<std::string> TableNames() const;

  // Makes `table`'s user indexes exactly `indexes` (creating the table when missing):
  // new ones are backfilled, removed ones dropped, changed ones rebuilt, all in one
  // commit. Errors: kInvalidArgument for bad names or more than 64 indexes / 16 fields;
  // kAborted when a concurrent commit conflicts.
  [[nodiscard]] absl::Status SetIndexes(std::string_view table,
                                        const std::vector<IndexDefinition>& indexes);

  struct Stats {
    uint64_t commits = 0;
    uint64_t conflicts = 0;
    uint64_t groups = 0;
  };
  Stats stats() const;

 private:
  friend class Transaction;
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `body` in a fresh transaction and commits it, retrying (up to 10 times) while the
// commit conflicts: for the runtime's own small writes outside registered functions
// (environment variables, CLI bookkeeping). Returns `body`'s error as is, the commit's
// error, or kAborted "OccConflict" ("could not <what>: too much contention").
[[nodiscard]] absl::Status CommitWithRetries(Database& db,
                                             const std::function<absl::Status(Transaction&)>& body,
                                             std::string_view what);

}  // namespace cvx

#endif  // CVX_ENGINE_DATABASE_H_
