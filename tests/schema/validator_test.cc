// Validators: the JSON the `convex` npm package exports, Convex's printed forms, Rust
// Display formatting of values in errors, and Check() with Convex's exact error texts
// (crates/common/src/schemas/validator.rs; docs/design/convex-errors.md).

#include "schema/validator.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/database.h"
#include "engine/value/document_id.h"
#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::Arr;
using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Json(const Validator& v) { return ToConvexJson(v.ToJson()); }

// Check() without any table resolver.
absl::Status CheckNoTables(const Validator& v, const Value& value) {
  return v.Check(value, TableNameResolver());
}

// Asserts a ValidationError with exactly `message`.
void ExpectValidationError(const absl::Status& status, const std::string& message) {
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "ValidationError"));
  EXPECT_EQ(std::string(status.message()), message);
}

// ---------------------------------------------------------------------------------------
// ToJson(): what the convex npm package's exportArgs() writes (object keys sorted, as
// ToConvexJson writes them).

TEST(ValidatorJsonTest, Scalars) {
  EXPECT_EQ(Json(v::Any()), R"({"type":"any"})");
  EXPECT_EQ(Json(Validator()), R"({"type":"any"})");
  EXPECT_EQ(Json(v::Null()), R"({"type":"null"})");
  EXPECT_EQ(Json(v::Float64()), R"({"type":"number"})");
  EXPECT_EQ(Json(v::Number()), R"({"type":"number"})");
  EXPECT_EQ(Json(v::Int64()), R"({"type":"bigint"})");
  EXPECT_EQ(Json(v::BigInt()), R"({"type":"bigint"})");
  EXPECT_EQ(Json(v::Boolean()), R"({"type":"boolean"})");
  EXPECT_EQ(Json(v::String()), R"({"type":"string"})");
  EXPECT_EQ(Json(v::Bytes()), R"({"type":"bytes"})");
}

TEST(ValidatorJsonTest, Id) {
  EXPECT_EQ(Json(v::Id("users")), R"({"tableName":"users","type":"id"})");
}

TEST(ValidatorJsonTest, Array) {
  EXPECT_EQ(Json(v::Array(v::String())), R"({"type":"array","value":{"type":"string"}})");
  EXPECT_EQ(Json(v::Array(v::Array(v::Int64()))),
            R"({"type":"array","value":{"type":"array","value":{"type":"bigint"}}})");
}

TEST(ValidatorJsonTest, ObjectMarksOptionalFieldsOnTheParent) {
  EXPECT_EQ(Json(v::Object({{"a", v::String()}, {"b", v::Optional(v::Float64())}})),
            R"({"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false},)"
            R"("b":{"fieldType":{"type":"number"},"optional":true}}})");
}

TEST(ValidatorJsonTest, ObjectFieldsAreSortedWhateverTheDeclarationOrder) {
  EXPECT_EQ(Json(v::Object({{"z", v::Null()}, {"a", v::Boolean()}})),
            R"({"type":"object","value":{"a":{"fieldType":{"type":"boolean"},"optional":false},)"
            R"("z":{"fieldType":{"type":"null"},"optional":false}}})");
  EXPECT_EQ(Json(v::Object({})), R"({"type":"object","value":{}})");
}

TEST(ValidatorJsonTest, OptionalAloneHasTheInnerJson) {
  Validator opt = v::Optional(v::String());
  EXPECT_TRUE(opt.optional());
  EXPECT_FALSE(v::String().optional());
  EXPECT_EQ(opt.kind(), Validator::Kind::kString);
  EXPECT_EQ(Json(opt), R"({"type":"string"})");
}

TEST(ValidatorJsonTest, Record) {
  EXPECT_EQ(Json(v::Record(v::String(), v::Float64())),
            R"({"keys":{"type":"string"},"type":"record",)"
            R"("values":{"fieldType":{"type":"number"},"optional":false}})");
  EXPECT_EQ(Json(v::Record(v::Id("users"), v::Array(v::Any()))),
            R"({"keys":{"tableName":"users","type":"id"},"type":"record",)"
            R"("values":{"fieldType":{"type":"array","value":{"type":"any"}},"optional":false}})");
}

TEST(ValidatorJsonTest, Union) {
  EXPECT_EQ(Json(v::Union({v::String(), v::Null()})),
            R"({"type":"union","value":[{"type":"string"},{"type":"null"}]})");
  // Member order is kept (not sorted).
  EXPECT_EQ(Json(v::Union({v::Null(), v::Id("posts"), v::Bytes()})),
            R"({"type":"union","value":[{"type":"null"},{"tableName":"posts","type":"id"},)"
            R"({"type":"bytes"}]})");
  EXPECT_EQ(Json(v::Nullable(v::Float64())),
            R"({"type":"union","value":[{"type":"number"},{"type":"null"}]})");
  EXPECT_EQ(Json(v::Union({})), R"({"type":"union","value":[]})");
}

