#include "engine/transaction.h"

#include <set>

#include <algorithm>
#include <cmath>

#include <random>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "engine/internal/state.h"
#include "engine/storage/key_layout.h"
#include "engine/value/json.h"
#include "engine/value/sort_key.h"

namespace cvx {

using engine_internal::CommitRequest;
using engine_internal::FromRocksStatus;
using engine_internal::IndexInfo;
using engine_internal::Snapshot;
using engine_internal::TableInfo;

namespace {

constexpr char kCreationTime[] = "_creationTime";

absl::Status Finished() {
  return MakeError(absl::StatusCode::kFailedPrecondition, "TransactionFinished",
                   "the transaction has already committed or failed");
}

absl::Status NotFoundDoc(const DocumentId& id) {
  return MakeError(absl::StatusCode::kNotFound, "DocumentNotFound",
                   absl::StrCat("Document with ID \"", id.Encode(), "\" does not exist"));
}

// Looks up a dotted field path ("a.b") in a document's fields; nullopt = undefined.
std::optional<Value> LookupPath(const Document& doc, std::string_view path) {
  if (path == kCreationTime) return Value::Float64(doc.creation_time);
  if (path == "_id") return Value::String(doc.id.Encode());
  const Object* obj = &doc.fields;
  const Value* found = nullptr;
  for (absl::string_view part : absl::StrSplit(AV(path), '.')) {
    if (obj == nullptr) return std::nullopt;
    auto it = obj->find(SV(part));
    if (it == obj->end()) return std::nullopt;
    found = &it->second;
    obj = found->is_object() ? &found->object() : nullptr;
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

// The increment of a key prefix: the first key greater than every key starting with it.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

absl::StatusOr<Document> DecodeDocument(const DocumentId& id, std::string_view stored) {
  CVX_ASSIGN_OR_RETURN(Value v, ParseConvexJson(stored));
  if (!v.is_object()) {
    return MakeError(absl::StatusCode::kDataLoss, "Corruption", "stored document is not an object");
  }
  Document doc;
  doc.id = id;
  doc.fields = std::move(v.mutable_object());
  auto ct = doc.fields.find(kCreationTime);
  if (ct == doc.fields.end() || !ct->second.is_float64()) {
    return MakeError(absl::StatusCode::kDataLoss, "Corruption", "stored document lacks _creationTime");
  }
  doc.creation_time = ct->second.float64();
  doc.fields.erase(ct);
  return doc;
}

std::string EncodeDocument(const Document& doc) {
  Object stored = doc.fields;
  stored.emplace(kCreationTime, Value::Float64(doc.creation_time));
  return ToConvexJson(Value::FromObject(std::move(stored)));
}

}  // namespace

Value Document::ToValue() const {
  Object out = fields;
  out.emplace("_id", Value::String(id.Encode()));
  out.emplace(kCreationTime, Value::Float64(creation_time));
  return Value::FromObject(std::move(out));
}

Transaction::Transaction(Database* db, std::shared_ptr<const Snapshot> snapshot,
                         uint64_t wall_start)
    : db_(db), snapshot_(std::move(snapshot)), begin_ts_(snapshot_->ts), wall_start_(wall_start) {
  // _creationTime: ms, at least the begin ts; later inserts take the next double up.
  next_creation_time_ =
      static_cast<double>(std::max(wall_start_, begin_ts_ + 1)) / 1e6;
}

Transaction::~Transaction() = default;

absl::Status Transaction::CheckUsable() {
  if (finished_) return Finished();
  uint64_t now = db_->impl_->options.clock->NowNanos();
  if (now > wall_start_ &&
      now - wall_start_ > static_cast<uint64_t>(
                              absl::ToInt64Nanoseconds(db_->impl_->options.max_transaction_age))) {
    return Aborted("TransactionTooOld", "the transaction outlived its maximum age");
  }
  return absl::OkStatus();
}

Transaction::Savepoint Transaction::Save() const {
  // TableInfo entries are immutable once in table_changes_ (every change makes a new
  // one), so copying the map of pointers is a snapshot of the catalog changes.
  return Savepoint(WriteState{writes_, index_overlay_, table_changes_, raw_writes_});
}

void Transaction::RollbackTo(Savepoint savepoint) {
  writes_ = std::move(savepoint.state_.writes);
  index_overlay_ = std::move(savepoint.state_.index_overlay);
  table_changes_ = std::move(savepoint.state_.table_changes);
  raw_writes_ = std::move(savepoint.state_.raw_writes);
}

void Transaction::RecordRead(std::string lo, std::string hi) {
  if (lo < hi) reads_.emplace_back(std::move(lo), std::move(hi));
}

absl::StatusOr<std::optional<Document>> Transaction::ReadSnapshotDocument(const DocumentId& id,
                                                                          size_t* bytes) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_->snapshot;
  std::string stored;
  rocksdb::Status s = snapshot_->db->Get(options, key_layout::DocumentKey(id), &stored);
  if (s.IsNotFound()) return std::optional<Document>();
  CVX_RETURN_IF_ERROR(FromRocksStatus(s, "reading a document"));
  if (bytes != nullptr) *bytes += stored.size();
  CVX_ASSIGN_OR_RETURN(Document doc, DecodeDocument(id, stored));
  return std::optional<Document>(std::move(doc));
}

absl::StatusOr<const TableInfo*> Transaction::LookupTable(std::string_view table) {
  RecordRead(key_layout::TableKey(table), key_layout::Successor(key_layout::TableKey(table)));
  const TableInfo* info = nullptr;
  if (auto it = table_changes_.find(std::string(table)); it != table_changes_.end()) {
    info = it->second->deleted ? nullptr : it->second.get();
  } else if (auto jt = snapshot_->catalog->by_name.find(table);
             jt != snapshot_->catalog->by_name.end()) {
    info = jt->second.get();
  }
  if (info != nullptr) {
    std::string key = key_layout::IndexesKey(info->number);
    RecordRead(key, key_layout::Successor(key));
  }
  return info;
}

absl::StatusOr<std::optional<uint32_t>> Transaction::TableNumber(std::string_view table) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, LookupTable(table));
  if (info == nullptr) return std::optional<uint32_t>();
  return std::optional<uint32_t>(info->number);
}

