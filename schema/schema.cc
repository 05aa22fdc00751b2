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

namespace {
absl::Status BadSchema(std::string_view what) {
  return InvalidArgument("InvalidSchema", absl::StrCat("Invalid schema: ", AV(what)));
}
const Value* FieldOf(const Value& object, std::string_view name) {
  return object.is_object() ? object.Find(name) : nullptr;
}
}  // namespace

absl::StatusOr<SchemaDefinition> SchemaDefinition::FromJson(const Value& json) {
  const Value* tables = FieldOf(json, "tables");
  if (tables == nullptr || !tables->is_array()) return BadSchema("expected {\"tables\": [...]}");
  SchemaDefinition schema;
  if (const Value* validation = FieldOf(json, "schemaValidation"); validation != nullptr) {
    if (!validation->is_boolean()) return BadSchema("schemaValidation must be a boolean");
    schema.SchemaValidation(validation->boolean());
  }
  for (const Value& table : tables->array()) {
    const Value* name = FieldOf(table, "tableName");
    if (name == nullptr || !name->is_string()) return BadSchema("a table has no tableName");
    if (schema.Find(name->string()) != nullptr) {
      return BadSchema(absl::StrCat("table \"", name->string(), "\" is defined twice"));
    }
    Validator document;
    if (const Value* type = FieldOf(table, "documentType"); type != nullptr && !type->is_null()) {
      absl::StatusOr<Validator> parsed = Validator::FromJson(*type);
      if (!parsed.ok()) {
        return BadSchema(absl::StrCat("table \"", name->string(), "\": ", parsed.status().message()));
      }
      document = *std::move(parsed);
    }
    TableDefinition definition(std::move(document));
    auto list = [&](std::string_view key) -> absl::StatusOr<const Array*> {
      const Value* v = FieldOf(table, key);
      if (v == nullptr || v->is_null()) return nullptr;
      if (!v->is_array()) return BadSchema(absl::StrCat("table \"", name->string(), "\": ", AV(key), " must be an array"));
      return &v->array();
    };
    auto index_name = [&](const Value& index) -> absl::StatusOr<std::string> {
      const Value* d = FieldOf(index, "indexDescriptor");
      if (d == nullptr || !d->is_string()) {
        return BadSchema(absl::StrCat("table \"", name->string(), "\": an index has no indexDescriptor"));
      }
      return d->string();
    };
    CVX_ASSIGN_OR_RETURN(const Array* indexes, list("indexes"));
    for (const Value& index : indexes ? *indexes : Array{}) {
      CVX_ASSIGN_OR_RETURN(std::string index_id, index_name(index));
      const Value* fields = FieldOf(index, "fields");
      if (fields == nullptr || !fields->is_array()) {
        return BadSchema(absl::StrCat("index ", name->string(), ".", index_id, " has no fields"));
      }
      std::vector<std::string> names;
      for (const Value& f : fields->array()) {
        if (!f.is_string()) return BadSchema(absl::StrCat("index ", name->string(), ".", index_id, ": fields are strings"));
        names.push_back(f.string());
      }
      definition.Index(index_id, std::move(names));
    }
    for (auto [key, type] : {std::pair{"searchIndexes", "search"}, {"vectorIndexes", "vector"},
                             {"stagedDbIndexes", "database"}, {"stagedSearchIndexes", "search"},
                             {"stagedVectorIndexes", "vector"}}) {
      CVX_ASSIGN_OR_RETURN(const Array* unserved, list(key));
      for (const Value& index : unserved ? *unserved : Array{}) {
        CVX_ASSIGN_OR_RETURN(std::string index_id, index_name(index));
        definition.Unserved(index_id, type, index);
      }
    }
    schema.Table(name->string(), std::move(definition));
  }
  return schema;
}

absl::Status ApplySchema(Database& db, const SchemaDefinition& schema) {
  auto txn = db.Begin();
  CVX_RETURN_IF_ERROR(ApplySchemaIn(*txn, schema));
  return txn->Commit();
}

absl::Status ApplySchemaIn(Transaction& transaction, const SchemaDefinition& schema) {
  CVX_RETURN_IF_ERROR(schema.Validate());
  Transaction* txn = &transaction;
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
  for (const std::string& name : txn->TableNames()) {
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
  return absl::OkStatus();
}

}  // namespace cvx
