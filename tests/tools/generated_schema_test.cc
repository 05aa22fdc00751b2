// The legacy generated_schema.jsonl of Convex snapshot exports (tools/generated_schema.h):
// shapes parse and print as Convex's pretty.rs does, and documents decode with the shape
// and per-document hints as export_context.rs does. Vectors from Convex's own tests
// (crates/exports/src/tests.rs, shape_inference's export_context tests).

#include "tools/generated_schema.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/value/document_id.h"
#include "engine/value/json.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace cvx::tools {
namespace {

std::string Id() {
  DocumentId id;
  id.table_number = 10001;
  for (size_t i = 0; i < id.internal_id.size(); ++i) id.internal_id[i] = static_cast<uint8_t>(i * 7 + 1);
  return id.Encode();
}

// `s` with `<ID>` replaced by Id().
std::string WithId(std::string_view s) {
  std::string out(s);
  for (size_t at; (at = out.find("<ID>")) != std::string::npos;) out.replace(at, 4, Id());
  return out;
}

// A generated_schema.jsonl: the shape line, then override lines; `<ID>` stands for Id().
std::string SchemaFile(std::string_view shape, std::vector<std::string> overrides = {}) {
  std::string file;
  AppendJsonString(WithId(shape), &file);
  file += "\n";
  for (const std::string& o : overrides) absl::StrAppend(&file, WithId(o), "\n");
  return file;
}

absl::StatusOr<Value> DecodeWith(std::string_view shape, std::string_view doc,
                                 std::vector<std::string> overrides = {}) {
  CVX_ASSIGN_OR_RETURN(GeneratedSchema schema,
                       GeneratedSchema::Parse(SchemaFile(shape, std::move(overrides)), "t/generated_schema.jsonl"));
  return schema.Decode(WithId(doc));
}

// The decoded document as Convex JSON, without _id, for compact expectations.
std::string Json(const absl::StatusOr<Value>& v) {
  if (!v.ok()) return std::string(v.status().message());
  Object fields = v->object();
  fields.erase("_id");
  return ToConvexJson(Value::FromObject(std::move(fields)));
}

TEST(GeneratedSchemaTest, ShapesParseAndPrintAsConvexWritesThem) {
  for (std::string shape : {
           R"({"_creationTime": normalfloat64, "_id": "<ID>", "foo": int64})",
           R"({"_creationTime": normalfloat64, "_id": "<ID>", "foo": array<int64 | field_name>})",
           R"({"location": {"city": string, "country": string} | {"country": string}} | {"name": string, "location": {"city": string, "country": string} | {"country": string}})",
           R"({"d": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": string}} | {"e": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": int64}})",
           R"({"a"?: -0 | NaN | inf | -inf | float64, "b": record<field_name, bytes>, "c": id<10001>})",
           R"(map<string, set<int64>>)", "never", "null", "boolean", "unknown", "{}", "\"literal\"",
       }) {
    shape = WithId(shape);
    ASSERT_OK_AND_ASSIGN(GeneratedSchema schema, GeneratedSchema::Parse(SchemaFile(shape), "t/generated_schema.jsonl"));
    EXPECT_FALSE(schema.uniform());
    EXPECT_EQ(schema.ShapeText(), shape);
  }
  ASSERT_OK_AND_ASSIGN(GeneratedSchema uniform, GeneratedSchema::Parse("\"uniform\"\n", "t/generated_schema.jsonl"));
  EXPECT_TRUE(uniform.uniform());
}

