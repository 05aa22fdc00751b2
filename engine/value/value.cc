#include "engine/value/value.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"

namespace cvx {
namespace {

// Rank of each type in Convex's order. Booleans split into false < true by value.
int TypeRank(ValueType t) {
  switch (t) {
    case ValueType::kNull: return 1;
    case ValueType::kInt64: return 2;
    case ValueType::kFloat64: return 3;
    case ValueType::kBoolean: return 4;
    case ValueType::kString: return 6;
    case ValueType::kBytes: return 7;
    case ValueType::kArray: return 8;
    case ValueType::kObject: return 9;
  }
  return 0;
}

// IEEE total order as an unsigned integer: flip all bits of negatives, the sign of others.
uint64_t TotalOrderBits(double d) {
  uint64_t bits = std::bit_cast<uint64_t>(d);
  return (bits >> 63) ? ~bits : bits ^ (uint64_t{1} << 63);
}

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareStrings(std::string_view a, std::string_view b) {
  int c = a.compare(b);  // char_traits<char>::compare is unsigned-byte order (memcmp)
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// `depth` is the number of containers around `v`; a container at depth d has nesting at
// least d + 1, which must not pass the limit (an empty innermost container counts too).
absl::Status ValidateRec(const Value& v, int depth) {
  if ((v.is_array() || v.is_object()) && depth + 1 > kMaxValueNesting) {
    return InvalidArgument("TooNested",
                           absl::StrCat("Value is too nested (max nesting is ",
                                        kMaxValueNesting, ")"));
  }
  switch (v.type()) {
    case ValueType::kArray:
      if (v.array().size() > kMaxArrayLength) {
        return InvalidArgument(
            "ArrayTooLong", absl::StrCat("Array length is too long (", v.array().size(),
                                         " > maximum length ", kMaxArrayLength, ")"));
      }
      for (const Value& e : v.array()) CVX_RETURN_IF_ERROR(ValidateRec(e, depth + 1));
      return absl::OkStatus();
    case ValueType::kObject:
      if (v.object().size() > kMaxObjectFields) {
        return InvalidArgument(
            "TooManyFields", absl::StrCat("Object has too many fields (", v.object().size(),
                                          " > maximum number ", kMaxObjectFields, ")"));
      }
      for (const auto& [name, field] : v.object()) {
        if (!IsValidFieldName(name)) {
          return InvalidArgument(
              "InvalidFieldName",
              absl::StrCat("Field name \"", name,
                           "\" is invalid: field names must be ASCII 32-126, must not start "
                           "with '$' and have at most ",
                           kMaxFieldNameLength, " characters"));
        }
        CVX_RETURN_IF_ERROR(ValidateRec(field, depth + 1));
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

}  // namespace

const Value* Value::Find(std::string_view name) const {
  if (!is_object()) return nullptr;
  auto it = object().find(name);
  return it == object().end() ? nullptr : &it->second;
}

bool operator==(const Value& a, const Value& b) { return CompareValues(a, b) == 0; }

int CompareValues(const Value& a, const Value& b) {
  if (a.type() != b.type()) return Cmp(TypeRank(a.type()), TypeRank(b.type()));
  switch (a.type()) {
    case ValueType::kNull: return 0;
    case ValueType::kInt64: return Cmp(a.int64(), b.int64());
    case ValueType::kFloat64: return Cmp(TotalOrderBits(a.float64()), TotalOrderBits(b.float64()));
    case ValueType::kBoolean: return Cmp(a.boolean(), b.boolean());
    case ValueType::kString: return CompareStrings(a.string(), b.string());
    case ValueType::kBytes: return CompareStrings(a.bytes(), b.bytes());
    case ValueType::kArray: {
      const Array& x = a.array();
      const Array& y = b.array();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (int c = CompareValues(x[i], y[i]); c != 0) return c;
      }
      return Cmp(x.size(), y.size());
    }
    case ValueType::kObject: {
      auto i = a.object().begin(), j = b.object().begin();
      for (; i != a.object().end() && j != b.object().end(); ++i, ++j) {
        if (int c = CompareStrings(i->first, j->first); c != 0) return c;
        if (int c = CompareValues(i->second, j->second); c != 0) return c;
      }
      return Cmp(a.object().size(), b.object().size());
    }
  }
  return 0;
}

size_t ValueSize(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kBoolean: return 1;
    case ValueType::kInt64:
    case ValueType::kFloat64: return 9;
    case ValueType::kString: return 2 + v.string().size();
    case ValueType::kBytes: return 2 + v.bytes().size();
    case ValueType::kArray: {
      size_t n = 2;
      for (const Value& e : v.array()) n += ValueSize(e);
      return n;
    }
    case ValueType::kObject: {
      size_t n = 2;
      for (const auto& [name, field] : v.object()) n += name.size() + 1 + ValueSize(field);
      return n;
    }
  }
  return 0;
}

int ValueNesting(const Value& v) {
  int deepest = 0;
  if (v.is_array()) {
    for (const Value& e : v.array()) deepest = std::max(deepest, ValueNesting(e));
    return 1 + deepest;
  }
  if (v.is_object()) {
    for (const auto& [name, field] : v.object()) deepest = std::max(deepest, ValueNesting(field));
    return 1 + deepest;
  }
  return 0;
}

bool IsValidFieldName(std::string_view name) {
  if (name.size() > kMaxFieldNameLength) return false;
  if (!name.empty() && name[0] == '$') return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= 32 && c <= 126; });
}

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  bool all_underscore = true;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
    if (c != '_') all_underscore = false;
  }
  return !all_underscore;
}

absl::Status ValidateValue(const Value& v) { return ValidateRec(v, 0); }

absl::Status ValidateDocumentFields(const Object& fields) {
  Value doc = Value::FromObject(fields);
  CVX_RETURN_IF_ERROR(ValidateValue(doc));
  for (const auto& [name, field] : fields) {
    if (!name.empty() && name[0] == '_' && name != "_id" && name != "_creationTime") {
      return InvalidArgument(
          "InvalidFieldName",
          absl::StrCat("Field name ", name,
                       " starts with a '_', which is reserved for system fields"));
    }
  }
  if (int nesting = ValueNesting(doc); nesting > kMaxDocumentNesting) {
    return InvalidArgument("TooNested",
                           absl::StrCat("Document is too nested (nested ", nesting,
                                        " levels deep > maximum nesting ", kMaxDocumentNesting,
                                        ")"));
  }
  if (size_t size = ValueSize(doc); size > kMaxDocumentSize) {
    return InvalidArgument("DocumentTooLarge",
                           absl::StrCat("Document is too large (", size,
                                        " bytes > maximum size ", kMaxDocumentSize, " bytes)"));
  }
  return absl::OkStatus();
}

const char* ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNull: return "null";
    case ValueType::kInt64: return "int64";
    case ValueType::kFloat64: return "float64";
    case ValueType::kBoolean: return "boolean";
    case ValueType::kString: return "string";
    case ValueType::kBytes: return "bytes";
    case ValueType::kArray: return "array";
    case ValueType::kObject: return "object";
  }
  return "unknown";
}

}  // namespace cvx
