// File: engine/transaction.h
//
// One optimistic transaction over a Database snapshot. Reads see the snapshot plus the
// transaction's own writes; writes stay private until Commit. Every read adds to the read
// set that Commit validates (see database.h):
//   Get(id)     the point interval of the document key;
//   Scan(...)   the index interval actually walked: all of [lo, hi) when the scan ran out,
//               else up to and including the last entry returned;
//   table lookups the table's catalog key.
//
// Errors common to every method: kAborted "TransactionTooOld" when the transaction has
// outlived DatabaseOptions::max_transaction_age; kFailedPrecondition "TransactionFinished"
// after Commit or a failed write; kUnavailable/kDataLoss from storage.
//
// Thread safety: not thread-safe; one thread at a time.

#ifndef CVX_ENGINE_TRANSACTION_H_
#define CVX_ENGINE_TRANSACTION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/value/document_id.h"
#include "engine/value/value.h"

namespace cvx {

class Database;
namespace engine_internal {
struct Snapshot;
struct CommitRequest;
struct TableInfo;
}  // namespace engine_internal

// A stored document: its id, _creationTime (ms since the epoch) and user fields.
struct Document {
  DocumentId id;
  double creation_time = 0;
  Object fields;

  // The document as Convex shows it: the fields plus _id (string) and _creationTime.
  Value ToValue() const;
};

enum class Order { kAsc, kDesc };

// An index as the schema layer declares it. `fields` are field paths ("a.b"); the engine
// adds _creationTime and the _id tiebreak. The names by_id and by_creation_time are built in.
struct IndexDefinition {
  std::string name;
  std::vector<std::string> fields;
};

inline constexpr size_t kMaxIndexesPerTable = 64;
inline constexpr size_t kMaxIndexFields = 16;

// A range over one index, in Convex's form (convex-protocol.md §4): equality on the first
// eq.size() index fields, then at most one lower and one upper bound on the next field.
// The index's fields are its declared fields, then _creationTime, then _id; a value for
// _id must be an ID string of the table. nullopt values mean `undefined` (missing field).
struct IndexRange {
  struct Bound {
    std::optional<Value> value;
    bool inclusive = true;
  };
  std::vector<std::optional<Value>> eq;
  std::optional<Bound> lower;
  std::optional<Bound> upper;
};

struct ScanRequest {
  std::string table;
  std::string index = "by_creation_time";  // or "by_id", or a user index
  IndexRange range;
  Order order = Order::kAsc;
  size_t limit = SIZE_MAX;  // at most this many documents
  // Continue after this position (a ScanResult::cursor from an earlier scan of the same
  // index), exclusive.
  std::optional<std::string> after;
  // Stop at this position (inclusive), e.g. a page's end cursor.
  std::optional<std::string> until;
};

struct ScanResult {
  std::vector<Document> documents;
  std::vector<std::string> keys;  // each document's index position, as `cursor`
  bool done = false;       // the range is exhausted (or `until` was reached)
  std::string cursor;      // the index key of the last document returned ("" if none)
  size_t bytes_read = 0;   // stored bytes of the documents returned
};

// True when some key of `keys` lies in one of the sorted, disjoint intervals `read_set`.
bool ReadSetIntersects(const std::vector<std::pair<std::string, std::string>>& read_set,
                       const std::vector<std::string>& keys);

class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The snapshot ts this transaction reads at.
  uint64_t begin_ts() const { return begin_ts_; }

  // The document, or nullopt when it does not exist (or its table does not).
  [[nodiscard]] absl::StatusOr<std::optional<Document>> Get(const DocumentId& id);

  // Inserts a document into `table`, creating the table when it does not exist.
  // `fields` must not contain _id or _creationTime. Errors: kInvalidArgument (bad table
  // name, bad fields, too large).
  [[nodiscard]] absl::StatusOr<DocumentId> Insert(std::string_view table, Object fields);

  // Inserts a document with a given ID and _creationTime (snapshot import), creating the
  // table when missing. kFailedPrecondition "ImportConflict" when `id` belongs to another
  // table number than `table` has; kAlreadyExists "DocumentExists" when the ID is taken.
  [[nodiscard]] absl::Status InsertWithId(std::string_view table, const DocumentId& id,
                                          double creation_time, Object fields);

  // Names of every table, system ones included, sorted, as this transaction sees the
  // catalog. Records a read of the whole catalog (a new table conflicts / re-runs).
  std::vector<std::string> TableNames();

  // Gives `table` the table number `number` (snapshot import, as Convex's
  // assign_table_numbers does, so imported IDs keep working): creates the table with it
  // when missing; renumbers an existing table that is empty in this transaction (its rows
  // deleted here count). Tables renumbered in one transaction may swap numbers.
  // Errors: kInvalidArgument "InvalidId" for a number below the user range;
  // kFailedPrecondition "TableConflict" when another table holds `number`, and
  // "TableNumberConflict" when `table` has another number and still has documents.
  [[nodiscard]] absl::Status AssignTableNumber(std::string_view table, uint32_t number);

  // Deletes `table` with every document in it (snapshot import's replaceAll): its name
  // and number become free in this transaction, and at commit its catalog entry and index
  // list go. A later Insert or AssignTableNumber may create it again, with only the
  // built-in indexes. Errors: kNotFound "TableNotFound".
  [[nodiscard]] absl::Status DeleteTable(std::string_view table);

  // Replaces the fields of an existing document. kNotFound "DocumentNotFound" if missing.
  [[nodiscard]] absl::Status Replace(const DocumentId& id, Object fields);