TEST(ValidatorJsonTest, Literals) {
  EXPECT_EQ(Json(v::Literal(Value::Int64(5))),
            R"({"type":"literal","value":{"$integer":"BQAAAAAAAAA="}})");
  EXPECT_EQ(Json(v::Literal(Str("abc"))), R"({"type":"literal","value":"abc"})");
  EXPECT_EQ(Json(v::Literal(F(1.5))), R"({"type":"literal","value":1.5})");
  EXPECT_EQ(Json(v::Literal(F(123.0))), R"({"type":"literal","value":123})");
  EXPECT_EQ(Json(v::Literal(Value::Boolean(true))), R"({"type":"literal","value":true})");
  EXPECT_EQ(Json(v::Literal(F(-0.0))),
            R"({"type":"literal","value":{"$float":"AAAAAAAAAIA="}})");
}

TEST(ValidatorJsonTest, Nested) {
  Validator args = v::Object({
      {"author", v::Id("users")},
      {"tags", v::Optional(v::Array(v::Union({v::Literal(Str("a")), v::Literal(Str("b"))})))},
  });
  EXPECT_EQ(Json(args),
            R"({"type":"object","value":{)"
            R"("author":{"fieldType":{"tableName":"users","type":"id"},"optional":false},)"
            R"("tags":{"fieldType":{"type":"array","value":{"type":"union","value":[)"
            R"({"type":"literal","value":"a"},{"type":"literal","value":"b"}]}},"optional":true}}})");
}

TEST(ValidatorJsonTest, Accessors) {
  Validator obj = v::Object({{"b", v::Int64()}, {"a", v::String()}});
  EXPECT_EQ(obj.kind(), Validator::Kind::kObject);
  ASSERT_EQ(obj.fields().size(), 2u);
  EXPECT_EQ(obj.fields().begin()->first, "a");
  EXPECT_EQ(v::Id("users").table_name(), "users");
  EXPECT_EQ(v::Literal(I(7)).literal(), I(7));
  EXPECT_EQ(v::Array(v::Bytes()).element().kind(), Validator::Kind::kBytes);
  Validator rec = v::Record(v::String(), v::Boolean());
  EXPECT_EQ(rec.record_keys().kind(), Validator::Kind::kString);
  EXPECT_EQ(rec.record_values().kind(), Validator::Kind::kBoolean);
  EXPECT_EQ(v::Union({v::Null(), v::Int64()}).members().size(), 2u);
  EXPECT_EQ(v::Number().kind(), Validator::Kind::kFloat64);
  EXPECT_EQ(v::BigInt().kind(), Validator::Kind::kInt64);
}

// ---------------------------------------------------------------------------------------
// ToString(): Convex's Display for Validator.

TEST(ValidatorStringTest, Scalars) {
  EXPECT_EQ(v::Any().ToString(), "v.any()");
  EXPECT_EQ(v::Null().ToString(), "v.null()");
  EXPECT_EQ(v::Float64().ToString(), "v.float64()");
  EXPECT_EQ(v::Number().ToString(), "v.float64()");
  EXPECT_EQ(v::Int64().ToString(), "v.int64()");
  EXPECT_EQ(v::BigInt().ToString(), "v.int64()");
  EXPECT_EQ(v::Boolean().ToString(), "v.boolean()");
  EXPECT_EQ(v::String().ToString(), "v.string()");
  EXPECT_EQ(v::Bytes().ToString(), "v.bytes()");
  EXPECT_EQ(v::Id("users").ToString(), "v.id(\"users\")");
}

TEST(ValidatorStringTest, ObjectWithSortedKeysAndOptional) {
  EXPECT_EQ(v::Object({{"b", v::Optional(v::Float64())}, {"a", v::String()}}).ToString(),
            "v.object({a: v.string(), b: v.optional(v.float64())})");
  EXPECT_EQ(v::Object({}).ToString(), "v.object({})");
  EXPECT_EQ(v::Object({{"inner", v::Object({{"x", v::Int64()}})}}).ToString(),
            "v.object({inner: v.object({x: v.int64()})})");
}

TEST(ValidatorStringTest, UnionArrayRecord) {
  EXPECT_EQ(v::Union({v::String(), v::Null()}).ToString(), "v.union(v.string(), v.null())");
  EXPECT_EQ(v::Nullable(v::Id("users")).ToString(), "v.union(v.id(\"users\"), v.null())");
  EXPECT_EQ(v::Union({}).ToString(), "v.union()");
  EXPECT_EQ(v::Array(v::Int64()).ToString(), "v.array(v.int64())");
  EXPECT_EQ(v::Array(v::Union({v::Id("users"), v::Null()})).ToString(),
            "v.array(v.union(v.id(\"users\"), v.null()))");
  EXPECT_EQ(v::Record(v::String(), v::Float64()).ToString(), "v.record(v.string(), v.float64())");
}