TEST(GeneratedSchemaTest, MalformedSchemasAreRefusedWithConvexsTexts) {
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {SchemaFile(R"({"a": int64)"), "cannot parse t/generated_schema.jsonl: unexpected token at ''. expected ', '"},
           {SchemaFile("int64 |"), "cannot parse t/generated_schema.jsonl: unexpected token at ' |'"},
           {SchemaFile("{a: int64}"), "cannot parse t/generated_schema.jsonl: cannot parse object key 'a'"},
           {SchemaFile("int64  | string"), "unexpected token at '  | string'"},
           {SchemaFile("array<int64"), "unexpected token at ''. expected '>'"},
           {SchemaFile("id<x>"), "unexpected token at 'x>'. expected '>'"},
           {"", "Row 1 wasn't valid JSON"},
           {"42\n", "Row 1 wasn't a valid Convex value: first line of generated_schema must be a string"},
           {SchemaFile("int64", {"[1]"}), "Row 2 wasn't a valid Convex value: overrides should be object"},
           {SchemaFile("int64", {R"({"<ID>":"infer","x":"infer"})"}), "override object should have one item"},
           {SchemaFile("int64", {R"({"<ID>":"float32"})"}), "invalid export context float32"},
           {SchemaFile("int64", {R"({"<ID>":7})"}), "invalid export context 7"},
           {SchemaFile("int64", {R"({"notanid":"infer"})"}), "Row 2 wasn't a valid Convex value"},
           {SchemaFile("int64", {R"({"<ID>":{"$float64NaN":"AAAAAAAA8D8="}})"}), "non-NaN"},
       }) {
    absl::StatusOr<GeneratedSchema> schema = GeneratedSchema::Parse(file, "t/generated_schema.jsonl");
    ASSERT_FALSE(schema.ok()) << file;
    EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(schema.status().message().find(text), std::string::npos) << schema.status() << "\nwanted: " << text;
  }
}

// Convex's test_export_zip: the three tables, as legacy exports wrote them.
TEST(GeneratedSchemaTest, ConvexsExportTestTablesDecode) {
  ASSERT_OK_AND_ASSIGN(Value doc, DecodeWith(R"({"_creationTime": normalfloat64, "_id": "<ID>", "foo": int64})",
                                             R"({"_creationTime":1719412345678.5,"_id":"<ID>","foo":"1"})"));
  EXPECT_EQ(doc.Find("foo")->type(), ValueType::kInt64);
  EXPECT_EQ(doc.Find("_id")->string(), Id());
  EXPECT_EQ(doc.Find("_creationTime")->float64(), 1719412345678.5);
  constexpr char kArrayShape[] = R"({"_creationTime": normalfloat64, "_id": "<ID>", "foo": array<int64 | field_name>})";
  EXPECT_EQ(Json(DecodeWith(kArrayShape, R"({"_creationTime":1.0,"_id":"<ID>","foo":["1","1"]})",
                            {R"({"<ID>":{"foo":["int64","infer"]}})"})),
            R"({"_creationTime":1,"foo":[{"$integer":"AQAAAAAAAAA="},"1"]})");
  // Without the hint the union is ambiguous: strings stay strings.
  EXPECT_EQ(Json(DecodeWith(kArrayShape, R"({"_creationTime":1.0,"_id":"<ID>","foo":["1","1"]})")),
            R"({"_creationTime":1,"foo":["1","1"]})");
  EXPECT_EQ(Json(DecodeWith(R"({"_creationTime": normalfloat64, "_id": "<ID>", "foo": field_name})",
                            R"({"_creationTime":1.0,"_id":"<ID>","foo":"1"})")),
            R"({"_creationTime":1,"foo":"1"})");
}

TEST(GeneratedSchemaTest, StringsTakeTheOneReadingTheShapeAllows) {
  // bytes, ±Inf, records, nested objects; numbers are always float64.
  EXPECT_EQ(Json(DecodeWith(R"({"b": bytes, "i": inf | -inf, "n": int64, "r": record<field_name, int64>})",
                            R"({"b":"AAE=","i":"-Infinity","n":5,"r":{"k":"-7"}})")),
            R"({"b":{"$bytes":"AAE="},"i":{"$float":"AAAAAAAA8P8="},"n":5,"r":{"k":{"$integer":"+f////////8="}}})");
  // float64 (and NaN) are ambiguous for strings: the exporter always wrote a hint.
  EXPECT_EQ(Json(DecodeWith(R"({"x": float64})", R"({"_id":"<ID>","x":"Infinity"})")), R"({"x":"Infinity"})");
  EXPECT_EQ(Json(DecodeWith(R"({"x": float64})", R"({"_id":"<ID>","x":"Infinity"})", {R"({"<ID>":{"x":"float64inf"}})"})),
            R"({"x":{"$float":"AAAAAAAA8H8="}})");
  ASSERT_OK_AND_ASSIGN(Value nan, DecodeWith(R"({"x": float64})", R"({"_id":"<ID>","x":"NaN"})",
                                             {R"({"<ID>":{"x":{"$float64NaN":"AAAAAAAA+H8="}}})"}));
  EXPECT_TRUE(std::isnan(nan.Find("x")->float64()));
  // int64 | string: ambiguous without a hint, int64 with one.
  EXPECT_EQ(Json(DecodeWith(R"({"x": int64 | string})", R"({"_id":"<ID>","x":"42"})")), R"({"x":"42"})");
  EXPECT_EQ(Json(DecodeWith(R"({"x": int64 | string})", R"({"_id":"<ID>","x":"42"})", {R"({"<ID>":{"x":"int64"}})"})),
            R"({"x":{"$integer":"KgAAAAAAAAA="}})");
  // A discriminated union (export_context.rs): the field shapes of every member count.
  EXPECT_EQ(Json(DecodeWith(
                R"({"d": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": string}} | {"e": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": int64}})",
                R"({"_id":"<ID>","d":"1","f":{"d":"1","v":"0"}})", {R"({"<ID>":{"f":{"v":"int64"}}})"})),
            R"({"d":{"$integer":"AQAAAAAAAAA="},"f":{"d":{"$integer":"AQAAAAAAAAA="},"v":{"$integer":"AAAAAAAAAAA="}}})");
}

