#include "functions/context.h"

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/function_path.h"
#include "functions/runner.h"
#include "functions/triggers.h"

namespace cvx {

std::string RequestMetadata::NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  uint64_t bits = rng();
  for (int i = 0; i < 16; ++i) id.push_back(kHex[(bits >> (4 * i)) & 0xf]);
  return id;
}
namespace {

constexpr char kOverLimitHelp[] =
    "Consider using smaller limits in your queries, paginating your queries, or using indexed "
    "queries with a selective index range expressions.";
constexpr char kScheduledTable[] = "_scheduled_functions";

// JavaScript's util.inspect of a string: single quotes, with escapes.
std::string InspectString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    switch (c) {
      case '\'': out += "\\'"; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
  return out + "'";
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kLog: return "LOG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kDebug: return "DEBUG";
  }
  return "LOG";
}

absl::StatusOr<DocumentId> DecodeId(std::string_view id) {
  absl::StatusOr<DocumentId> decoded = DocumentId::Decode(id);
  if (!decoded.ok()) {
    return InvalidArgument("InvalidId", absl::StrCat("Invalid argument `id`: Unable to decode ID: ",
                                                     decoded.status().message()));
  }
  return decoded;
}

absl::Status DocumentNotFound(std::string_view id) {
  return MakeError(absl::StatusCode::kNotFound, "DocumentNotFound",
                   absl::StrCat("Document with ID \"", AV(id), "\" does not exist"));
}

}  // namespace

absl::Status ExecutionState::Poison(absl::Status status) {
  if (poisoned_.ok()) poisoned_ = status;
  return poisoned_;
}

absl::Status ExecutionState::CountRead(size_t documents, size_t bytes, size_t intervals) {
  CVX_RETURN_IF_ERROR(poisoned_);
  documents_read_ += documents;
  bytes_read_ += bytes;
  intervals_ += intervals;
  if (documents_read_ > limits_.max_documents_read) {
    return Poison(InvalidArgument(
        "TooManyDocumentsRead",
        absl::StrCat("Too many documents read in a single function execution (limit: ",
                     limits_.max_documents_read, "). ", kOverLimitHelp)));
  }
  if (bytes_read_ > limits_.max_bytes_read) {
    return Poison(InvalidArgument(
        "TooManyBytesRead",
        absl::StrCat("Too many bytes read in a single function execution (limit: ",
                     limits_.max_bytes_read, " bytes). ", kOverLimitHelp)));
  }
  if (intervals_ > limits_.max_read_intervals) {
    return Poison(InvalidArgument(
        "TooManyReads", absl::StrCat("Too many reads in a single function execution (limit: ",
                                     limits_.max_read_intervals, "). ", kOverLimitHelp)));
  }
  return absl::OkStatus();
}

absl::Status ExecutionState::CountWrite(size_t bytes) {
  CVX_RETURN_IF_ERROR(poisoned_);
  ++documents_written_;
  bytes_written_ += bytes;
  if (documents_written_ > limits_.max_documents_written) {
    return Poison(InvalidArgument(
        "TooManyWrites", absl::StrCat("Too many writes in a single function execution (limit: ",
                                      limits_.max_documents_written, ")")));
  }
  if (bytes_written_ > limits_.max_bytes_written) {
    return Poison(InvalidArgument(
        "TooManyBytesWritten",
        absl::StrCat("Too many bytes written in a single function execution (limit: ",
                     limits_.max_bytes_written, " bytes)")));
  }
  return absl::OkStatus();
}

absl::Status ExecutionState::CountScheduled(size_t args_bytes) {
  CVX_RETURN_IF_ERROR(poisoned_);
  scheduled_args_bytes_ += args_bytes;
  if (++scheduled_ > limits_.max_scheduled) {
    return Poison(InvalidArgument(
        "TooManyFunctionsScheduled",
        absl::StrCat("Too many functions scheduled by this mutation (limit: ",
                     limits_.max_scheduled, ")")));
  }
  return absl::OkStatus();
}

void ExecutionState::Log(LogLevel level, std::string_view message) {
  log_lines_.push_back(absl::StrCat("[", LevelName(level), "] ", InspectString(message)));
}