  // Deletes an existing document. kNotFound "DocumentNotFound" if missing.
  [[nodiscard]] absl::Status Delete(const DocumentId& id);

  // Walks an index range. Errors: kNotFound "IndexNotFound"; kInvalidArgument
  // "InvalidIndexRange" when the range names more fields than the index has.
  // A missing table gives an empty, done result.
  [[nodiscard]] absl::StatusOr<ScanResult> Scan(const ScanRequest& request);

  // The table's number, or nullopt when it does not exist.
  [[nodiscard]] absl::StatusOr<std::optional<uint32_t>> TableNumber(std::string_view table);
  // The full key fields of an index, as range rules see them: the declared fields, then
  // _creationTime and _id (["_id"] for by_id). kNotFound "IndexNotFound". A missing table
  // has the built-in indexes only.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> IndexFields(std::string_view table,
                                                                     std::string_view index);
  // The table name of a table number, or nullopt.
  std::optional<std::string> TableName(uint32_t table_number) const;

  // Declares the user indexes of `table` (see Database::SetIndexes).
  [[nodiscard]] absl::Status SetIndexes(std::string_view table,
                                        const std::vector<IndexDefinition>& indexes);

  // Validates and commits. OK means durable per the database's Durability and visible to
  // later transactions; commit_ts() is then set. kAborted "OccConflict" (a concurrent commit
  // touched the read set) or "SnapshotTooOld": retry the whole transaction. A transaction
  // with no writes commits trivially at its begin ts.
  [[nodiscard]] absl::Status Commit();
  uint64_t commit_ts() const { return commit_ts_; }

  // The read set so far as sorted, disjoint [lo, hi) key intervals (for subscriptions:
  // a later commit whose written keys intersect it may change what this transaction saw).
  std::vector<std::pair<std::string, std::string>> ReadSet() const;

  // Number of documents written (inserts, replaces, deletes) so far.
  size_t write_count() const { return writes_.size(); }

  // The transaction's writes at one moment, for a nested mutation that may fail
  // (ctx.runMutation inside a mutation: Convex rolls back the callee's writes when it
  // throws, and the caller may catch and go on). Costs a copy of the write set.
  class Savepoint;
  [[nodiscard]] Savepoint Save() const;
  // Drops every write made since `savepoint` was taken (documents, index entries, catalog
  // changes). The read set is kept: what the rolled-back code read still decided what the
  // caller sees, so it must still be validated at commit. `savepoint` must come from this
  // transaction; savepoints taken after it become invalid.
  void RollbackTo(Savepoint savepoint);

 private:
  friend class Database;
  struct PendingWrite {
    std::optional<Document> before;  // as of the snapshot
    std::optional<Document> after;   // nullopt = deleted
    uint32_t table_number = 0;
  };
  struct WriteState {
    std::map<DocumentId, PendingWrite> writes;
    std::map<std::string, bool> index_overlay;
    std::map<std::string, std::shared_ptr<engine_internal::TableInfo>> table_changes;
    std::map<std::string, std::optional<std::string>> raw_writes;
  };

  Transaction(Database* db, std::shared_ptr<const engine_internal::Snapshot> snapshot,
              uint64_t wall_start);

  absl::Status CheckUsable();
  void RecordRead(std::string lo, std::string hi);
  absl::StatusOr<std::optional<Document>> ReadSnapshotDocument(const DocumentId& id,
                                                               size_t* bytes);
  absl::StatusOr<const engine_internal::TableInfo*> LookupTable(std::string_view table);
  // Creates `table` with `number`, or with the lowest free user number when 0.
  absl::StatusOr<const engine_internal::TableInfo*> CreateTable(std::string_view table,
                                                                uint32_t number = 0);
  // The table that holds `number` as this transaction sees the catalog, or nullopt.
  std::optional<std::string> TableHolding(uint32_t number) const;
  // Insert's checks (usable, no system fields, valid fields), then the table, created when
  // missing.
  absl::StatusOr<const engine_internal::TableInfo*> TableForInsert(std::string_view table,
                                                                   const Object& fields);
  absl::StatusOr<uint32_t> AllocateIndexId();
  absl::Status ApplyWrite(const DocumentId& id, std::optional<Document> after);
  void IndexKeysOf(const engine_internal::TableInfo& table, const Document& doc,
                   std::vector<std::string>* keys) const;

  Database* db_;
  std::shared_ptr<const engine_internal::Snapshot> snapshot_;
  uint64_t begin_ts_;
  uint64_t wall_start_;
  uint64_t commit_ts_ = 0;
  bool finished_ = false;
  double next_creation_time_ = 0;

  // Read set: [lo, hi) intervals, merged at commit.
  std::vector<std::pair<std::string, std::string>> reads_;
  // Write set by document.
  std::map<DocumentId, PendingWrite> writes_;
  // Index entries added (true) or removed (false) by this transaction.
  std::map<std::string, bool> index_overlay_;
  // Catalog changes: tables created or re-indexed here, and raw meta writes.
  std::map<std::string, std::shared_ptr<engine_internal::TableInfo>> table_changes_;
  std::map<std::string, std::optional<std::string>> raw_writes_;
};

class Transaction::Savepoint {
 private:
  friend class Transaction;
  explicit Savepoint(WriteState state) : state_(std::move(state)) {}
  WriteState state_;
};

}  // namespace cvx

#endif  // CVX_ENGINE_TRANSACTION_H_