absl::StatusOr<std::vector<std::string>> Transaction::IndexFields(std::string_view table,
                                                                  std::string_view index) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  if (index == "by_id") return std::vector<std::string>{"_id"};
  if (index == "by_creation_time") return std::vector<std::string>{kCreationTime, "_id"};
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, LookupTable(table));
  const IndexInfo* found = info ? info->FindIndex(index) : nullptr;
  if (found == nullptr) {
    return MakeError(absl::StatusCode::kNotFound, "IndexNotFound",
                     absl::StrCat("Index ", AV(table), ".", AV(index), " not found."));
  }
  std::vector<std::string> fields = found->fields;
  fields.push_back(kCreationTime);
  fields.push_back("_id");
  return fields;
}

std::optional<std::string> Transaction::TableName(uint32_t table_number) const {
  return TableHolding(table_number);
}

absl::StatusOr<uint32_t> Transaction::AllocateIndexId() {
  std::string key(key_layout::MetaNextIndexKey());
  RecordRead(key, key_layout::Successor(key));
  uint32_t next = 1;
  if (auto it = raw_writes_.find(key); it != raw_writes_.end()) {
    next = key_layout::ReadU32(*it->second);
  } else {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_->snapshot;
    std::string stored;
    rocksdb::Status s = snapshot_->db->Get(options, key, &stored);
    if (s.ok() && stored.size() == 4) {
      next = key_layout::ReadU32(stored);
    } else if (!s.IsNotFound()) {
      CVX_RETURN_IF_ERROR(FromRocksStatus(s, "reading the next index id"));
    }
  }
  std::string bytes;
  key_layout::AppendU32(next + 1, &bytes);
  raw_writes_[key] = bytes;
  return next;
}