// --- DatabaseReader ---

TableNameResolver DatabaseReader::Resolver() const {
  Transaction* txn = txn_;
  return [txn](uint32_t number) { return txn->TableName(number); };
}

absl::Status DatabaseReader::CheckTableAccess(std::string_view table) const {
  bool is_system = !table.empty() && table[0] == '_';
  if (is_system && !system_) {
    return InvalidArgument("SystemTableAccess",
                           absl::StrCat("System table \"", AV(table),
                                        "\" can only be read with db.system"));
  }
  if (!is_system && system_) {
    return InvalidArgument("SystemTableAccess",
                           absl::StrCat("db.system can only read system tables, not \"",
                                        AV(table), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Value>> DatabaseReader::Get(std::string_view id) {
  CVX_RETURN_IF_ERROR(state_->poisoned());
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, DecodeId(id));
  std::optional<std::string> table = txn_->TableName(decoded.table_number);
  if (table.has_value()) CVX_RETURN_IF_ERROR(CheckTableAccess(*table));
  CVX_ASSIGN_OR_RETURN(std::optional<Document> doc, txn_->Get(decoded));
  size_t bytes = doc ? ValueSize(Value::FromObject(doc->fields)) : 0;
  CVX_RETURN_IF_ERROR(state_->CountRead(doc ? 1 : 0, bytes, 1));
  if (!doc) return std::optional<Value>();
  return std::optional<Value>(doc->ToValue());
}

cvx::Query DatabaseReader::Query(std::string_view table) {
  // An access error surfaces at the terminal call, as Convex's syscall errors do.
  return cvx::Query(txn_, state_, std::string(table), CheckTableAccess(table));
}

std::optional<std::string> DatabaseReader::NormalizeId(std::string_view table,
                                                       std::string_view id) {
  absl::StatusOr<DocumentId> decoded = DocumentId::Decode(id);
  if (!decoded.ok()) return std::nullopt;
  absl::StatusOr<std::optional<uint32_t>> number = txn_->TableNumber(table);
  if (!number.ok() || !number->has_value() || **number != decoded->table_number) {
    return std::nullopt;
  }
  return decoded->Encode();
}

// --- DatabaseWriter ---

absl::StatusOr<DocumentId> DatabaseWriter::ResolveWritable(std::string_view id,
                                                           std::string* table) {
  CVX_RETURN_IF_ERROR(state_->poisoned());
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, DecodeId(id));
  std::optional<std::string> name = txn_->TableName(decoded.table_number);
  if (!name.has_value()) {
    return DocumentNotFound(id);
  }
  CVX_RETURN_IF_ERROR(CheckTableAccess(*name));
  *table = *name;
  return decoded;
}

absl::Status DatabaseWriter::CheckSchema(std::string_view table, const Object& fields) {
  if (schema_ == nullptr) return absl::OkStatus();
  return schema_->CheckDocument(table, Value::FromObject(fields), Resolver());
}

namespace {
// Runs a trigger hook one level deeper; fails past kMaxTriggerDepth.
template <typename F>
auto Nested(int& depth, F&& f) -> decltype(f()) {
  if (depth >= kMaxTriggerDepth) {
    return InvalidArgument("TriggerDepthExceeded",
                           absl::StrCat("Triggers nested more than ", kMaxTriggerDepth,
                                        " levels deep"));
  }
  ++depth;
  auto result = f();
  --depth;
  return result;
}
}  // namespace

absl::StatusOr<std::string> DatabaseWriter::Insert(std::string_view table, Object fields) {
  CVX_RETURN_IF_ERROR(state_->poisoned());
  CVX_RETURN_IF_ERROR(CheckTableAccess(table));
  const TableTriggers* trig = triggers_ ? triggers_->Find(table) : nullptr;
  if (trig && trig->before_create) {
    CVX_ASSIGN_OR_RETURN(fields, Nested(trigger_depth_, [&] {
                           return trig->before_create(*this, std::move(fields));
                         }));
  }
  CVX_RETURN_IF_ERROR(CheckSchema(table, fields));
  CVX_RETURN_IF_ERROR(state_->CountWrite(ValueSize(Value::FromObject(fields))));
  CVX_ASSIGN_OR_RETURN(DocumentId id, txn_->Insert(table, std::move(fields)));
  std::string encoded = id.Encode();
  if (trig && trig->on_create) {
    CVX_ASSIGN_OR_RETURN(std::optional<Document> doc, txn_->Get(id));
    Value value = doc->ToValue();
    CVX_RETURN_IF_ERROR(Nested(trigger_depth_, [&] { return trig->on_create(*this, value); }));
  }
  return encoded;
}

absl::Status DatabaseWriter::Replace(std::string_view id, Object fields) {
  std::string table;
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, ResolveWritable(id, &table));
  CVX_ASSIGN_OR_RETURN(std::optional<Document> old, txn_->Get(decoded));
  if (!old) {
    return DocumentNotFound(id);
  }
  for (const char* system : {"_id", "_creationTime"}) {
    auto it = fields.find(system);
    if (it == fields.end()) continue;
    if (it->second != *old->ToValue().Find(system)) {
      return InvalidArgument("InvalidSystemField",
                             absl::StrCat("Cannot change the system field ", system));
    }
    fields.erase(it);
  }
  Value old_value = old->ToValue();
  const TableTriggers* trig = triggers_ ? triggers_->Find(table) : nullptr;
  if (trig && trig->before_update) {
    CVX_ASSIGN_OR_RETURN(fields, Nested(trigger_depth_, [&] {
                           return trig->before_update(*this, old_value, std::move(fields));
                         }));
  }
  CVX_RETURN_IF_ERROR(CheckSchema(table, fields));
  CVX_RETURN_IF_ERROR(state_->CountWrite(ValueSize(Value::FromObject(fields))));
  CVX_RETURN_IF_ERROR(txn_->Replace(decoded, std::move(fields)));
  if (trig && trig->on_update) {
    CVX_ASSIGN_OR_RETURN(std::optional<Document> updated, txn_->Get(decoded));
    Value new_value = updated->ToValue();
    CVX_RETURN_IF_ERROR(
        Nested(trigger_depth_, [&] { return trig->on_update(*this, new_value, old_value); }));
  }
  return absl::OkStatus();
}

absl::Status DatabaseWriter::Patch(std::string_view id, const cvx::Patch& patch) {
  std::string table;
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, ResolveWritable(id, &table));
  CVX_ASSIGN_OR_RETURN(std::optional<Document> old, txn_->Get(decoded));
  if (!old) {
    return DocumentNotFound(id);
  }
  Object fields = old->fields;
  for (const auto& [name, value] : patch) {
    if (value.has_value()) {
      fields.insert_or_assign(name, *value);
    } else {
      fields.erase(name);
    }
  }
  return Replace(id, std::move(fields));
}

