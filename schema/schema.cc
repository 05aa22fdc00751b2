#include "schema/schema.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"

namespace cvx {
namespace {

constexpr size_t kMaxReportedViolations = 10;

bool IsDocumentValidator(const Validator& v) {
  if (v.kind() == Validator::Kind::kAny || v.kind() == Validator::Kind::kObject) return true;
  if (v.kind() != Validator::Kind::kUnion) return false;
  for (const Validator& m : v.members()) {
    if (m.kind() != Validator::Kind::kObject) return false;
  }
  return true;
}

TableNameResolver ResolverFor(Transaction& txn) {
  return [&txn](uint32_t number) { return txn.TableName(number); };
}

}  // namespace

absl::Status SchemaDefinition::Validate() const {
  for (const auto& [name, table] : tables_) {
    if (!IsValidIdentifier(name) || name[0] == '_') {
      return InvalidArgument("InvalidTableName",
                             absl::StrCat("Invalid table name: \"", name,
                                          "\". Table names must be identifiers and must not "
                                          "start with '_'"));
    }
    if (!IsDocumentValidator(table.document())) {
      return InvalidArgument(
          "InvalidSchema",
          absl::StrCat("The document validator in a schema must be an object, a union of "
                       "objects, or `v.any()`. Found ",
                       table.document().ToString(),
                       ". To learn more, see the schema documentation at "
                       "https://docs.convex.dev/database/schemas."));
    }
    if (table.indexes().size() > kMaxIndexesPerTable) {
      return InvalidArgument("TooManyIndexes",
                             absl::StrCat("Table ", name, " has ", table.indexes().size(),
                                          " indexes; the maximum is ", kMaxIndexesPerTable));
    }
    std::map<std::string, int> seen;
    for (const IndexDefinition& index : table.indexes()) {
      if (seen[index.name]++) {
        return InvalidArgument("InvalidIndexName",
                               absl::StrCat("Duplicate index name ", index.name, " in table ",
                                            name));
      }
      if (!IsValidIdentifier(index.name) || index.name == "by_id" ||
          index.name == "by_creation_time" || index.name[0] == '_') {
        return InvalidArgument("InvalidIndexName",
                               absl::StrCat("Invalid index name: \"", index.name, "\""));
      }
      if (index.fields.empty() || index.fields.size() > kMaxIndexFields) {
        return InvalidArgument("InvalidIndexFields",
                               absl::StrCat("Index ", name, ".", index.name, " must have 1 to ",
                                            kMaxIndexFields, " fields"));
      }
      for (const std::string& f : index.fields) {
        if (f == "_id" || f == "_creationTime") {
          return InvalidArgument(
              "InvalidIndexFields",
              absl::StrCat("Index ", name, ".", index.name, " uses the reserved field ", f,
                           ": _creationTime and _id are added to every index automatically"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SchemaDefinition::CheckDocument(std::string_view table, const Value& fields,
                                             const TableNameResolver& resolver) const {
  const TableDefinition* def = Find(table);
  if (def == nullptr) {
    if (strict_tables_) {
      return InvalidArgument("TableNotInSchema",
                             absl::StrCat("Table \"", AV(table),
                                          "\" is not in the schema; add it to the schema or "
                                          "turn off strict tables"));
    }
    return absl::OkStatus();
  }
  if (!schema_validation_) return absl::OkStatus();
  absl::Status s = def->document().Check(fields, resolver);
  if (s.ok()) return s;
  return InvalidArgument("SchemaEnforcementError",
                         absl::StrCat("Failed to insert or update a document in table \"",
                                      AV(table), "\" because it does not match the schema: ",
                                      s.message()));
}

absl::Status ApplySchema(Database& db, const SchemaDefinition& schema) {
  CVX_RETURN_IF_ERROR(schema.Validate());
  auto txn = db.Begin();
  // The validators last checked against the data, by table: a table whose validator is
  // unchanged is not scanned again, so start-up does not read every document.
  ScanRequest checked_rows;
  checked_rows.table = kSchemaValidatorsTable;
  checked_rows.index = "by_id";
  CVX_ASSIGN_OR_RETURN(ScanResult checked, txn->Scan(checked_rows));
  std::map<std::string, const Document*> checked_by_table;
  for (const Document& d : checked.documents) {
    auto it = d.fields.find("table");
    if (it != d.fields.end() && it->second.is_string()) checked_by_table[it->second.string()] = &d;
  }
  std::vector<std::string> violations;
  for (const auto& [name, table] : schema.tables()) {
    CVX_RETURN_IF_ERROR(txn->SetIndexes(name, table.indexes()));
    auto row = checked_by_table.find(name);
    if (!schema.schema_validation()) {
      if (row != checked_by_table.end()) CVX_RETURN_IF_ERROR(txn->Delete(row->second->id));
      continue;
    }
    std::string validator = ToCleanJson(table.document().ToJson());
    if (row != checked_by_table.end()) {
      auto it = row->second->fields.find("validator");
      if (it != row->second->fields.end() && it->second.is_string() && it->second.string() == validator) {
        continue;  // every write since was checked against this validator
      }
    }
    ScanRequest all;
    all.table = name;
    all.index = "by_id";
    CVX_ASSIGN_OR_RETURN(ScanResult docs, txn->Scan(all));
    for (const Document& doc : docs.documents) {
      absl::Status s = table.document().Check(Value::FromObject(doc.fields), ResolverFor(*txn));
      if (!s.ok() && violations.size() < kMaxReportedViolations) {
        violations.push_back(absl::StrCat("Document with ID \"", doc.id.Encode(),
                                          "\" in table \"", name,
                                          "\" does not match the schema: ", s.message()));
      }
    }
    Object fields{{"table", Value::String(name)}, {"validator", Value::String(validator)}};
    if (row != checked_by_table.end()) {
      CVX_RETURN_IF_ERROR(txn->Replace(row->second->id, std::move(fields)));
    } else {
      CVX_RETURN_IF_ERROR(txn->Insert(kSchemaValidatorsTable, std::move(fields)).status());
    }
  }
  // Tables the schema no longer lists keep their documents but lose their indexes.
  for (const std::string& name : db.TableNames()) {
    if (!name.empty() && name[0] != '_' && schema.Find(name) == nullptr) {
      CVX_RETURN_IF_ERROR(txn->SetIndexes(name, {}));
      if (auto row = checked_by_table.find(name); row != checked_by_table.end()) {
        CVX_RETURN_IF_ERROR(txn->Delete(row->second->id));
      }
    }
  }
  if (!violations.empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed",
                     absl::StrCat("Schema validation failed.\n", absl::StrJoin(violations, "\n")));
  }
  return txn->Commit();
}

}  // namespace cvx