std::vector<std::string> Transaction::TableNames() {
  std::string prefix = key_layout::TablePrefix();
  RecordRead(prefix, RangeEnd(prefix));
  std::set<std::string> names;
  for (const auto& [name, info] : snapshot_->catalog->by_name) names.insert(name);
  for (const auto& [name, info] : table_changes_) {
    if (info->deleted) {
      names.erase(name);
    } else {
      names.insert(name);
    }
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::optional<std::string> Transaction::TableHolding(uint32_t number) const {
  for (const auto& [name, info] : table_changes_) {
    if (info->number == number && !info->deleted) return name;
  }
  auto it = snapshot_->catalog->by_number.find(number);
  if (it == snapshot_->catalog->by_number.end()) return std::nullopt;
  // A table renumbered or deleted in this transaction no longer holds its old number.
  if (table_changes_.count(it->second->name)) return std::nullopt;
  return it->second->name;
}

absl::StatusOr<const TableInfo*> Transaction::CreateTable(std::string_view table, uint32_t number) {
  if (!IsValidIdentifier(table)) {
    return InvalidArgument("InvalidTableName",
                           absl::StrCat("Invalid table name: \"", AV(table),
                                        "\". Table names must be identifiers (letters, digits "
                                        "and underscores, at most 64 characters)"));
  }
  // Choosing a number reads the whole catalog, so two creations conflict.
  std::string prefix = key_layout::TablePrefix();
  RecordRead(prefix, RangeEnd(prefix));
  if (number == 0) {
    // System tables (`_` names) take numbers below the user range, as in Convex, so that
    // every user number stays free for the tables a snapshot import brings.
    number = table[0] == '_' ? kFirstSystemTableNumber : kFirstUserTableNumber;
    while (TableHolding(number)) ++number;
  }
  auto info = std::make_shared<TableInfo>();
  info->name = std::string(table);
  info->number = number;
  CVX_ASSIGN_OR_RETURN(uint32_t index_id, AllocateIndexId());
  info->indexes.push_back(IndexInfo{"by_creation_time", {}, index_id});
  std::string number_bytes;
  key_layout::AppendU32(number, &number_bytes);
  raw_writes_[key_layout::TableKey(table)] = number_bytes;
  raw_writes_[key_layout::IndexesKey(number)] = info->IndexesJson();
  table_changes_[info->name] = info;
  return info.get();
}

absl::Status Transaction::AssignTableNumber(std::string_view table, uint32_t number) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  if (number < kFirstUserTableNumber) {
    return InvalidArgument("InvalidId", absl::StrCat("Table number ", number, " for table \"", AV(table),
                                                     "\" is not a user table number"));
  }
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, LookupTable(table));
  if (info != nullptr && info->number == number) return absl::OkStatus();
  std::string prefix = key_layout::TablePrefix();
  RecordRead(prefix, RangeEnd(prefix));
  if (std::optional<std::string> holder = TableHolding(number); holder && *holder != table) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "TableConflict",
                     absl::StrCat("New table `", AV(table), "` has IDs that conflict with existing table `",
                                  *holder, "` (table number ", number, ")"));
  }
  if (info == nullptr) return CreateTable(table, number).status();
  ScanRequest any;
  any.table = std::string(table);
  any.index = "by_id";
  any.limit = 1;
  CVX_ASSIGN_OR_RETURN(ScanResult rows, Scan(any));
  if (!rows.documents.empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "TableNumberConflict",
                     absl::StrCat("table ", AV(table), " wants table number ", number,
                                  " but was already assigned ", info->number));
  }
  // Same indexes (index entries are keyed by index id, not by table number).
  auto renumbered = std::make_shared<TableInfo>(*info);
  renumbered->number = number;
  std::string number_bytes;
  key_layout::AppendU32(number, &number_bytes);
  raw_writes_[key_layout::TableKey(table)] = number_bytes;
  // The old number's index list goes unless another table takes that number here.
  std::string old_key = key_layout::IndexesKey(info->number);
  if (!TableHolding(info->number) || *TableHolding(info->number) == table) raw_writes_[old_key] = std::nullopt;
  raw_writes_[key_layout::IndexesKey(number)] = renumbered->IndexesJson();
  table_changes_[renumbered->name] = renumbered;
  return absl::OkStatus();
}