absl::Status DatabaseWriter::Delete(std::string_view id) {
  std::string table;
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, ResolveWritable(id, &table));
  CVX_ASSIGN_OR_RETURN(std::optional<Document> old, txn_->Get(decoded));
  if (!old) {
    return DocumentNotFound(id);
  }
  Value old_value = old->ToValue();
  const TableTriggers* trig = triggers_ ? triggers_->Find(table) : nullptr;
  if (trig && trig->before_delete) {
    CVX_RETURN_IF_ERROR(
        Nested(trigger_depth_, [&] { return trig->before_delete(*this, old_value); }));
  }
  CVX_RETURN_IF_ERROR(state_->CountWrite(0));
  CVX_RETURN_IF_ERROR(txn_->Delete(decoded));
  if (trig && trig->on_delete) {
    CVX_RETURN_IF_ERROR(Nested(trigger_depth_, [&] { return trig->on_delete(*this, old_value); }));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DatabaseWriter::InsertSystem(std::string_view table, Object fields) {
  CVX_ASSIGN_OR_RETURN(DocumentId id, txn_->Insert(table, std::move(fields)));
  return id.Encode();
}

absl::Status DatabaseWriter::ReplaceSystem(std::string_view id, Object fields) {
  CVX_ASSIGN_OR_RETURN(DocumentId decoded, DecodeId(id));
  return txn_->Replace(decoded, std::move(fields));
}

// --- Auth ---

std::optional<Value> Auth::GetUserIdentity() const {
  if (identity_ == nullptr || !identity_->has_value()) return std::nullopt;
  return Value::FromObject(**identity_);
}

// --- Scheduler ---

absl::StatusOr<std::string> Scheduler::RunAfter(double delay_ms, std::string_view path,
                                                Object args) {
  return RunAt(state_->now_ms() + std::max(0.0, delay_ms), path, std::move(args));
}

absl::StatusOr<std::string> Scheduler::RunAt(double timestamp_ms, std::string_view path,
                                             Object args) {
  CVX_ASSIGN_OR_RETURN(std::string canonical, CanonicalizeFunctionPath(path));
  if (runner_->app()->Find(canonical) == nullptr) {
    return InvalidArgument("FunctionNotFound",
                           absl::StrCat("Could not find function for '",
                                        FunctionPathForDisplay(canonical), "'"));
  }
  Value arg = Value::FromObject(std::move(args));
  CVX_RETURN_IF_ERROR(state_->CountScheduled(ValueSize(arg)));
  Object row{{"name", Value::String(FunctionPathWithJs(canonical))},
             {"args", Value::FromArray({std::move(arg)})},
             {"scheduledTime", Value::Float64(timestamp_ms)},
             {"state", Value::FromObject({{"kind", Value::String("pending")}})}};
  return writer_->InsertSystem(kScheduledTable, std::move(row));
}

absl::Status Scheduler::Cancel(std::string_view id) {
  DatabaseReader system = writer_->System();
  CVX_ASSIGN_OR_RETURN(std::optional<Value> job, system.Get(id));
  if (!job.has_value()) {
    return MakeError(absl::StatusCode::kNotFound, "ScheduledFunctionNotFound",
                     absl::StrCat("Scheduled function \"", AV(id), "\" not found"));
  }
  const Value* state = job->Find("state");
  const Value* kind = state ? state->Find("kind") : nullptr;
  if (kind == nullptr || !kind->is_string() ||
      (kind->string() != "pending" && kind->string() != "inProgress")) {
    return absl::OkStatus();  // already finished: nothing to cancel
  }
  Object fields = job->object();
  fields.erase("_id");
  fields.erase("_creationTime");
  fields["state"] = Value::FromObject({{"kind", Value::String("canceled")}});
  fields["completedTime"] = Value::Float64(state_->now_ms());
  return writer_->ReplaceSystem(id, std::move(fields));
}

// --- Env ---

absl::StatusOr<std::vector<Document>> EnvironmentRows(Transaction* txn) {
  ScanRequest all;
  all.table = kEnvironmentTable;
  CVX_ASSIGN_OR_RETURN(ScanResult rows, txn->Scan(all));
  return std::move(rows.documents);
}

std::optional<std::string> LookupEnv(Transaction* txn, std::string_view name) {
  absl::StatusOr<std::vector<Document>> rows = EnvironmentRows(txn);
  if (!rows.ok()) return std::nullopt;
  for (const Document& row : *rows) {
    auto n = row.fields.find("name");
    auto v = row.fields.find("value");
    if (n != row.fields.end() && v != row.fields.end() && n->second.is_string() &&
        n->second.string() == name && v->second.is_string()) {
      return v->second.string();
    }
  }
  return std::nullopt;
}

std::optional<std::string> QueryCtx::Env(std::string_view name) {
  if (std::optional<std::string> v = state_->BuiltinEnv(name)) return v;
  return LookupEnv(db_.transaction(), name);
}

std::optional<std::string> MutationCtx::Env(std::string_view name) {
  if (std::optional<std::string> v = state_->BuiltinEnv(name)) return v;
  return LookupEnv(db_.transaction(), name);
}

std::optional<std::string> ActionCtx::Env(std::string_view name) {
  return runner_->GetEnv(nullptr, name);
}

}  // namespace cvx
