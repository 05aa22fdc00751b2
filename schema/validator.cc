#include "schema/validator.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/document_id.h"
#include "engine/value/json.h"

namespace cvx {
namespace {

using Kind = Validator::Kind;

Validator Make(Kind kind) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = kind;
  return Validator(std::move(node));
}

absl::Status Fail(std::string message) {
  return InvalidArgument("ValidationError", message);
}

std::string Context(const std::string& path) {
  return path.empty() ? std::string() : absl::StrCat("Path: ", path);
}

// Rust's {:?} for f64 (how Convex prints values): always a decimal point for integral
// values, exponent form outside [1e-4, 1e16). serde_json (how Convex prints literals in
// validators) differs only in switching below 1e-5: pass small_limit 1e-5 for that.
std::string FormatRustFloat(double d, double small_limit = 1e-4) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  double a = std::fabs(d);
  char buf[64];
  if (a >= 1e16 || a < small_limit) {
    auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // "1e+16" -> "1e16", "1.5e-07" -> "1.5e-7"
    size_t e = s.find('e');
    std::string mantissa = s.substr(0, e);
    int exp = std::stoi(s.substr(e + 1));
    return absl::StrCat(mantissa, "e", exp);
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string FormatRustString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[16];
          std::snprintf(buf, sizeof(buf), "\\u{%x}", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

struct Checker {
  const TableNameResolver& resolver;

  absl::Status NoMatch(const Validator& validator, const Value& value, const std::string& path) {
    return Fail(absl::StrCat("Value does not match validator.\n", Context(path), "\nValue: ",
                             FormatValueForError(value), "\nValidator: ", validator.ToString()));
  }

  absl::Status Check(const Validator& validator, const Value& value, const std::string& path) {
    switch (validator.kind()) {
      case Kind::kAny: return absl::OkStatus();
      case Kind::kNull:
        return value.is_null() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kFloat64:
        return value.is_float64() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kInt64:
        return value.is_int64() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kBoolean:
        return value.is_boolean() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kString:
        return value.is_string() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kBytes:
        return value.is_bytes() ? absl::OkStatus() : NoMatch(validator, value, path);
      case Kind::kId: {
        if (!value.is_string()) return NoMatch(validator, value, path);
        absl::StatusOr<DocumentId> id = DocumentId::Decode(value.string());
        if (!id.ok()) return NoMatch(validator, value, path);
        std::optional<std::string> table =
            resolver ? resolver(id->table_number) : std::optional<std::string>();
        if (!table.has_value()) return NoMatch(validator, value, path);
        if (*table == validator.table_name()) return absl::OkStatus();
        if (!table->empty() && (*table)[0] == '_') {
          return Fail(absl::StrCat("Found ID \"", value.string(),
                                   "\" from a system table, which does not match the table "
                                   "name in validator `v.id(\"",
                                   validator.table_name(), "\")`.", Context(path)));
        }
        return Fail(absl::StrCat("Found ID \"", value.string(), "\" from table `", *table,
                                 "`, which does not match the table name in validator `v.id(\"",
                                 validator.table_name(), "\")`.", Context(path)));
      }
      case Kind::kLiteral:
        if (value == validator.literal()) return absl::OkStatus();
        return Fail(absl::StrCat("`", FormatValueForError(value),
                                 "` does not match literal validator `",
                                 validator.ToString(), "`.", Context(path)));
      case Kind::kArray: {
        if (!value.is_array()) return NoMatch(validator, value, path);
        for (size_t i = 0; i < value.array().size(); ++i) {
          CVX_RETURN_IF_ERROR(
              Check(validator.element(), value.array()[i], absl::StrCat(path, "[", i, "]")));
        }
        return absl::OkStatus();
      }
      case Kind::kRecord: {
        if (!value.is_object()) return NoMatch(validator, value, path);
        for (const auto& [key, field] : value.object()) {
          CVX_RETURN_IF_ERROR(
              Check(validator.record_keys(), Value::String(key), absl::StrCat(path, ".keys()")));
          CVX_RETURN_IF_ERROR(
              Check(validator.record_values(), field, absl::StrCat(path, ".values()")));
        }
        return absl::OkStatus();
      }
      case Kind::kObject: {
        if (!value.is_object()) return NoMatch(validator, value, path);
        for (const auto& [name, field_validator] : validator.fields()) {
          const Value* field = value.Find(name);
          if (field != nullptr) {
            CVX_RETURN_IF_ERROR(Check(field_validator, *field, absl::StrCat(path, ".", name)));
          } else if (!field_validator.optional()) {
            return Fail(absl::StrCat(
                "Object is missing the required field `", name,
                "`. Consider wrapping the field validator in `v.optional(...)` if this is "
                "expected.\n",
                Context(path), "\nObject: ", FormatValueForError(value),
                "\nValidator: ", validator.ToString()));
          }
        }
        for (const auto& [name, field] : value.object()) {
          if (!validator.fields().count(name)) {
            return Fail(absl::StrCat("Object contains extra field `", name,
                                     "` that is not in the validator.\n", Context(path),
                                     "\nObject: ", FormatValueForError(value),
                                     "\nValidator: ", validator.ToString()));
          }
        }
        return absl::OkStatus();
      }
      case Kind::kUnion: {
        if (validator.members().size() == 1) return Check(validator.members()[0], value, path);
        for (const Validator& member : validator.members()) {
          if (Check(member, value, path).ok()) return absl::OkStatus();
        }
        return NoMatch(validator, value, path);
      }
    }
    return NoMatch(validator, value, path);
  }
};

}  // namespace

Validator::Validator() : Validator(Make(Kind::kAny)) {}

Value Validator::ToJson() const {
  auto type = [](const char* t) { return Object{{"type", Value::String(t)}}; };
  auto field = [](const Validator& v) {
    return Value::FromObject(
        {{"fieldType", v.ToJson()}, {"optional", Value::Boolean(v.optional())}});
  };
  switch (kind()) {
    case Kind::kAny: return Value::FromObject(type("any"));
    case Kind::kNull: return Value::FromObject(type("null"));
    case Kind::kFloat64: return Value::FromObject(type("number"));
    case Kind::kInt64: return Value::FromObject(type("bigint"));
    case Kind::kBoolean: return Value::FromObject(type("boolean"));
    case Kind::kString: return Value::FromObject(type("string"));
    case Kind::kBytes: return Value::FromObject(type("bytes"));
    case Kind::kId: {
      Object o = type("id");
      o.emplace("tableName", Value::String(table_name()));
      return Value::FromObject(std::move(o));
    }
    case Kind::kLiteral: {
      Object o = type("literal");
      o.emplace("value", literal());
      return Value::FromObject(std::move(o));
    }
    case Kind::kArray: {
      Object o = type("array");
      o.emplace("value", element().ToJson());
      return Value::FromObject(std::move(o));
    }
    case Kind::kRecord: {
      Object o = type("record");
      o.emplace("keys", record_keys().ToJson());
      o.emplace("values", field(record_values()));
      return Value::FromObject(std::move(o));
    }
    case Kind::kObject: {
      Object fields_json;
      for (const auto& [name, v] : fields()) fields_json.emplace(name, field(v));
      Object o = type("object");
      o.emplace("value", Value::FromObject(std::move(fields_json)));
      return Value::FromObject(std::move(o));
    }
    case Kind::kUnion: {
      Array list;
      for (const Validator& m : members()) list.push_back(m.ToJson());
      Object o = type("union");
      o.emplace("value", Value::FromArray(std::move(list)));
      return Value::FromObject(std::move(o));
    }
  }
  return Value::FromObject(type("any"));
}

std::string Validator::ToString() const {
  switch (kind()) {
    case Kind::kAny: return "v.any()";
    case Kind::kNull: return "v.null()";
    case Kind::kFloat64: return "v.float64()";
    case Kind::kInt64: return "v.int64()";
    case Kind::kBoolean: return "v.boolean()";
    case Kind::kString: return "v.string()";
    case Kind::kBytes: return "v.bytes()";
    case Kind::kId: return absl::StrCat("v.id(\"", table_name(), "\")");
    case Kind::kLiteral:
      if (literal().is_int64()) return "v.literal(<bigint>)";
      if (literal().is_float64() && !std::isfinite(literal().float64())) {
        return "v.literal(<number>)";
      }
      if (literal().is_float64()) {
        return absl::StrCat("v.literal(", FormatRustFloat(literal().float64(), 1e-5), ")");
      }
      if (literal().is_string()) {
        // serde_json's escaping, not Rust's Debug.
        std::string json;
        AppendJsonString(literal().string(), &json);
        return absl::StrCat("v.literal(", json, ")");
      }
      return absl::StrCat("v.literal(", FormatValueForError(literal()), ")");
    case Kind::kArray: return absl::StrCat("v.array(", element().ToString(), ")");
    case Kind::kRecord:
      return absl::StrCat("v.record(", record_keys().ToString(), ", ",
                          record_values().ToString(), ")");
    case Kind::kObject: {
      std::vector<std::string> parts;
      for (const auto& [name, v] : fields()) {
        parts.push_back(absl::StrCat(name, ": ",
                                     v.optional() ? absl::StrCat("v.optional(", v.ToString(), ")")
                                                  : v.ToString()));
      }
      return absl::StrCat("v.object({", absl::StrJoin(parts, ", "), "})");
    }
    case Kind::kUnion: {
      std::vector<std::string> parts;
      for (const Validator& m : members()) parts.push_back(m.ToString());
      return absl::StrCat("v.union(", absl::StrJoin(parts, ", "), ")");
    }
  }
  return "v.any()";
}

absl::Status Validator::Check(const Value& value, const TableNameResolver& resolver) const {
  Checker checker{resolver};
  return checker.Check(*this, value, "");
}

std::string FormatValueForError(const Value& value) {
  switch (value.type()) {
    case ValueType::kNull: return "null";
    case ValueType::kBoolean: return value.boolean() ? "true" : "false";
    case ValueType::kInt64: return std::to_string(value.int64());
    case ValueType::kFloat64: return FormatRustFloat(value.float64());
    case ValueType::kString: return FormatRustString(value.string());
    case ValueType::kBytes: return absl::StrCat("b\"", Base64Encode(value.bytes()), "\"");
    case ValueType::kArray: {
      std::vector<std::string> parts;
      for (const Value& e : value.array()) parts.push_back(FormatValueForError(e));
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case ValueType::kObject: {
      std::vector<std::string> parts;
      for (const auto& [name, field] : value.object()) {
        parts.push_back(absl::StrCat(name, ": ", FormatValueForError(field)));
      }
      return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
    }
  }
  return "";
}

namespace {

absl::Status BadValidator(const std::string& path, std::string_view what) {
  return InvalidArgument("InvalidValidator",
                         absl::StrCat("Invalid validator JSON at ", path.empty() ? "the root" : path,
                                      ": ", AV(what)));
}

absl::StatusOr<Validator> ParseValidator(const Value& json, const std::string& path, int depth);

// {"fieldType": X, "optional": bool}: an object field or a record's values.
absl::StatusOr<Validator> ParseField(const Value& json, const std::string& path, int depth) {
  if (!json.is_object()) return BadValidator(path, "expected {fieldType, optional}");
  const Value* type = json.Find("fieldType");
  if (type == nullptr) return BadValidator(path, "missing fieldType");
  CVX_ASSIGN_OR_RETURN(Validator inner, ParseValidator(*type, path, depth + 1));
  const Value* optional = json.Find("optional");
  if (optional != nullptr && !optional->is_boolean()) {
    return BadValidator(path, "optional must be a boolean");
  }
  return optional != nullptr && optional->boolean() ? inner.AsOptional() : inner;
}

absl::StatusOr<Validator> ParseValidator(const Value& json, const std::string& path, int depth) {
  if (depth > 64) return BadValidator(path, "nested too deeply");
  if (!json.is_object()) return BadValidator(path, "expected an object with a type");
  const Value* type_value = json.Find("type");
  if (type_value == nullptr || !type_value->is_string()) return BadValidator(path, "missing type");
  const std::string& type = type_value->string();
  const Value* value = json.Find("value");
  if (type == "any") return v::Any();
  if (type == "null") return v::Null();
  if (type == "number") return v::Float64();
  if (type == "bigint") return v::Int64();
  if (type == "boolean") return v::Boolean();
  if (type == "string") return v::String();
  if (type == "bytes") return v::Bytes();
  if (type == "id") {
    const Value* table = json.Find("tableName");
    if (table == nullptr || !table->is_string()) return BadValidator(path, "id needs a tableName");
    return v::Id(table->string());
  }
  if (type == "literal") {
    if (value == nullptr) return BadValidator(path, "literal needs a value");
    if (!value->is_string() && !value->is_float64() && !value->is_int64() && !value->is_boolean()) {
      return BadValidator(path, "a literal is a string, number, bigint or boolean");
    }
    return v::Literal(*value);
  }
  if (type == "array") {
    if (value == nullptr) return BadValidator(path, "array needs a value");
    CVX_ASSIGN_OR_RETURN(Validator element, ParseValidator(*value, path + "[]", depth + 1));
    return v::Array(std::move(element));
  }
  if (type == "object") {
    if (value == nullptr || !value->is_object()) return BadValidator(path, "object needs fields");
    std::vector<std::pair<std::string, Validator>> fields;
    for (const auto& [name, field] : value->object()) {
      CVX_ASSIGN_OR_RETURN(Validator f, ParseField(field, absl::StrCat(path, ".", name), depth + 1));
      fields.emplace_back(name, std::move(f));
    }
    return v::Object(std::move(fields));
  }
  if (type == "record") {
    const Value* keys = json.Find("keys");
    const Value* values = json.Find("values");
    if (keys == nullptr || values == nullptr) return BadValidator(path, "record needs keys and values");
    CVX_ASSIGN_OR_RETURN(Validator k, ParseValidator(*keys, path + ".keys()", depth + 1));
    CVX_ASSIGN_OR_RETURN(Validator val, ParseField(*values, path + ".values()", depth + 1));
    return v::Record(std::move(k), std::move(val));
  }
  if (type == "union") {
    if (value == nullptr || !value->is_array()) return BadValidator(path, "union needs members");
    std::vector<Validator> members;
    for (size_t i = 0; i < value->array().size(); ++i) {
      CVX_ASSIGN_OR_RETURN(Validator m, ParseValidator(value->array()[i],
                                                       absl::StrCat(path, "|", i), depth + 1));
      members.push_back(std::move(m));
    }
    return v::Union(std::move(members));
  }
  return BadValidator(path, absl::StrCat("unknown type \"", type, "\""));
}

}  // namespace

absl::StatusOr<Validator> Validator::FromJson(const Value& json) {
  return ParseValidator(json, "", 0);
}

namespace v {
Validator Any() { return Make(Kind::kAny); }
Validator Null() { return Make(Kind::kNull); }
Validator Float64() { return Make(Kind::kFloat64); }
Validator Int64() { return Make(Kind::kInt64); }
Validator Boolean() { return Make(Kind::kBoolean); }
Validator String() { return Make(Kind::kString); }
Validator Bytes() { return Make(Kind::kBytes); }
Validator Id(std::string table) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kId;
  node->table = std::move(table);
  return Validator(std::move(node));
}
Validator Array(Validator element) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kArray;
  node->children.push_back(std::move(element));
  return Validator(std::move(node));
}
Validator Object(std::vector<std::pair<std::string, Validator>> fields) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kObject;
  for (auto& [name, v] : fields) node->fields.emplace(std::move(name), std::move(v));
  return Validator(std::move(node));
}
Validator Record(Validator keys, Validator values) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kRecord;
  node->children.push_back(std::move(keys));
  node->children.push_back(std::move(values));
  return Validator(std::move(node));
}
Validator Union(std::vector<Validator> members) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kUnion;
  node->children = std::move(members);
  return Validator(std::move(node));
}
Validator Literal(Value value) {
  auto node = std::make_shared<Validator::Node>();
  node->kind = Kind::kLiteral;
  node->literal = std::move(value);
  return Validator(std::move(node));
}
Validator Optional(Validator inner) { return inner.AsOptional(); }
}  // namespace v

}  // namespace cvx