TEST(ValidatorStringTest, Literals) {
  EXPECT_EQ(v::Literal(Str("abc")).ToString(), "v.literal(\"abc\")");
  EXPECT_EQ(v::Literal(F(123.0)).ToString(), "v.literal(123.0)");
  EXPECT_EQ(v::Literal(F(0.5)).ToString(), "v.literal(0.5)");
  EXPECT_EQ(v::Literal(F(-2.25)).ToString(), "v.literal(-2.25)");
  EXPECT_EQ(v::Literal(I(5)).ToString(), "v.literal(<bigint>)");
  EXPECT_EQ(v::Literal(I(-1)).ToString(), "v.literal(<bigint>)");
  EXPECT_EQ(v::Literal(Value::Boolean(true)).ToString(), "v.literal(true)");
  EXPECT_EQ(v::Literal(Value::Boolean(false)).ToString(), "v.literal(false)");
  EXPECT_EQ(v::Literal(F(kNaN)).ToString(), "v.literal(<number>)");
  EXPECT_EQ(v::Literal(F(kInf)).ToString(), "v.literal(<number>)");
  EXPECT_EQ(v::Literal(F(-kInf)).ToString(), "v.literal(<number>)");
  EXPECT_EQ(v::Literal(Str("a\"b\\c\n")).ToString(), "v.literal(\"a\\\"b\\\\c\\n\")");
}

TEST(ValidatorStringTest, FloatLiteralsPrintAsSerdeJson) {
  // Convex prints float literals with serde_json (ryu): decimal from 1e-5 up to 1e16,
  // exponent form outside.
  EXPECT_EQ(v::Literal(F(5e-5)).ToString(), "v.literal(0.00005)");
  EXPECT_EQ(v::Literal(F(1e-7)).ToString(), "v.literal(1e-7)");
  EXPECT_EQ(v::Literal(F(1e21)).ToString(), "v.literal(1e21)");
  EXPECT_EQ(v::Literal(F(1e15)).ToString(), "v.literal(1000000000000000.0)");
}

TEST(ValidatorStringTest, StringLiteralControlCharactersPrintAsSerdeJson) {
  // LiteralValidator's Display goes through serde_json::to_string, which escapes control
  // characters as \u00XX (not Rust's Debug \u{X}) and leaves DEL alone.
  EXPECT_EQ(v::Literal(Str("\x01")).ToString(), "v.literal(\"\\u0001\")");
  EXPECT_EQ(v::Literal(Str(std::string("\0", 1))).ToString(), "v.literal(\"\\u0000\")");
  EXPECT_EQ(v::Literal(Str("\b\f")).ToString(), "v.literal(\"\\b\\f\")");
  EXPECT_EQ(v::Literal(Str("\x7f")).ToString(), "v.literal(\"\x7f\")");
  EXPECT_EQ(v::Literal(Str("a\tb")).ToString(), "v.literal(\"a\\tb\")");
}

// ---------------------------------------------------------------------------------------
// FormatValueForError(): Convex's Display for ConvexValue (floats with Rust's {:?}).

TEST(FormatValueTest, Scalars) {
  EXPECT_EQ(FormatValueForError(Value::Null()), "null");
  EXPECT_EQ(FormatValueForError(Value::Boolean(true)), "true");
  EXPECT_EQ(FormatValueForError(Value::Boolean(false)), "false");
  EXPECT_EQ(FormatValueForError(I(5)), "5");
  EXPECT_EQ(FormatValueForError(I(-7)), "-7");
  EXPECT_EQ(FormatValueForError(I(0)), "0");
  EXPECT_EQ(FormatValueForError(I(std::numeric_limits<int64_t>::min())),
            "-9223372036854775808");
}

TEST(FormatValueTest, Floats) {
  EXPECT_EQ(FormatValueForError(F(1.0)), "1.0");
  EXPECT_EQ(FormatValueForError(F(0.5)), "0.5");
  EXPECT_EQ(FormatValueForError(F(123.0)), "123.0");
  EXPECT_EQ(FormatValueForError(F(-3.0)), "-3.0");
  EXPECT_EQ(FormatValueForError(F(0.1)), "0.1");
  EXPECT_EQ(FormatValueForError(F(kNaN)), "NaN");
  EXPECT_EQ(FormatValueForError(F(kInf)), "inf");
  EXPECT_EQ(FormatValueForError(F(-kInf)), "-inf");
  EXPECT_EQ(FormatValueForError(F(-0.0)), "-0.0");
  EXPECT_EQ(FormatValueForError(F(0.0)), "0.0");
  EXPECT_EQ(FormatValueForError(F(1e15)), "1000000000000000.0");
  EXPECT_EQ(FormatValueForError(F(1e16)), "1e16");
  EXPECT_EQ(FormatValueForError(F(-1e21)), "-1e21");
  EXPECT_EQ(FormatValueForError(F(1.5e-7)), "1.5e-7");
  EXPECT_EQ(FormatValueForError(F(0.0001)), "0.0001");
}