absl::Status Transaction::DeleteTable(std::string_view table) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, LookupTable(table));
  if (info == nullptr) {
    return MakeError(absl::StatusCode::kNotFound, "TableNotFound",
                     absl::StrCat("Table \"", AV(table), "\" not found"));
  }
  ScanRequest all;
  all.table = std::string(table);
  all.index = "by_id";
  CVX_ASSIGN_OR_RETURN(ScanResult rows, Scan(all));
  for (const Document& d : rows.documents) CVX_RETURN_IF_ERROR(Delete(d.id));
  std::string prefix = key_layout::TablePrefix();
  RecordRead(prefix, RangeEnd(prefix));
  auto gone = std::make_shared<TableInfo>(*info);
  gone->deleted = true;
  raw_writes_[key_layout::TableKey(table)] = std::nullopt;
  raw_writes_[key_layout::IndexesKey(gone->number)] = std::nullopt;
  table_changes_[gone->name] = std::move(gone);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Document>> Transaction::Get(const DocumentId& id) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  std::string key = key_layout::DocumentKey(id);
  RecordRead(key, key_layout::Successor(key));
  if (auto it = writes_.find(id); it != writes_.end()) return it->second.after;
  return ReadSnapshotDocument(id, nullptr);
}

void Transaction::IndexKeysOf(const TableInfo& table, const Document& doc,
                              std::vector<std::string>* keys) const {
  for (const IndexInfo& index : table.indexes) {
    std::string key = key_layout::IndexPrefix(index.id);
    for (const std::string& field : index.fields) AppendSortKey(LookupPath(doc, field), &key);
    AppendSortKey(Value::Float64(doc.creation_time), &key);
    AppendIdSortKey(doc.id, &key);
    keys->push_back(std::move(key));
  }
}

absl::Status Transaction::ApplyWrite(const DocumentId& id, std::optional<Document> after) {
  auto name = TableName(id.table_number);
  if (!name.has_value()) return NotFoundDoc(id);
  CVX_ASSIGN_OR_RETURN(const TableInfo* table, LookupTable(*name));
  auto it = writes_.find(id);
  if (it == writes_.end()) {
    PendingWrite pending;
    pending.table_number = id.table_number;
    CVX_ASSIGN_OR_RETURN(pending.before, ReadSnapshotDocument(id, nullptr));
    pending.after = pending.before;
    it = writes_.emplace(id, std::move(pending)).first;
  }
  std::vector<std::string> old_keys, new_keys;
  if (it->second.after.has_value()) IndexKeysOf(*table, *it->second.after, &old_keys);
  if (after.has_value()) IndexKeysOf(*table, *after, &new_keys);
  for (std::string& k : old_keys) index_overlay_[std::move(k)] = false;
  for (std::string& k : new_keys) index_overlay_[std::move(k)] = true;
  it->second.after = std::move(after);
  return absl::OkStatus();
}

absl::StatusOr<const TableInfo*> Transaction::TableForInsert(std::string_view table,
                                                              const Object& fields) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  if (fields.count("_id") || fields.count(kCreationTime)) {
    return InvalidArgument("InvalidFieldName",
                           "System fields _id and _creationTime are set by the database");
  }
  CVX_RETURN_IF_ERROR(ValidateDocumentFields(fields));
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, LookupTable(table));
  if (info == nullptr) return CreateTable(table);
  return info;
}

