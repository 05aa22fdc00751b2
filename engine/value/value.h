// File: engine/value/value.h
//
// The Convex value model: null, int64, float64, boolean, string, bytes, array and object
// (convex-protocol.md §2). A Value is a plain tree that owns its children; copying copies
// the tree. Objects keep their fields sorted by name, as Convex's BTreeMap does, so two
// equal objects encode to the same bytes.
//
// float64 keeps its exact bits: NaN payloads, -0 and ±Inf survive every round trip.
// Equality and ordering follow Convex's total order (crates/value/src/sorting.rs):
//   null < int64 < float64 < false < true < string < bytes < array < object
// with int64 never equal to float64, floats in IEEE total order (-0 < +0), strings and bytes
// bytewise, arrays lexicographic and objects as their sorted (name, value) sequences.
//
// Thread safety: a Value is immutable once shared; const methods may run concurrently.
//
//   Value doc = Value::FromObject({{"name", Value::String("ada")},
//                                  {"balance", Value::Int64(10)}});

#ifndef CVX_ENGINE_VALUE_VALUE_H_
#define CVX_ENGINE_VALUE_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"

namespace cvx {

class Value;
using Array = std::vector<Value>;
using Object = std::map<std::string, Value, std::less<>>;

enum class ValueType { kNull, kInt64, kFloat64, kBoolean, kString, kBytes, kArray, kObject };

// Convex's limits (crates/common/src/knobs.rs, crates/value/src/*.rs).
inline constexpr int kMaxValueNesting = 64;
inline constexpr int kMaxDocumentNesting = 16;
inline constexpr size_t kMaxArrayLength = 8192;
inline constexpr size_t kMaxObjectFields = 1024;
inline constexpr size_t kMaxFieldNameLength = 1024;
inline constexpr size_t kMaxDocumentSize = 1 << 20;
inline constexpr size_t kMaxIdentifierLength = 64;

class Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Int64(int64_t v) { return Value(Rep(std::in_place_index<1>, v)); }
  static Value Float64(double v) { return Value(Rep(std::in_place_index<2>, v)); }
  static Value Boolean(bool v) { return Value(Rep(std::in_place_index<3>, v)); }
  static Value String(std::string v) {
    return Value(Rep(std::in_place_index<4>, std::move(v)));
  }
  static Value Bytes(std::string v) {
    return Value(Rep(std::in_place_index<5>, BytesRep{std::move(v)}));
  }
  static Value FromArray(Array v) { return Value(Rep(std::in_place_index<6>, std::move(v))); }
  static Value FromObject(Object v) {
    return Value(Rep(std::in_place_index<7>, std::move(v)));
  }

  ValueType type() const { return static_cast<ValueType>(rep_.index()); }
  bool is_null() const { return type() == ValueType::kNull; }
  bool is_int64() const { return type() == ValueType::kInt64; }
  bool is_float64() const { return type() == ValueType::kFloat64; }
  bool is_boolean() const { return type() == ValueType::kBoolean; }
  bool is_string() const { return type() == ValueType::kString; }
  bool is_bytes() const { return type() == ValueType::kBytes; }
  bool is_array() const { return type() == ValueType::kArray; }
  bool is_object() const { return type() == ValueType::kObject; }

  // REQUIRES: the value has the accessor's type.
  int64_t int64() const { return std::get<1>(rep_); }
  double float64() const { return std::get<2>(rep_); }
  bool boolean() const { return std::get<3>(rep_); }
  const std::string& string() const { return std::get<4>(rep_); }
  const std::string& bytes() const { return std::get<5>(rep_).data; }
  const Array& array() const { return std::get<6>(rep_); }
  Array& mutable_array() { return std::get<6>(rep_); }
  const Object& object() const { return std::get<7>(rep_); }
  Object& mutable_object() { return std::get<7>(rep_); }

  // The field `name` of an object, or nullptr when absent or not an object.
  const Value* Find(std::string_view name) const;

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  struct BytesRep {
    std::string data;
  };
  using Rep = std::variant<std::monostate, int64_t, double, bool, std::string, BytesRep, Array,
                           Object>;
  explicit Value(Rep rep) : rep_(std::move(rep)) {}
  Rep rep_;
};

// Convex's total order: <0, 0 or >0.
int CompareValues(const Value& a, const Value& b);

// Convex's size formula (§2): null/bool 1; int64/float64 9; string 2+UTF-8 length; bytes
// 2+length; array 2+sum; object 2+sum(name length+1+value size).
size_t ValueSize(const Value& v);

// Nesting as Convex counts it: scalars 0, arrays and objects 1 + their deepest child.
int ValueNesting(const Value& v);

// Names: field names are ASCII 32..126, not starting with '$', at most 1024 characters,
// possibly empty. Identifiers (table and index names) are [A-Za-z_][A-Za-z0-9_]*, at most 64.
bool IsValidFieldName(std::string_view name);
bool IsValidIdentifier(std::string_view name);

// Checks a value that came from a client: field names, nesting <= 64, array and object
// sizes. Fails with kInvalidArgument and a tag (InvalidFieldName, TooNested, ...).
[[nodiscard]] absl::Status ValidateValue(const Value& v);

// Checks the fields of a document about to be stored: ValidateValue, nesting <= 16, total
// size <= 1 MiB, and no top-level field starting with '_' other than _id and _creationTime.
[[nodiscard]] absl::Status ValidateDocumentFields(const Object& fields);

const char* ValueTypeName(ValueType type);

}  // namespace cvx

#endif  // CVX_ENGINE_VALUE_VALUE_H_