TEST(FormatValueTest, SmallFloatsUseRustDebugExponentThreshold) {
  // Rust's {:?} for f64 switches to exponent form below 1e-4 (core::fmt::float,
  // float_to_general_debug): 5e-5 prints "5e-5", 1e-5 prints "1e-5".
  EXPECT_EQ(FormatValueForError(F(5e-5)), "5e-5");
  EXPECT_EQ(FormatValueForError(F(1e-5)), "1e-5");
  EXPECT_EQ(FormatValueForError(F(-9.9e-5)), "-9.9e-5");
}

TEST(FormatValueTest, StringsAreQuotedWithRustEscapes) {
  EXPECT_EQ(FormatValueForError(Str("abc")), "\"abc\"");
  EXPECT_EQ(FormatValueForError(Str("")), "\"\"");
  EXPECT_EQ(FormatValueForError(Str("a\"b\\c\nd\te\r")), "\"a\\\"b\\\\c\\nd\\te\\r\"");
  EXPECT_EQ(FormatValueForError(Str(std::string("\0", 1))), "\"\\0\"");
  EXPECT_EQ(FormatValueForError(Str("\x01")), "\"\\u{1}\"");
  EXPECT_EQ(FormatValueForError(Str("\x7f")), "\"\\u{7f}\"");
  EXPECT_EQ(FormatValueForError(Str("\b")), "\"\\u{8}\"");
  EXPECT_EQ(FormatValueForError(Str("it's")), "\"it's\"");
  EXPECT_EQ(FormatValueForError(Str("\xc3\xa9")), "\"\xc3\xa9\"");
}

TEST(FormatValueTest, Bytes) {
  EXPECT_EQ(FormatValueForError(Value::Bytes(std::string("\x01\x02\x03", 3))), "b\"AQID\"");
  EXPECT_EQ(FormatValueForError(Value::Bytes("")), "b\"\"");
}

TEST(FormatValueTest, ArraysAndObjects) {
  EXPECT_EQ(FormatValueForError(Arr({F(1.0), Str("a")})), "[1.0, \"a\"]");
  EXPECT_EQ(FormatValueForError(Arr({})), "[]");
  EXPECT_EQ(FormatValueForError(Obj({{"b", Str("x")}, {"a", F(1.0)}})), "{a: 1.0, b: \"x\"}");
  EXPECT_EQ(FormatValueForError(Obj({})), "{}");
  EXPECT_EQ(FormatValueForError(Obj({{"list", Arr({I(1), Value::Null()})},
                                     {"o", Obj({{"k", Value::Boolean(true)}})}})),
            "{list: [1, null], o: {k: true}}");
}

// ---------------------------------------------------------------------------------------
// Check(): accepting and rejecting, per kind.

struct KindCase {
  const char* name;
  Validator validator;
  std::vector<Value> accepted;
  std::vector<Value> rejected;
};