absl::StatusOr<DocumentId> Transaction::Insert(std::string_view table, Object fields) {
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, TableForInsert(table, fields));
  // A per-thread generator seeded from the OS. (Not absl::BitGen: its shared seed pool
  // lives in Debian's uninstrumented abseil, which TSan cannot see synchronize.)
  thread_local std::mt19937_64 gen(std::random_device{}() ^
                                   (uint64_t{std::random_device{}()} << 32));
  std::array<uint8_t, 14> random;
  for (size_t i = 0; i < random.size(); i += 7) {
    uint64_t bits = gen();
    for (size_t j = 0; j < 7 && i + j < random.size(); ++j) random[i + j] = (bits >> (8 * j)) & 0xff;
  }
  Document doc;
  doc.id.table_number = info->number;
  doc.id.internal_id =
      MakeInternalId(random, static_cast<int64_t>(wall_start_ / 1000000000ull));
  doc.creation_time = next_creation_time_;
  next_creation_time_ = std::nextafter(next_creation_time_, INFINITY);
  doc.fields = std::move(fields);
  DocumentId id = doc.id;
  CVX_RETURN_IF_ERROR(ApplyWrite(id, std::move(doc)));
  return id;
}

absl::Status Transaction::InsertWithId(std::string_view table, const DocumentId& id,
                                       double creation_time, Object fields) {
  CVX_ASSIGN_OR_RETURN(const TableInfo* info, TableForInsert(table, fields));
  if (id.table_number != info->number) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "ImportConflict",
                     absl::StrCat("Document ", id.Encode(), " cannot be imported into table \"",
                                  AV(table), "\" because its IDs have a different format (table "
                                  "number ", id.table_number, ", the table has ", info->number, ")"));
  }
  CVX_ASSIGN_OR_RETURN(std::optional<Document> existing, Get(id));
  if (existing) {
    return MakeError(absl::StatusCode::kAlreadyExists, "DocumentExists",
                     absl::StrCat("Document ", id.Encode(), " already exists"));
  }
  Document doc;
  doc.id = id;
  doc.creation_time = creation_time;
  doc.fields = std::move(fields);
  return ApplyWrite(id, std::move(doc));
}

absl::Status Transaction::Replace(const DocumentId& id, Object fields) {
  CVX_ASSIGN_OR_RETURN(std::optional<Document> current, Get(id));
  if (!current.has_value()) return NotFoundDoc(id);
  fields.erase("_id");
  fields.erase(kCreationTime);
  CVX_RETURN_IF_ERROR(ValidateDocumentFields(fields));
  current->fields = std::move(fields);
  return ApplyWrite(id, std::move(current));
}

absl::Status Transaction::Delete(const DocumentId& id) {
  CVX_ASSIGN_OR_RETURN(std::optional<Document> current, Get(id));
  if (!current.has_value()) return NotFoundDoc(id);
  return ApplyWrite(id, std::nullopt);
}

