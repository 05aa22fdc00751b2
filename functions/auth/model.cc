#include "functions/auth/model.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace cvx::auth {
namespace {

FieldSpec F(std::string name, FieldType type, bool required = true) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  return f;
}
FieldSpec Opt(std::string name, FieldType type = FieldType::kString) {
  return F(std::move(name), type, false);
}
FieldSpec Unique(FieldSpec f) {
  f.unique = true;
  return f;
}
FieldSpec Sortable(FieldSpec f) {
  f.sortable = true;
  return f;
}
FieldSpec Ref(FieldSpec f, std::string model) {
  f.references = std::move(model);
  return f;
}
FieldSpec Default(FieldSpec f, Value v, bool input = true) {
  f.default_value = std::move(v);
  f.input = input;
  return f;
}

Validator TypeValidator(const FieldSpec& f) {
  switch (f.type) {
    case FieldType::kString:
    case FieldType::kJson:
      return v::String();
    case FieldType::kNumber:
    case FieldType::kDate:
      return v::Number();
    case FieldType::kBoolean:
      return v::Boolean();
    case FieldType::kStringArray:
      return v::Array(v::String());
    case FieldType::kNumberArray:
      return v::Array(v::Number());
    case FieldType::kId:
      return v::Id(f.id_table);
  }
  return v::Any();
}

// The generator's index rule (see the header).
void AddImplicitIndexes(ModelSpec& m) {
  for (const FieldSpec& f : m.fields) {
    if (!f.sortable && !f.unique && !f.references) continue;
    bool covered = std::any_of(m.indexes.begin(), m.indexes.end(),
                               [&](const auto& idx) { return idx.front() == f.name; });
    if (!covered) m.indexes.push_back({f.name});
  }
}

}  // namespace

const FieldSpec* ModelSpec::Field(std::string_view name) const {
  for (const FieldSpec& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool ModelSpec::IsDate(std::string_view field) const {
  const FieldSpec* f = Field(field);
  return f != nullptr && f->type == FieldType::kDate;
}

std::string ModelSpec::IndexName(const std::vector<std::string>& fields) {
  return absl::StrJoin(fields, "_");
}

Models::Models(const ModelOptions& o) {
  using T = FieldType;
  ModelSpec user{"user",
                 {F("name", T::kString), Unique(F("email", T::kString)),
                  Default(F("emailVerified", T::kBoolean), Value::Boolean(false), false),
                  Opt("image"), F("createdAt", T::kDate), F("updatedAt", T::kDate),
                  Opt("userId")},
                 {{"email", "name"}, {"name"}, {"userId"}}};
  if (o.admin) {
    user.fields.push_back(Default(Opt("role"), Value::String("user"), false));
    user.fields.push_back(Default(Opt("banned", T::kBoolean), Value::Boolean(false), false));
    user.fields.push_back(Opt("banReason"));
    user.fields.push_back(Opt("banExpires", T::kDate));
  }
  for (const FieldSpec& f : o.user_fields) user.fields.push_back(f);

  ModelSpec session{"session",
                    {F("expiresAt", T::kDate), Unique(F("token", T::kString)),
                     F("createdAt", T::kDate), F("updatedAt", T::kDate), Opt("ipAddress"),
                     Opt("userAgent"), Ref(F("userId", T::kString), "user")},
                    {{"expiresAt"}, {"expiresAt", "userId"}}};
  if (o.admin) session.fields.push_back(Opt("impersonatedBy"));
  if (o.organization) session.fields.push_back(Opt("activeOrganizationId"));

  ModelSpec account{"account",
                    {F("accountId", T::kString), F("providerId", T::kString),
                     Ref(F("userId", T::kString), "user"), Opt("accessToken"),
                     Opt("refreshToken"), Opt("idToken"), Opt("accessTokenExpiresAt", T::kDate),
                     Opt("refreshTokenExpiresAt", T::kDate), Opt("scope"), Opt("password"),
                     F("createdAt", T::kDate), F("updatedAt", T::kDate)},
                    {{"accountId"}, {"accountId", "providerId"}, {"providerId", "userId"}}};

  ModelSpec verification{"verification",
                         {F("identifier", T::kString), F("value", T::kString),
                          F("expiresAt", T::kDate), F("createdAt", T::kDate),
                          F("updatedAt", T::kDate)},
                         {{"expiresAt"}, {"identifier"}}};

  models_ = {std::move(user), std::move(session), std::move(account), std::move(verification)};
  if (o.jwt) {
    models_.push_back(ModelSpec{"jwks",
                                {F("publicKey", T::kString), F("privateKey", T::kString),
                                 F("createdAt", T::kDate), Opt("expiresAt", T::kDate)},
                                {}});
  }
  if (o.organization) {
    models_.push_back(ModelSpec{
        "organization",
        {Sortable(F("name", T::kString)), Unique(F("slug", T::kString)), Opt("logo"),
         F("createdAt", T::kDate), Opt("metadata", T::kJson)},
        {}});
    models_.push_back(ModelSpec{
        "member",
        {Ref(F("organizationId", T::kString), "organization"), Ref(F("userId", T::kString), "user"),
         Sortable(Default(F("role", T::kString), Value::String("member"))),
         F("createdAt", T::kDate)},
        {}});
    models_.push_back(ModelSpec{
        "invitation",
        {Ref(F("organizationId", T::kString), "organization"), Sortable(F("email", T::kString)),
         Sortable(Opt("role")),
         Sortable(Default(F("status", T::kString), Value::String("pending"))),
         F("expiresAt", T::kDate), F("createdAt", T::kDate),
         Ref(F("inviterId", T::kString), "user")},
        {}});
  }
  for (ModelSpec& m : models_) AddImplicitIndexes(m);
}

const ModelSpec* Models::Find(std::string_view model) const {
  for (const ModelSpec& m : models_) {
    if (m.name == model) return &m;
  }
  return nullptr;
}

void Models::AddTables(SchemaDefinition& schema) const {
  for (const ModelSpec& m : models_) {
    std::vector<std::pair<std::string, Validator>> fields;
    for (const FieldSpec& f : m.fields) {
      Validator type = TypeValidator(f);
      fields.emplace_back(f.name, f.required ? type : v::Optional(v::Union({v::Null(), type})));
    }
    TableDefinition table = DefineTable(std::move(fields));
    for (const auto& idx : m.indexes) table.Index(ModelSpec::IndexName(idx), idx);
    schema.Table(m.name, std::move(table));
  }
}

}  // namespace cvx::auth