TEST(ValidatorCheckTest, EveryKindAcceptsAndRejects) {
  const Value bytes = Value::Bytes("\x01");
  std::vector<KindCase> cases = {
      {"any", v::Any(),
       {Value::Null(), I(1), F(1), Value::Boolean(true), Str("s"), bytes, Arr({}), Obj({})},
       {}},
      {"null", v::Null(), {Value::Null()}, {I(0), F(0), Value::Boolean(false), Str(""), Arr({})}},
      {"float64", v::Float64(), {F(1), F(-0.0), F(kNaN), F(kInf)}, {I(1), Str("1"), Value::Null()}},
      {"int64", v::Int64(), {I(1), I(-5)}, {F(1), Str("1"), Value::Boolean(true)}},
      {"boolean", v::Boolean(), {Value::Boolean(true), Value::Boolean(false)}, {I(0), Str("true")}},
      {"string", v::String(), {Str(""), Str("x")}, {bytes, I(1), Value::Null(), Arr({Str("x")})}},
      {"bytes", v::Bytes(), {bytes, Value::Bytes("")}, {Str("AQ=="), Arr({})}},
      {"array", v::Array(v::Float64()),
       {Arr({}), Arr({F(1), F(2)})},
       {Arr({F(1), Str("a")}), Arr({I(1)}), F(1), Obj({})}},
      {"object", v::Object({{"a", v::String()}, {"b", v::Optional(v::Float64())}}),
       {Obj({{"a", Str("x")}}), Obj({{"a", Str("x")}, {"b", F(2)}})},
       {Obj({}), Obj({{"a", Str("x")}, {"b", Str("y")}}), Obj({{"a", Str("x")}, {"c", F(1)}}),
        Arr({}), Value::Null()}},
      {"record", v::Record(v::String(), v::Float64()),
       {Obj({}), Obj({{"a", F(1)}, {"b", F(2)}})},
       {Obj({{"a", Str("x")}}), Arr({F(1)}), Str("a")}},
      {"union", v::Union({v::String(), v::Null()}),
       {Str("x"), Value::Null()},
       {F(1), I(1), Arr({})}},
      {"empty union", v::Union({}), {}, {Value::Null(), Str("x")}},
      {"literal string", v::Literal(Str("abc")), {Str("abc")}, {Str("abd"), Str("ABC"), Value::Null()}},
      {"literal int64", v::Literal(I(5)), {I(5)}, {F(5.0), I(6), Str("5")}},
      {"literal float64", v::Literal(F(5.0)), {F(5.0)}, {I(5), F(5.5)}},
      {"literal boolean", v::Literal(Value::Boolean(true)),
       {Value::Boolean(true)},
       {Value::Boolean(false), I(1)}},
  };
  for (const KindCase& c : cases) {
    for (const Value& value : c.accepted) {
      EXPECT_OK(CheckNoTables(c.validator, value))
          << c.name << " should accept " << FormatValueForError(value);
    }
    for (const Value& value : c.rejected) {
      EXPECT_THAT(CheckNoTables(c.validator, value),
                  StatusIs(absl::StatusCode::kInvalidArgument, "ValidationError"))
          << c.name << " should reject " << FormatValueForError(value);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Check(): exact messages.

TEST(ValidatorCheckTest, NoMatchAtRootHasAnEmptyContextLine) {
  ExpectValidationError(CheckNoTables(v::Float64(), Str("x")),
                        "Value does not match validator.\n\nValue: \"x\"\nValidator: v.float64()");
}

TEST(ValidatorCheckTest, NoMatchAtNestedPath) {
  Validator val = v::Object({{"a", v::Object({{"b", v::Array(v::Float64())}})}});
  ExpectValidationError(
      CheckNoTables(val, Obj({{"a", Obj({{"b", Arr({F(1), Str("x")})}})}})),
      "Value does not match validator.\nPath: .a.b[1]\nValue: \"x\"\nValidator: v.float64()");
}

TEST(ValidatorCheckTest, NoMatchOfAWholeContainer) {
  ExpectValidationError(
      CheckNoTables(v::Object({{"a", v::Array(v::String())}}), Obj({{"a", Str("s")}})),
      "Value does not match validator.\nPath: .a\nValue: \"s\"\nValidator: v.array(v.string())");
  ExpectValidationError(CheckNoTables(v::Object({{"a", v::String()}}), Arr({Str("a")})),
                        "Value does not match validator.\n\nValue: [\"a\"]\n"
                        "Validator: v.object({a: v.string()})");
}

TEST(ValidatorCheckTest, Int64DoesNotMatchFloat64AndViceVersa) {
  ExpectValidationError(CheckNoTables(v::Float64(), I(1)),
                        "Value does not match validator.\n\nValue: 1\nValidator: v.float64()");
  ExpectValidationError(CheckNoTables(v::Int64(), F(1)),
                        "Value does not match validator.\n\nValue: 1.0\nValidator: v.int64()");
}

TEST(ValidatorCheckTest, MissingRequiredField) {
  Validator val = v::Object({{"b", v::Optional(v::Float64())}, {"a", v::String()}});
  ExpectValidationError(
      CheckNoTables(val, Obj({{"b", F(1)}})),
      "Object is missing the required field `a`. Consider wrapping the field validator in "
      "`v.optional(...)` if this is expected.\n\nObject: {b: 1.0}\n"
      "Validator: v.object({a: v.string(), b: v.optional(v.float64())})");
}

TEST(ValidatorCheckTest, MissingRequiredFieldIsReportedAtTheObjectsPath) {
  Validator val = v::Object({{"inner", v::Object({{"x", v::Int64()}})}});
  ExpectValidationError(
      CheckNoTables(val, Obj({{"inner", Obj({})}})),
      "Object is missing the required field `x`. Consider wrapping the field validator in "
      "`v.optional(...)` if this is expected.\nPath: .inner\nObject: {}\n"
      "Validator: v.object({x: v.int64()})");
}

TEST(ValidatorCheckTest, MissingFieldsAreCheckedInSortedOrderBeforeExtraFields) {
  Validator val = v::Object({{"z", v::String()}, {"b", v::String()}});
  absl::Status s = CheckNoTables(val, Obj({{"extra", F(1)}}));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "ValidationError"));
  EXPECT_THAT(std::string(s.message()),
              ::testing::StartsWith("Object is missing the required field `b`."));
}

TEST(ValidatorCheckTest, ExtraField) {
  Validator val = v::Object({{"a", v::String()}});
  ExpectValidationError(CheckNoTables(val, Obj({{"a", Str("s")}, {"z", I(1)}})),
                        "Object contains extra field `z` that is not in the validator.\n\n"
                        "Object: {a: \"s\", z: 1}\nValidator: v.object({a: v.string()})");
  ExpectValidationError(
      CheckNoTables(v::Object({{"o", val}}), Obj({{"o", Obj({{"a", Str("s")}, {"q", Value::Null()}})}})),
      "Object contains extra field `q` that is not in the validator.\nPath: .o\n"
      "Object: {a: \"s\", q: null}\nValidator: v.object({a: v.string()})");
}

TEST(ValidatorCheckTest, FieldValuesAreCheckedBeforeExtraFields) {
  Validator val = v::Object({{"a", v::String()}});
  ExpectValidationError(
      CheckNoTables(val, Obj({{"a", F(2)}, {"zz", F(1)}})),
      "Value does not match validator.\nPath: .a\nValue: 2.0\nValidator: v.string()");
}

TEST(ValidatorCheckTest, OptionalFieldMayBeAbsentButMustMatchWhenPresent) {
  Validator val = v::Object({{"a", v::String()}, {"b", v::Optional(v::Float64())}});
  EXPECT_OK(CheckNoTables(val, Obj({{"a", Str("s")}})));
  EXPECT_OK(CheckNoTables(val, Obj({{"a", Str("s")}, {"b", F(3)}})));
  ExpectValidationError(
      CheckNoTables(val, Obj({{"a", Str("s")}, {"b", Str("x")}})),
      "Value does not match validator.\nPath: .b\nValue: \"x\"\nValidator: v.float64()");
  // An explicit null is a value, not an absent field.
  EXPECT_FALSE(CheckNoTables(val, Obj({{"a", Str("s")}, {"b", Value::Null()}})).ok());
}

TEST(ValidatorCheckTest, RecordKeyAndValuePaths) {
  Validator keys = v::Union({v::Literal(Str("a")), v::Literal(Str("b"))});
  Validator rec = v::Record(keys, v::Float64());
  EXPECT_OK(CheckNoTables(rec, Obj({{"a", F(1)}, {"b", F(2)}})));
  ExpectValidationError(CheckNoTables(rec, Obj({{"c", F(1)}})),
                        "Value does not match validator.\nPath: .keys()\nValue: \"c\"\n"
                        "Validator: v.union(v.literal(\"a\"), v.literal(\"b\"))");
  ExpectValidationError(
      CheckNoTables(rec, Obj({{"a", Str("x")}})),
      "Value does not match validator.\nPath: .values()\nValue: \"x\"\nValidator: v.float64()");
  ExpectValidationError(
      CheckNoTables(v::Object({{"m", v::Record(v::String(), v::Float64())}}),
                    Obj({{"m", Obj({{"k", Value::Boolean(true)}})}})),
      "Value does not match validator.\nPath: .m.values()\nValue: true\nValidator: v.float64()");
  ExpectValidationError(CheckNoTables(v::Record(v::Literal(Str("a")), v::Any()),
                                      Obj({{"c", F(1)}})),
                        "`\"c\"` does not match literal validator `v.literal(\"a\")`.Path: .keys()");
  ExpectValidationError(CheckNoTables(rec, Arr({})),
                        "Value does not match validator.\n\nValue: []\n"
                        "Validator: v.record(v.union(v.literal(\"a\"), v.literal(\"b\")), "
                        "v.float64())");
}

TEST(ValidatorCheckTest, UnionOfOneMemberDelegates) {
  ExpectValidationError(CheckNoTables(v::Union({v::Float64()}), Str("x")),
                        "Value does not match validator.\n\nValue: \"x\"\nValidator: v.float64()");
  ExpectValidationError(
      CheckNoTables(v::Union({v::Object({{"a", v::String()}})}), Obj({})),
      "Object is missing the required field `a`. Consider wrapping the field validator in "
      "`v.optional(...)` if this is expected.\n\nObject: {}\n"
      "Validator: v.object({a: v.string()})");
  ExpectValidationError(
      CheckNoTables(v::Object({{"u", v::Union({v::Array(v::Int64())})}}),
                    Obj({{"u", Arr({I(1), F(2)})}})),
      "Value does not match validator.\nPath: .u[1]\nValue: 2.0\nValidator: v.int64()");
}

TEST(ValidatorCheckTest, UnionNoMatchShowsTheWholeUnion) {
  ExpectValidationError(CheckNoTables(v::Union({v::String(), v::Null()}), F(1)),
                        "Value does not match validator.\n\nValue: 1.0\n"
                        "Validator: v.union(v.string(), v.null())");
  ExpectValidationError(
      CheckNoTables(v::Object({{"x", v::Union({v::String(), v::Int64()})}}), Obj({{"x", F(1.5)}})),
      "Value does not match validator.\nPath: .x\nValue: 1.5\n"
      "Validator: v.union(v.string(), v.int64())");
  // A deep failure inside a member is not reported; the whole union is.
  Validator doc = v::Union({v::Object({{"kind", v::Literal(Str("a"))}}),
                            v::Object({{"kind", v::Literal(Str("b"))}, {"n", v::Float64()}})});
  ExpectValidationError(CheckNoTables(doc, Obj({{"kind", Str("b")}, {"n", Str("x")}})),
                        "Value does not match validator.\n\nValue: {kind: \"b\", n: \"x\"}\n"
                        "Validator: v.union(v.object({kind: v.literal(\"a\")}), "
                        "v.object({kind: v.literal(\"b\"), n: v.float64()}))");
  ExpectValidationError(CheckNoTables(v::Union({}), Value::Null()),
                        "Value does not match validator.\n\nValue: null\nValidator: v.union()");
}

TEST(ValidatorCheckTest, LiteralMismatch) {
  ExpectValidationError(CheckNoTables(v::Literal(Str("a")), F(5.0)),
                        "`5.0` does not match literal validator `v.literal(\"a\")`.");
  ExpectValidationError(CheckNoTables(v::Object({{"k", v::Literal(Str("a"))}}), Obj({{"k", Str("b")}})),
                        "`\"b\"` does not match literal validator `v.literal(\"a\")`.Path: .k");
  ExpectValidationError(CheckNoTables(v::Literal(I(5)), F(5.0)),
                        "`5.0` does not match literal validator `v.literal(<bigint>)`.");
  ExpectValidationError(CheckNoTables(v::Literal(F(123.0)), I(123)),
                        "`123` does not match literal validator `v.literal(123.0)`.");
  ExpectValidationError(
      CheckNoTables(v::Array(v::Literal(Value::Boolean(true))), Arr({Value::Boolean(true), Arr({})})),
      "`[]` does not match literal validator `v.literal(true)`.Path: [1]");
}

// ---------------------------------------------------------------------------------------
// v.id(...) against a real database.

class IdValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb();
    ASSERT_NE(db_, nullptr);
    auto txn = db_->Begin();
    ASSERT_OK_AND_ASSIGN(DocumentId user, txn->Insert("users", {{"name", Str("ada")}}));
    ASSERT_OK_AND_ASSIGN(DocumentId post, txn->Insert("posts", {{"title", Str("hi")}}));
    ASSERT_OK_AND_ASSIGN(DocumentId sys, txn->Insert("_system_x", {{"k", I(1)}}));
    ASSERT_OK(txn->Commit());
    user_id_ = user.Encode();
    post_id_ = post.Encode();
    system_id_ = sys.Encode();
    reader_ = db_->Begin();
    resolver_ = [txn = reader_.get()](uint32_t n) { return txn->TableName(n); };
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<Transaction> reader_;
  TableNameResolver resolver_;
  std::string user_id_, post_id_, system_id_;
};