absl::StatusOr<ScanResult> Transaction::Scan(const ScanRequest& request) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  ScanResult result;
  CVX_ASSIGN_OR_RETURN(const TableInfo* table, LookupTable(request.table));
  if (table == nullptr) {
    if (request.index != "by_id" && request.index != "by_creation_time") {
      return MakeError(absl::StatusCode::kNotFound, "IndexNotFound",
                       absl::StrCat("Index ", AV(request.table), ".", AV(request.index),
                                    " not found."));
    }
    result.done = true;
    return result;
  }
  const IndexRange& range = request.range;
  const bool by_id = request.index == "by_id";
  std::vector<std::string> fields;
  std::string prefix;
  if (by_id) {
    fields = {"_id"};
    prefix = key_layout::DocumentPrefix(table->number);
  } else {
    const IndexInfo* index = table->FindIndex(request.index);
    if (index == nullptr) {
      return MakeError(absl::StatusCode::kNotFound, "IndexNotFound",
                       absl::StrCat("Index ", AV(request.table), ".", AV(request.index),
                                    " not found."));
    }
    fields = index->fields;
    fields.push_back(kCreationTime);
    fields.push_back("_id");
    prefix = key_layout::IndexPrefix(index->id);
  }
  size_t used = range.eq.size() + ((range.lower || range.upper) ? 1 : 0);
  if (used > fields.size()) {
    return InvalidArgument("InvalidIndexRange",
                           absl::StrCat("The index range uses ", used, " fields but index ",
                                        AV(request.index), " has only ", fields.size()));
  }
  // Encodes the component for fields[pos]. _id values are ID strings of this table; any
  // other value cannot match, so it maps to an empty range.
  bool empty = false;
  auto component = [&](size_t pos, const std::optional<Value>& v) {
    std::string out;
    if (fields[pos] == "_id") {
      absl::StatusOr<DocumentId> id = (v && v->is_string())
                                          ? DocumentId::Decode(v->string())
                                          : absl::StatusOr<DocumentId>(absl::InvalidArgumentError(""));
      if (!id.ok() || id->table_number != table->number) {
        empty = true;
        return out;
      }
      if (by_id) {
        out.append(reinterpret_cast<const char*>(id->internal_id.data()), 16);
      } else {
        AppendIdSortKey(*id, &out);
      }
      return out;
    }
    AppendSortKey(v, &out);
    return out;
  };
  for (size_t i = 0; i < range.eq.size(); ++i) prefix += component(i, range.eq[i]);
  const size_t bound_pos = range.eq.size();
  // For by_id, components are raw 16-byte ids, so "all extensions" ends at PrefixEnd.
  auto all_after = [&](const std::string& p) {
    return by_id ? (p.size() == 21 ? key_layout::Successor(p) : PrefixEnd(p)) : RangeEnd(p);
  };
  std::string lo = prefix;
  std::string hi = all_after(prefix);
  if (range.lower) {
    std::string p = prefix + component(bound_pos, range.lower->value);
    lo = range.lower->inclusive ? p : all_after(p);
  }
  if (range.upper) {
    std::string p = prefix + component(bound_pos, range.upper->value);
    hi = range.upper->inclusive ? all_after(p) : p;
  }
  const bool asc = request.order == Order::kAsc;
  if (request.after) {
    if (asc) lo = std::max(lo, key_layout::Successor(*request.after));
    else hi = std::min(hi, *request.after);
  }
  bool stopped_at_until = false;
  if (request.until) {
    if (asc) {
      std::string end = key_layout::Successor(*request.until);
      if (end <= hi) { hi = end; stopped_at_until = true; }
    } else if (*request.until >= lo) {
      lo = *request.until;
      stopped_at_until = true;
    }
  }
  (void)stopped_at_until;
  if (empty || lo >= hi || request.limit == 0) {
    if (!empty && lo < hi && request.limit == 0) {
      return result;  // nothing read, nothing recorded
    }
    RecordRead(lo, hi);
    result.done = true;
    return result;
  }

  // The transaction's own writes over this key range.
  std::map<std::string, bool> by_id_overlay;
  const std::map<std::string, bool>* overlay = &index_overlay_;
  if (by_id) {
    for (const auto& [id, write] : writes_) {
      if (id.table_number == table->number) {
        by_id_overlay[key_layout::DocumentKey(id)] = write.after.has_value();
      }
    }
    overlay = &by_id_overlay;
  }

  rocksdb::ReadOptions options;
  options.snapshot = snapshot_->snapshot;
  rocksdb::Slice lo_slice(lo), hi_slice(hi);
  options.iterate_lower_bound = &lo_slice;
  options.iterate_upper_bound = &hi_slice;
  std::unique_ptr<rocksdb::Iterator> it(snapshot_->db->NewIterator(options));
  if (asc) it->Seek(lo_slice); else it->SeekToLast();
  auto ov = asc ? overlay->lower_bound(lo) : overlay->lower_bound(hi);
  auto ov_valid = [&] {
    if (asc) return ov != overlay->end() && ov->first < hi;
    return ov != overlay->begin() && std::prev(ov)->first >= lo;
  };
  auto ov_entry = [&]() -> const std::pair<const std::string, bool>& {
    return asc ? *ov : *std::prev(ov);
  };
  auto ov_advance = [&] { if (asc) ++ov; else --ov; };

  bool exhausted = false;
  while (true) {
    bool base_valid = it->Valid();
    bool over_valid = ov_valid();
    if (!base_valid && !over_valid) {
      CVX_RETURN_IF_ERROR(FromRocksStatus(it->status(), "scanning an index"));
      exhausted = true;
      break;
    }
    std::string key;
    bool present;
    std::string base_value;
    bool from_base = false;
    if (base_valid && over_valid) {
      std::string_view bk(it->key().data(), it->key().size());
      const auto& oe = ov_entry();
      int c = bk.compare(oe.first);
      if (!asc) c = -c;
      if (c < 0) {
        key = std::string(bk); present = true; from_base = true;
        base_value = it->value().ToString();
        if (asc) it->Next(); else it->Prev();
      } else if (c > 0) {
        key = oe.first; present = oe.second; ov_advance();
      } else {
        key = oe.first; present = oe.second; ov_advance();
        if (asc) it->Next(); else it->Prev();
      }
    } else if (base_valid) {
      key = it->key().ToString(); present = true; from_base = true;
      base_value = it->value().ToString();
      if (asc) it->Next(); else it->Prev();
    } else {
      const auto& oe = ov_entry();
      key = oe.first; present = oe.second; ov_advance();
    }
    if (!present) continue;
    DocumentId id;
    bool parsed = by_id ? key_layout::ParseDocumentKey(key, &id)
                        : key_layout::ParseIndexEntryId(key, &id);
    if (!parsed) {
      return MakeError(absl::StatusCode::kDataLoss, "Corruption", "malformed index key");
    }
    std::optional<Document> doc;
    if (auto w = writes_.find(id); w != writes_.end()) {
      doc = w->second.after;
    } else if (by_id && from_base) {
      result.bytes_read += base_value.size();
      CVX_ASSIGN_OR_RETURN(Document d, DecodeDocument(id, base_value));
      doc = std::move(d);
    } else {
      CVX_ASSIGN_OR_RETURN(doc, ReadSnapshotDocument(id, &result.bytes_read));
    }
    if (!doc.has_value()) {
      return MakeError(absl::StatusCode::kDataLoss, "Corruption",
                       "index entry points at a missing document");
    }
    result.documents.push_back(std::move(*doc));
    result.keys.push_back(key);
    result.cursor = std::move(key);
    if (result.documents.size() >= request.limit) break;
  }
  if (exhausted) {
    RecordRead(lo, hi);
    result.done = true;
  } else if (asc) {
    RecordRead(lo, key_layout::Successor(result.cursor));
  } else {
    RecordRead(result.cursor, hi);
  }
  return result;
}

