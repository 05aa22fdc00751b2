// File: schema/schema.h
//
// A Convex schema in C++: tables with a document validator and indexes, and whether
// writes are validated (Convex's `schemaValidation`, default on). Plus strict tables, our
// extension: when on, writing to a table the schema does not declare is an error (Convex
// itself allows it).
//
//   SchemaDefinition schema = DefineSchema()
//       .Table("messages", DefineTable({{"channel", v::String()}, {"body", v::String()}})
//                              .Index("by_channel", {"channel"}));
//
// ApplySchema() brings a database in line with a schema in one transaction: indexes added
// (backfilled), changed (rebuilt) or removed (dropped), and every existing document checked
// against its table's validator. A violation refuses the whole change and reports the
// first offending documents; nothing is written.
//
// Thread safety: immutable after construction; safe to share.

#ifndef CVX_SCHEMA_SCHEMA_H_
#define CVX_SCHEMA_SCHEMA_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/database.h"
#include "schema/validator.h"

namespace cvx {

class TableDefinition {
 public:
  // `document` must be v.object(...), a v.union of objects, or v.any().
  explicit TableDefinition(Validator document) : document_(std::move(document)) {}
  TableDefinition& Index(std::string name, std::vector<std::string> fields) {
    indexes_.push_back(IndexDefinition{std::move(name), std::move(fields)});
    return *this;
  }
  // A search, vector or staged index a TypeScript schema declares: accepted and listed,
  // not served (a query that uses one fails with "not supported by convexlite").
  struct UnservedIndex {
    std::string name;
    std::string type;  // "search" | "vector" | "database" (staged)
    Value definition;  // as the schema JSON gives it (searchField, vectorField, ...)
  };
  TableDefinition& Unserved(std::string name, std::string type, Value definition = Value()) {
    unserved_.push_back(UnservedIndex{std::move(name), std::move(type), std::move(definition)});
    return *this;
  }
  const Validator& document() const { return document_; }
  const std::vector<IndexDefinition>& indexes() const { return indexes_; }
  const std::vector<UnservedIndex>& unserved_indexes() const { return unserved_; }

 private:
  Validator document_;
  std::vector<IndexDefinition> indexes_;
  std::vector<UnservedIndex> unserved_;
};

inline TableDefinition DefineTable(std::vector<std::pair<std::string, Validator>> fields) {
  return TableDefinition(v::Object(std::move(fields)));
}
inline TableDefinition DefineTable(Validator document) {
  return TableDefinition(std::move(document));
}

class SchemaDefinition {
 public:
  SchemaDefinition& Table(std::string name, TableDefinition table) {
    tables_.insert_or_assign(std::move(name), std::move(table));
    return *this;
  }
  SchemaDefinition& SchemaValidation(bool on) {
    schema_validation_ = on;
    return *this;
  }
  SchemaDefinition& StrictTables(bool on) {
    strict_tables_ = on;
    return *this;
  }

  const std::map<std::string, TableDefinition>& tables() const { return tables_; }
  const TableDefinition* Find(std::string_view table) const {
    auto it = tables_.find(std::string(table));
    return it == tables_.end() ? nullptr : &it->second;
  }
  bool schema_validation() const { return schema_validation_; }
  bool strict_tables() const { return strict_tables_; }

  // Parses `defineSchema(...).export()` JSON, as a pushed schema.js gives it:
  // {"tables":[{"tableName","indexes":[{"indexDescriptor","fields"}],"searchIndexes",
  // "vectorIndexes","stagedDbIndexes",...,"documentType"}],"schemaValidation":bool}.
  // kInvalidArgument "InvalidSchema" naming the first bad part; does not call Validate().
  [[nodiscard]] static absl::StatusOr<SchemaDefinition> FromJson(const Value& json);

  // Checks the definition itself: identifiers, index names and fields (<= 16 fields,
  // <= 64 indexes, no _id/_creationTime), document validators of an allowed kind.
  // kInvalidArgument with tags InvalidSchema / InvalidTableName / InvalidIndex*.
  [[nodiscard]] absl::Status Validate() const;

  // Checks a document (user fields, without _id/_creationTime) about to be written to
  // `table`. kInvalidArgument, tag "SchemaEnforcementError", with Convex's text
  // `Failed to insert or update a document in table "t" because it does not match the
  // schema: ...`; tag "TableNotInSchema" under strict tables.
  [[nodiscard]] absl::Status CheckDocument(std::string_view table, const Value& fields,
                                           const TableNameResolver& resolver) const;

 private:
  std::map<std::string, TableDefinition> tables_;
  bool schema_validation_ = true;
  bool strict_tables_ = false;
};

inline SchemaDefinition DefineSchema() { return SchemaDefinition(); }

// The system table where ApplySchema records, per table, the validator the table's
// documents were last checked against ({table, validator: JSON}).
inline constexpr char kSchemaValidatorsTable[] = "_schema_validators";

// Applies `schema` to `db` in one transaction (see the file comment). Tables whose
// validator is unchanged since the last ApplySchema are not re-checked (writes were
// checked as they happened), so applying an unchanged schema reads no documents. Errors: what
// Validate() returns; kFailedPrecondition "SchemaValidationFailed" listing up to 10
// offending documents (`Document with ID "..." in table "t" does not match the schema:
// ...`); kAborted when a concurrent commit conflicts (retry).
[[nodiscard]] absl::Status ApplySchema(Database& db, const SchemaDefinition& schema);

// ApplySchema's work inside `txn`, which the caller commits (with writes of its own, as a
// push does) or drops (a dry run). Same errors, except kAborted, which comes at commit.
[[nodiscard]] absl::Status ApplySchemaIn(Transaction& txn, const SchemaDefinition& schema);

}  // namespace cvx

#endif  // CVX_SCHEMA_SCHEMA_H_