TEST_F(IdValidatorTest, IdOfTheRightTablePasses) {
  EXPECT_OK(v::Id("users").Check(Str(user_id_), resolver_));
  EXPECT_OK(v::Id("posts").Check(Str(post_id_), resolver_));
  EXPECT_OK(v::Object({{"author", v::Id("users")}}).Check(Obj({{"author", Str(user_id_)}}),
                                                            resolver_));
  EXPECT_OK(v::Union({v::Id("posts"), v::Id("users")}).Check(Str(user_id_), resolver_));
}

TEST_F(IdValidatorTest, IdOfAnotherTable) {
  ExpectValidationError(v::Id("users").Check(Str(post_id_), resolver_),
                        absl::StrCat("Found ID \"", post_id_,
                                     "\" from table `posts`, which does not match the table name "
                                     "in validator `v.id(\"users\")`."));
}

TEST_F(IdValidatorTest, IdOfAnotherTableNested) {
  ExpectValidationError(
      v::Object({{"author", v::Id("users")}}).Check(Obj({{"author", Str(post_id_)}}), resolver_),
      absl::StrCat("Found ID \"", post_id_,
                   "\" from table `posts`, which does not match the table name in validator "
                   "`v.id(\"users\")`.Path: .author"));
  ExpectValidationError(
      v::Array(v::Id("users")).Check(Arr({Str(user_id_), Str(post_id_)}), resolver_),
      absl::StrCat("Found ID \"", post_id_,
                   "\" from table `posts`, which does not match the table name in validator "
                   "`v.id(\"users\")`.Path: [1]"));
}