absl::Status Transaction::SetIndexes(std::string_view table,
                                     const std::vector<IndexDefinition>& indexes) {
  CVX_RETURN_IF_ERROR(CheckUsable());
  if (indexes.size() > kMaxIndexesPerTable) {
    return InvalidArgument("TooManyIndexes",
                           absl::StrCat("Table ", AV(table), " has ", indexes.size(),
                                        " indexes; the maximum is ", kMaxIndexesPerTable));
  }
  for (const IndexDefinition& def : indexes) {
    if (!IsValidIdentifier(def.name) || def.name == "by_id" || def.name == "by_creation_time") {
      return InvalidArgument("InvalidIndexName",
                             absl::StrCat("Invalid index name: \"", def.name, "\""));
    }
    if (def.fields.empty() || def.fields.size() > kMaxIndexFields) {
      return InvalidArgument("InvalidIndexFields",
                             absl::StrCat("Index ", def.name, " must have 1 to ",
                                          kMaxIndexFields, " fields"));
    }
    for (const std::string& f : def.fields) {
      if (f == "_id" || f == kCreationTime) {
        return InvalidArgument(
            "InvalidIndexFields",
            absl::StrCat("Index ", def.name, " uses the reserved field ", f,
                         "; _creationTime and _id are added to every index automatically"));
      }
    }
  }
  CVX_ASSIGN_OR_RETURN(const TableInfo* existing, LookupTable(table));
  if (existing == nullptr) {
    CVX_ASSIGN_OR_RETURN(existing, CreateTable(table));
  }
  auto updated = std::make_shared<TableInfo>(*existing);
  updated->indexes.resize(1);  // keep by_creation_time
  std::vector<const IndexInfo*> added;
  std::vector<IndexInfo> dropped;
  for (const IndexDefinition& def : indexes) {
    const IndexInfo* old = existing->FindIndex(def.name);
    if (old != nullptr && old->fields == def.fields) {
      updated->indexes.push_back(*old);
    } else {
      CVX_ASSIGN_OR_RETURN(uint32_t id, AllocateIndexId());
      updated->indexes.push_back(IndexInfo{def.name, def.fields, id});
    }
  }
  for (const IndexInfo& old : existing->indexes) {
    const IndexInfo* now = updated->FindIndex(old.name);
    if (now == nullptr || now->id != old.id) dropped.push_back(old);
  }
  for (const IndexInfo& now : updated->indexes) {
    const IndexInfo* old = existing->FindIndex(now.name);
    if (old == nullptr || old->id != now.id) added.push_back(&now);
  }
  if (added.empty() && dropped.empty()) return absl::OkStatus();

  // Every document of the table, as this transaction sees it.
  ScanRequest all;
  all.table = std::string(table);
  all.index = "by_id";
  CVX_ASSIGN_OR_RETURN(ScanResult docs, Scan(all));
  TableInfo only_added = *updated;
  only_added.indexes.clear();
  for (const IndexInfo* a : added) only_added.indexes.push_back(*a);
  TableInfo only_dropped = *updated;
  only_dropped.indexes = dropped;
  for (const Document& doc : docs.documents) {
    std::vector<std::string> keys;
    IndexKeysOf(only_dropped, doc, &keys);
    for (std::string& k : keys) index_overlay_[std::move(k)] = false;
    keys.clear();
    IndexKeysOf(only_added, doc, &keys);
    for (std::string& k : keys) index_overlay_[std::move(k)] = true;
  }
  raw_writes_[key_layout::IndexesKey(updated->number)] = updated->IndexesJson();
  table_changes_[updated->name] = std::move(updated);
  return absl::OkStatus();
}