TEST(GeneratedSchemaTest, NoSchemaReadsNumbersAsFloatsAndStringsAsStrings) {
  GeneratedSchema none;
  EXPECT_EQ(Json(none.Decode(R"({"a":1,"b":"1","c":[true,null,"AAE="],"d":{"e":-0.0}})")),
            R"({"a":1,"b":"1","c":[true,null,"AAE="],"d":{"e":{"$float":"AAAAAAAAAIA="}}})");
  // Convex JSON's $-objects are not field names here.
  EXPECT_NE(Json(none.Decode(R"({"a":{"$integer":"AQAAAAAAAAA="}})")).find("Invalid field name"), std::string::npos);
  EXPECT_NE(Json(none.Decode("[1]")).find("expected object"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::vector<Value> docs, none.DecodeArray(R"([{"a":1},{"b":"x"}])"));
  EXPECT_EQ(docs.size(), 2u);
  EXPECT_EQ(ErrorTag(none.DecodeArray(R"({"a":1})").status()), "InvalidImport");
  EXPECT_NE(none.DecodeArray(R"([{"a":1},2])").status().message().find("Row 2"), std::string::npos);
}

TEST(GeneratedSchemaTest, ValuesThatDoNotFitTheHintAreErrors) {
  for (const auto& [shape, doc, hint, text] : std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {R"({"n": int64})", R"({"_id":"<ID>","n":"4.2"})", "", "Unexpected string for i64"},
           {R"({"n": int64})", R"({"_id":"<ID>","n":"99999999999999999999"})", "", "Unexpected string for i64"},
           {R"({"x": float64})", R"({"_id":"<ID>","x":"inf"})", R"({"<ID>":{"x":"float64inf"}})", "Unexpected string for f64"},
           {R"({"x": float64})", R"({"_id":"<ID>","x":"nan"})", R"({"<ID>":{"x":{"$float64NaN":"AAAAAAAA+H8="}}})", "Unexpected serialization of a NaN value"},
           {R"({"b": bytes})", R"({"_id":"<ID>","b":"!!"})", "", "invalid base64"},
           {R"({"a": array<int64>})", R"({"_id":"<ID>","a":["1"]})", R"({"<ID>":{"a":["int64","int64"]}})", "Array lengths do not match"},
           {R"({"a": array<int64>})", R"({"_id":"<ID>","a":["1"]})", R"({"<ID>":{"a":"int64"}})", "unsupported shape hint for array value"},
           {R"({"a": int64})", R"({"_id":"<ID>","a":{"b":1}})", R"({"<ID>":{"a":"bytes"}})", "unsupported shape hint for object value"},
           {R"({"a": int64})", R"({"_id":"<ID>","a":"1"})", R"({"<ID>":{"a":["int64"]}})", "unexpected shape hint for string"},
           {R"({"a": int64})", R"({"_id":"not-an-id","a":"1"})", "", "Invalid ID"},
       }) {
    std::vector<std::string> overrides;
    if (!hint.empty()) overrides.push_back(hint);
    absl::StatusOr<Value> v = DecodeWith(shape, doc, overrides);
    ASSERT_FALSE(v.ok()) << shape << " " << doc;
    EXPECT_NE(v.status().message().find(text), std::string::npos) << v.status() << "\nwanted: " << text;
  }
}

}  // namespace
}  // namespace cvx::tools