TEST_F(IdValidatorTest, IdOfASystemTable) {
  ExpectValidationError(v::Id("users").Check(Str(system_id_), resolver_),
                        absl::StrCat("Found ID \"", system_id_,
                                     "\" from a system table, which does not match the table "
                                     "name in validator `v.id(\"users\")`."));
  ExpectValidationError(
      v::Object({{"ref", v::Id("users")}}).Check(Obj({{"ref", Str(system_id_)}}), resolver_),
      absl::StrCat("Found ID \"", system_id_,
                   "\" from a system table, which does not match the table name in validator "
                   "`v.id(\"users\")`.Path: .ref"));
  // A system table's own validator accepts it.
  EXPECT_OK(v::Id("_system_x").Check(Str(system_id_), resolver_));
}

TEST_F(IdValidatorTest, UndecodableStringIsNoMatch) {
  ExpectValidationError(
      v::Id("users").Check(Str("not-an-id"), resolver_),
      "Value does not match validator.\n\nValue: \"not-an-id\"\nValidator: v.id(\"users\")");
  // One character changed breaks the checksum.
  std::string broken = user_id_;
  broken.back() = broken.back() == '0' ? '1' : '0';
  ExpectValidationError(v::Id("users").Check(Str(broken), resolver_),
                        absl::StrCat("Value does not match validator.\n\nValue: \"", broken,
                                     "\"\nValidator: v.id(\"users\")"));
}

