// File: functions/auth/model.h
//
// Better Auth's data model, generated from the options as better-auth@1.4.7's schema
// generator does for the Convex adapters (better-auth.md §1): core tables (user, session,
// account, verification), the Convex plugin's legacy user.userId, the jwt plugin's jwks,
// the admin and organization plugins' fields and tables, and fields the app adds.
//
//   date  -> v.number() (ms since the epoch)      json -> v.string()
//   a field that is not required -> v.optional(v.union(v.null(), T))
//   `id` is the document's _id; foreign keys are strings holding _id values.
//
// Indexes: a fixed list (account accountId, [accountId, providerId], [providerId, userId];
// session expiresAt, [expiresAt, userId]; user [email, name], name, userId; verification
// expiresAt, identifier), then one single-field index for each sortable, unique or
// references field that no index starts with. A compound index's fields are sorted
// alphabetically and its name is the fields joined with '_' ("email_name").
//
// Thread safety: immutable values.

#ifndef CVX_FUNCTIONS_AUTH_MODEL_H_
#define CVX_FUNCTIONS_AUTH_MODEL_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value/value.h"
#include "schema/schema.h"
#include "schema/validator.h"

namespace cvx::auth {

enum class FieldType { kString, kNumber, kBoolean, kDate, kJson, kStringArray, kNumberArray, kId };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = true;
  bool unique = false;
  bool sortable = false;
  bool input = true;                      // false: sign-up may not set it
  std::optional<std::string> references;  // the model a foreign key points at
  std::optional<Value> default_value;     // applied on create when absent
  std::string id_table;                   // kId: the table of v.id(...)
};

struct ModelSpec {
  std::string name;  // the table name
  std::vector<FieldSpec> fields;
  std::vector<std::vector<std::string>> indexes;  // field lists (sorted for compounds)

  const FieldSpec* Field(std::string_view name) const;
  bool IsDate(std::string_view field) const;
  // The name of the index for `fields` ("email_name").
  static std::string IndexName(const std::vector<std::string>& fields);
};

struct ModelOptions {
  bool admin = true;         // user.role/banned/banReason/banExpires, session.impersonatedBy
  bool organization = true;  // organization, member, invitation, session.activeOrganizationId
  bool jwt = true;           // jwks
  std::vector<FieldSpec> user_fields;  // the app's additional user fields
};

class Models {
 public:
  explicit Models(const ModelOptions& options);
  const ModelSpec* Find(std::string_view model) const;
  const std::vector<ModelSpec>& all() const { return models_; }
  // Adds every model as a table (validator + indexes) to `schema`.
  void AddTables(SchemaDefinition& schema) const;

 private:
  std::vector<ModelSpec> models_;
};

}  // namespace cvx::auth

#endif  // CVX_FUNCTIONS_AUTH_MODEL_H_
