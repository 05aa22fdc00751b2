// File: schema/validator.h
//
// Convex's validators (`v.string()`, `v.id("users")`, `v.object({...})`, ...) in C++, with
// the three things Convex does with them:
//   ToJson()    the exportArgs()/schema JSON the `convex` package produces, e.g.
//               {"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false}}}
//   ToString()  the form Convex prints in errors: v.object({a: v.string()}), v.float64() ...
//   Check()     validation with Convex's error texts (crates/common/src/schemas/validator.rs):
//                 Value does not match validator.\nPath: .a[0]\nValue: "x"\nValidator: v.float64()
//                 Object is missing the required field `f`. Consider wrapping ...
//                 Object contains extra field `f` that is not in the validator. ...
//                 Found ID "..." from table `t`, which does not match the table name in ...
//                 `5.0` does not match literal validator `v.literal("a")`.
//
// Validators are immutable values; copies share structure. Thread-safe for reading.
//
//   Validator args = v::Object({{"channel", v::String()}, {"limit", v::Optional(v::Float64())}});

#ifndef CVX_SCHEMA_VALIDATOR_H_
#define CVX_SCHEMA_VALIDATOR_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/value/value.h"

namespace cvx {

// Maps a document ID's table number to its table name (nullopt when unknown). Used by
// v.id(...) checks. Names starting with '_' are system tables.
using TableNameResolver = std::function<std::optional<std::string>(uint32_t table_number)>;

class Validator {
 public:
  enum class Kind {
    kAny, kNull, kFloat64, kInt64, kBoolean, kString, kBytes, kId, kArray, kObject, kRecord,
    kUnion, kLiteral,
  };

  Validator();  // v.any()

  Kind kind() const;
  bool optional() const { return optional_; }
  // kId: the table name. kLiteral: the value. kArray: element. kRecord: keys/values.
  // kObject: fields (sorted by name). kUnion: members.
  const std::string& table_name() const;
  const Value& literal() const;
  const Validator& element() const;
  const Validator& record_keys() const;
  const Validator& record_values() const;
  const std::map<std::string, Validator>& fields() const;
  const std::vector<Validator>& members() const;

  // The validator JSON as the `convex` npm package writes it.
  Value ToJson() const;
  // The inverse of ToJson: a validator from exportArgs()/exportReturns()/schema JSON (as
  // a pushed TypeScript app's analysis gives it). kInvalidArgument, tag "InvalidValidator",
  // naming the path of the first part that is not a validator.
  [[nodiscard]] static absl::StatusOr<Validator> FromJson(const Value& json);
  // Convex's printed form, e.g. v.union(v.string(), v.null()).
  std::string ToString() const;

  // OK when `value` matches. Otherwise kInvalidArgument, tag "ValidationError", with
  // Convex's message text (no "ArgumentValidationError: " prefix; callers add theirs).
  // `resolver` may be null when no v.id(...) is involved (IDs then fail to match).
  [[nodiscard]] absl::Status Check(const Value& value, const TableNameResolver& resolver) const;

  // Builders (see namespace v below).
  struct Node;
  explicit Validator(std::shared_ptr<const Node> node, bool optional = false)
      : node_(std::move(node)), optional_(optional) {}
  Validator AsOptional() const { return Validator(node_, true); }

 private:
  std::shared_ptr<const Node> node_;
  bool optional_ = false;
};

struct Validator::Node {
  Kind kind = Kind::kAny;
  std::string table;
  Value literal;
  std::vector<Validator> children;
  std::map<std::string, Validator> fields;
};

inline Validator::Kind Validator::kind() const { return node_->kind; }
inline const std::string& Validator::table_name() const { return node_->table; }
inline const Value& Validator::literal() const { return node_->literal; }
inline const Validator& Validator::element() const { return node_->children[0]; }
inline const Validator& Validator::record_keys() const { return node_->children[0]; }
inline const Validator& Validator::record_values() const { return node_->children[1]; }
inline const std::map<std::string, Validator>& Validator::fields() const {
  return node_->fields;
}
inline const std::vector<Validator>& Validator::members() const { return node_->children; }

namespace v {
Validator Any();
Validator Null();
Validator Float64();
inline Validator Number() { return Float64(); }
Validator Int64();
inline Validator BigInt() { return Int64(); }
Validator Boolean();
Validator String();
Validator Bytes();
Validator Id(std::string table);
Validator Array(Validator element);
Validator Object(std::vector<std::pair<std::string, Validator>> fields);
Validator Record(Validator keys, Validator values);
Validator Union(std::vector<Validator> members);
Validator Literal(Value value);
Validator Optional(Validator inner);
inline Validator Nullable(Validator inner) { return Union({std::move(inner), Null()}); }
}  // namespace v

// Formats a value as Convex's Rust Display does in error messages: 5 for int64, 1.0 / NaN /
// inf for float64, "quoted" strings, b"base64" bytes, [a, b], {key: value}.
std::string FormatValueForError(const Value& value);

}  // namespace cvx

#endif  // CVX_SCHEMA_VALIDATOR_H_