TEST_F(IdValidatorTest, NonStringIsNoMatch) {
  ExpectValidationError(v::Id("users").Check(I(5), resolver_),
                        "Value does not match validator.\n\nValue: 5\nValidator: v.id(\"users\")");
}

TEST_F(IdValidatorTest, UnknownTableNumberOrNoResolverIsNoMatch) {
  DocumentId unknown;
  unknown.table_number = 99999;
  unknown.internal_id = DocumentId::Decode(user_id_)->internal_id;
  std::string text = unknown.Encode();
  ASSERT_TRUE(DocumentId::Decode(text).ok());
  ExpectValidationError(v::Id("users").Check(Str(text), resolver_),
                        absl::StrCat("Value does not match validator.\n\nValue: \"", text,
                                     "\"\nValidator: v.id(\"users\")"));
  ExpectValidationError(v::Id("users").Check(Str(user_id_), TableNameResolver()),
                        absl::StrCat("Value does not match validator.\n\nValue: \"", user_id_,
                                     "\"\nValidator: v.id(\"users\")"));
}

TEST_F(IdValidatorTest, IdOfAnotherTableInsideAUnionIsNoMatchOfTheUnion) {
  ExpectValidationError(v::Nullable(v::Id("users")).Check(Str(post_id_), resolver_),
                        absl::StrCat("Value does not match validator.\n\nValue: \"", post_id_,
                                     "\"\nValidator: v.union(v.id(\"users\"), v.null())"));
}

TEST_F(IdValidatorTest, ResolverSeesTablesCreatedInTheSameTransaction) {
  auto txn = db_->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId fresh, txn->Insert("comments", {{"c", I(1)}}));
  TableNameResolver r = [t = txn.get()](uint32_t n) { return t->TableName(n); };
  EXPECT_OK(v::Id("comments").Check(Str(fresh.Encode()), r));
  ExpectValidationError(v::Id("users").Check(Str(fresh.Encode()), r),
                        absl::StrCat("Found ID \"", fresh.Encode(),
                                     "\" from table `comments`, which does not match the table "
                                     "name in validator `v.id(\"users\")`."));
  // The older reader does not know the new table.
  EXPECT_FALSE(v::Id("comments").Check(Str(fresh.Encode()), resolver_).ok());
}

// FromJson is ToJson's inverse for every kind, nested, optional fields included.
TEST(ValidatorFromJsonTest, RoundTripsEveryKind) {
  std::vector<Validator> all = {
      v::Any(), v::Null(), v::Float64(), v::Int64(), v::Boolean(), v::String(), v::Bytes(),
      v::Id("users"), v::Literal(Str("a")), v::Literal(Value::Int64(5)), v::Literal(Value::Boolean(false)),
      v::Array(v::Union({v::String(), v::Null()})),
      v::Record(v::String(), v::Float64()),
      v::Object({{"a", v::String()}, {"b", v::Optional(v::Array(v::Id("t")))},
                 {"c", v::Object({{"d", v::Optional(v::Literal(Value::Float64(1.5)))}})}}),
  };
  for (const Validator& original : all) {
    absl::StatusOr<Validator> back = Validator::FromJson(original.ToJson());
    ASSERT_TRUE(back.ok()) << back.status() << " for " << original.ToString();
    EXPECT_EQ(ToConvexJson(back->ToJson()), ToConvexJson(original.ToJson()));
    EXPECT_EQ(back->ToString(), original.ToString());
  }
  // The `convex` package's own text for an optional field parses to an optional validator.
  absl::StatusOr<Value> json = ParseConvexJson(
      R"({"type":"object","value":{"author":{"fieldType":{"type":"string"},"optional":true}}})");
  ASSERT_OK(json);
  ASSERT_OK_AND_ASSIGN(Validator parsed, Validator::FromJson(*json));
  EXPECT_TRUE(parsed.fields().at("author").optional());
  EXPECT_OK(parsed.Check(Obj({}), nullptr));
}

TEST(ValidatorFromJsonTest, RefusesWhatIsNotAValidator) {
  for (const char* bad : {R"("string")", R"({"type":"strange"})", R"({"type":"id"})",
                          R"({"type":"array"})", R"({"type":"object","value":{"a":{"optional":true}}})",
                          R"({"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":"yes"}}})",
                          R"({"type":"union","value":{"type":"string"}})", R"({"type":"literal","value":null})",
                          R"({"type":"record","keys":{"type":"string"}})"}) {
    absl::StatusOr<Value> json = ParseConvexJson(bad);
    ASSERT_OK(json);
    EXPECT_THAT(Validator::FromJson(*json).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, "InvalidValidator")) << bad;
  }
  std::string deep = R"({"type":"string"})";
  for (int i = 0; i < 70; ++i) deep = absl::StrCat(R"({"type":"array","value":)", deep, "}");
  absl::StatusOr<Value> json = ParseConvexJson(deep);
  if (json.ok()) {
    EXPECT_THAT(Validator::FromJson(*json).status(), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidValidator"));
  }
}

}  // namespace
}  // namespace cvx