bool ReadSetIntersects(const std::vector<std::pair<std::string, std::string>>& read_set,
                       const std::vector<std::string>& keys) {
  return engine_internal::Intersects(read_set, keys);
}

std::vector<std::pair<std::string, std::string>> Transaction::ReadSet() const {
  std::vector<std::pair<std::string, std::string>> sorted = reads_, merged;
  std::sort(sorted.begin(), sorted.end());
  for (auto& r : sorted) {
    if (!merged.empty() && r.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(std::move(r));
    }
  }
  return merged;
}

absl::Status Transaction::Commit() {
  if (finished_) return Finished();
  CVX_RETURN_IF_ERROR(CheckUsable());
  finished_ = true;
  if (writes_.empty() && index_overlay_.empty() && raw_writes_.empty()) {
    commit_ts_ = begin_ts_;
    return absl::OkStatus();
  }
  CommitRequest request;
  request.begin_ts = begin_ts_;
  for (const auto& [key, value] : raw_writes_) {
    request.ops.emplace_back(key, value);
    request.written_keys.push_back(key);
  }
  for (const auto& [id, write] : writes_) {
    std::string key = key_layout::DocumentKey(id);
    if (write.after.has_value()) {
      request.ops.emplace_back(key, EncodeDocument(*write.after));
    } else {
      request.ops.emplace_back(key, std::nullopt);
    }
    request.written_keys.push_back(std::move(key));
  }
  for (const auto& [key, present] : index_overlay_) {
    request.ops.emplace_back(key, present ? std::optional<std::string>(std::string())
                                          : std::optional<std::string>());
    request.written_keys.push_back(key);
  }
  std::sort(request.written_keys.begin(), request.written_keys.end());
  request.written_keys.erase(std::unique(request.written_keys.begin(), request.written_keys.end()),
                             request.written_keys.end());
  request.reads = ReadSet();
  for (auto& [name, table] : table_changes_) request.catalog_changes.push_back(table);
  absl::Status status = db_->impl_->Commit(&request);
  if (status.ok()) commit_ts_ = request.ts;
  return status;
}

}  // namespace cvx
