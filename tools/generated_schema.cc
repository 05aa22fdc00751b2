// Hand-written because the formats are Convex's own (shape_inference's pretty printer and
// export contexts); no library reads them. Grammar and rules: generated_schema.h.

#include "tools/generated_schema.h"

#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/document_id.h"
#include "engine/value/json.h"

namespace cvx::tools {

struct Shape {
  enum class Kind {
    kNever, kNull, kInt64, kFloat64, kNegativeInf, kPositiveInf, kNegativeZero, kNaN,
    kNormalFloat64, kBoolean, kFieldName, kString, kBytes, kUnknown,  // units
    kLiteral, kId, kArray, kSet, kMap, kRecord, kObject, kUnion,
  };
  Kind kind = Kind::kUnknown;
  std::string text;                 // kLiteral
  uint32_t table_number = 0;        // kId
  std::vector<Shape> children;      // array/set: [T]; map/record: [K, V]; object: fields; union
  std::vector<std::string> names;   // kObject: field names
  std::vector<bool> optional;       // kObject
};

struct ExportContext {
  enum class Kind { kInfer, kInt64, kFloat64Inf, kBytes, kSet, kMap, kFloat64NaN, kArray, kObject };
  Kind kind = Kind::kInfer;
  double nan = 0;                                 // kFloat64NaN
  std::vector<ExportContext> elements;            // kArray
  std::map<std::string, ExportContext> fields;    // kObject
};

namespace {

using Kind = Shape::Kind;
using CtxKind = ExportContext::Kind;

struct Unit {
  const char* token;
  Kind kind;
};
// In the order Convex's parser tries them (prefix matches, no word boundary).
constexpr Unit kUnits[] = {
    {"never", Kind::kNever},           {"null", Kind::kNull},
    {"int64", Kind::kInt64},           {"float64", Kind::kFloat64},
    {"-inf", Kind::kNegativeInf},      {"inf", Kind::kPositiveInf},
    {"-0", Kind::kNegativeZero},       {"NaN", Kind::kNaN},
    {"normalfloat64", Kind::kNormalFloat64}, {"boolean", Kind::kBoolean},
    {"field_name", Kind::kFieldName},  {"string", Kind::kString},
    {"bytes", Kind::kBytes},           {"unknown", Kind::kUnknown},
};

absl::Status BadValue(std::string message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "InvalidConvexValue", std::move(message));
}

// --- The shape parser ----------------------------------------------------------------

class ShapeParser {
 public:
  explicit ShapeParser(std::string_view text) : rest_(text) {}

  absl::StatusOr<Shape> ParseAll() {
    CVX_ASSIGN_OR_RETURN(Shape shape, ParseUnion());
    if (!rest_.empty()) return Unexpected();
    return shape;
  }

 private:
  absl::Status Unexpected(std::string_view expected = "") {
    std::string message = absl::StrCat("unexpected token at '", AV(rest_), "'");
    if (!expected.empty()) absl::StrAppend(&message, ". expected '", AV(expected), "'");
    return absl::InvalidArgumentError(message);
  }
  bool Consume(std::string_view token) {
    if (!absl::StartsWith(AV(rest_), AV(token))) return false;
    rest_.remove_prefix(token.size());
    return true;
  }
  absl::Status Expect(std::string_view token) {
    return Consume(token) ? absl::OkStatus() : Unexpected(token);
  }

  absl::StatusOr<Shape> ParseUnion() {
    CVX_ASSIGN_OR_RETURN(Shape first, ParsePrefix());
    if (!absl::StartsWith(AV(rest_), " | ")) return first;
    Shape u;
    u.kind = Kind::kUnion;
    u.children.push_back(std::move(first));
    while (Consume(" | ")) {
      CVX_ASSIGN_OR_RETURN(Shape next, ParsePrefix());
      u.children.push_back(std::move(next));
    }
    return u;
  }

  absl::StatusOr<Shape> ParsePrefix() {
    Shape s;
    for (const Unit& unit : kUnits) {
      if (Consume(unit.token)) {
        s.kind = unit.kind;
        return s;
      }
    }
    if (Consume("id<")) {
      size_t end = rest_.find('>');
      uint32_t number = 0;
      if (end == std::string_view::npos || !absl::SimpleAtoi(AV(rest_.substr(0, end)), &number)) {
        return Unexpected(">");
      }
      rest_.remove_prefix(end + 1);
      s.kind = Kind::kId;
      s.table_number = number;
      return s;
    }
    for (auto [token, kind, arity] : {std::tuple{"array<", Kind::kArray, 1}, {"set<", Kind::kSet, 1},
                                      {"record<", Kind::kRecord, 2}, {"map<", Kind::kMap, 2}}) {
      if (!Consume(token)) continue;
      s.kind = kind;
      for (int i = 0; i < arity; ++i) {
        if (i > 0) CVX_RETURN_IF_ERROR(Expect(", "));
        CVX_ASSIGN_OR_RETURN(Shape child, ParseUnion());
        s.children.push_back(std::move(child));
      }
      CVX_RETURN_IF_ERROR(Expect(">"));
      return s;
    }
    if (Consume("\"")) {
      size_t end = rest_.find('"');
      if (end == std::string_view::npos) return Unexpected("\"");
      s.kind = Kind::kLiteral;
      s.text = std::string(rest_.substr(0, end));
      rest_.remove_prefix(end + 1);
      return s;
    }
    if (Consume("{")) {
      s.kind = Kind::kObject;
      if (Consume("}")) return s;
      while (true) {
        size_t colon = rest_.find(": ");
        if (colon == std::string_view::npos) return Unexpected("\": \"");
        std::string_view key = rest_.substr(0, colon);
        bool optional = absl::EndsWith(AV(key), "?");
        if (optional) key.remove_suffix(1);
        if (key.size() < 2 || key.front() != '"' || key.back() != '"') {
          return absl::InvalidArgumentError(absl::StrCat("cannot parse object key '", AV(key), "'"));
        }
        std::string name(key.substr(1, key.size() - 2));
        if (!IsValidFieldName(name)) {
          return absl::InvalidArgumentError(absl::StrCat("invalid field name '", name, "'"));
        }
        rest_.remove_prefix(colon + 2);
        CVX_ASSIGN_OR_RETURN(Shape value, ParseUnion());
        s.names.push_back(std::move(name));
        s.optional.push_back(optional);
        s.children.push_back(std::move(value));
        if (Consume("}")) return s;
        CVX_RETURN_IF_ERROR(Expect(", "));
      }
    }
    return Unexpected();
  }

  std::string_view rest_;
};

void PrintShape(const Shape& s, std::string* out) {
  for (const Unit& unit : kUnits) {
    if (unit.kind == s.kind) {
      out->append(unit.token);
      return;
    }
  }
  switch (s.kind) {
    case Kind::kLiteral: absl::StrAppend(out, "\"", s.text, "\""); return;
    case Kind::kId: absl::StrAppend(out, "id<", s.table_number, ">"); return;
    case Kind::kUnion:
      for (size_t i = 0; i < s.children.size(); ++i) {
        if (i > 0) out->append(" | ");
        PrintShape(s.children[i], out);
      }
      return;
    case Kind::kObject:
      out->append("{");
      for (size_t i = 0; i < s.children.size(); ++i) {
        absl::StrAppend(out, i > 0 ? ", " : "", "\"", s.names[i], "\"", s.optional[i] ? "?" : "", ": ");
        PrintShape(s.children[i], out);
      }
      out->append("}");
      return;
    default: {
      const char* name = s.kind == Kind::kArray ? "array<" : s.kind == Kind::kSet ? "set<"
                         : s.kind == Kind::kRecord ? "record<" : "map<";
      out->append(name);
      for (size_t i = 0; i < s.children.size(); ++i) {
        if (i > 0) out->append(", ");
        PrintShape(s.children[i], out);
      }
      out->append(">");
    }
  }
}

// --- Contexts ------------------------------------------------------------------------

absl::StatusOr<double> NanFromBase64(std::string_view text) {
  std::string raw;
  if (!Base64Decode(text, &raw)) return BadValue("invalid base64 in $float64NaN");
  if (raw.size() != 8) return BadValue("Float64 must be exactly eight bytes");
  uint64_t bits = 0;
  for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<uint8_t>(raw[i]);
  double d = std::bit_cast<double>(bits);
  if (!std::isnan(d)) return BadValue("Unexpected non-NaN value in the export context");
  return d;
}

absl::StatusOr<ExportContext> ParseContext(simdjson::dom::element e) {
  ExportContext ctx;
  std::string_view text;
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: {
      text = e.get_string().value_unsafe();
      static constexpr std::pair<const char*, CtxKind> kNames[] = {
          {"infer", CtxKind::kInfer}, {"int64", CtxKind::kInt64}, {"float64inf", CtxKind::kFloat64Inf},
          {"bytes", CtxKind::kBytes}, {"set", CtxKind::kSet},     {"map", CtxKind::kMap}};
      for (const auto& [name, kind] : kNames) {
        if (text == name) {
          ctx.kind = kind;
          return ctx;
        }
      }
      return BadValue(absl::StrCat("invalid export context ", AV(text)));
    }
    case simdjson::dom::element_type::ARRAY: {
      ctx.kind = CtxKind::kArray;
      simdjson::dom::array array = e.get_array().value_unsafe();  // not a temporary's
      for (simdjson::dom::element child : array) {
        CVX_ASSIGN_OR_RETURN(ExportContext c, ParseContext(child));
        ctx.elements.push_back(std::move(c));
      }
      return ctx;
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj = e.get_object().value_unsafe();
      simdjson::dom::element nan;
      if (obj.at_key("$float64NaN").get(nan) == simdjson::SUCCESS && nan.get_string().get(text) == simdjson::SUCCESS) {
        ctx.kind = CtxKind::kFloat64NaN;
        CVX_ASSIGN_OR_RETURN(ctx.nan, NanFromBase64(text));
        return ctx;
      }
      ctx.kind = CtxKind::kObject;
      for (auto field : obj) {
        if (field.key == "$float64NaN") continue;
        if (!IsValidFieldName(field.key)) {
          return BadValue(absl::StrCat("invalid field name '", AV(field.key), "' in an export context"));
        }
        CVX_ASSIGN_OR_RETURN(ExportContext c, ParseContext(field.value));
        ctx.fields[std::string(field.key)] = std::move(c);
      }
      return ctx;
    }
    default:
      return BadValue(absl::StrCat("invalid export context ", simdjson::minify(e)));
  }
}

// --- Decoding ------------------------------------------------------------------------

using Shapes = std::vector<const Shape*>;

// Union members, recursively.
void Flatten(const Shape* s, Shapes* out) {
  if (s->kind == Kind::kUnion) {
    for (const Shape& c : s->children) Flatten(&c, out);
  } else {
    out->push_back(s);
  }
}

Shapes ElementShapes(const Shapes& shapes) {
  Shapes flat, out;
  for (const Shape* s : shapes) Flatten(s, &flat);
  for (const Shape* s : flat) {
    if (s->kind == Kind::kArray || s->kind == Kind::kSet) Flatten(&s->children[0], &out);
    if (s->kind == Kind::kUnknown) out.push_back(s);
  }
  return out;
}

Shapes FieldShapes(const Shapes& shapes, std::string_view field) {
  Shapes flat, out;
  for (const Shape* s : shapes) Flatten(s, &flat);
  for (const Shape* s : flat) {
    if (s->kind == Kind::kObject) {
      for (size_t i = 0; i < s->names.size(); ++i) {
        if (s->names[i] == field) Flatten(&s->children[i], &out);
      }
    } else if (s->kind == Kind::kRecord) {
      Flatten(&s->children[1], &out);
    } else if (s->kind == Kind::kUnknown) {
      out.push_back(s);
    }
  }
  return out;
}

// The hint a string takes under "infer": the one every shape of S agrees on, else infer.
CtxKind StringContext(const Shapes& shapes) {
  Shapes flat;
  for (const Shape* s : shapes) Flatten(s, &flat);
  std::vector<CtxKind> kinds;
  for (const Shape* s : flat) {
    switch (s->kind) {
      case Kind::kInt64: kinds.push_back(CtxKind::kInt64); break;
      case Kind::kNegativeInf:
      case Kind::kPositiveInf: kinds.push_back(CtxKind::kFloat64Inf); break;
      case Kind::kFloat64:
      case Kind::kNaN:
        kinds.push_back(CtxKind::kFloat64NaN);
        kinds.push_back(CtxKind::kFloat64Inf);
        break;
      case Kind::kLiteral:
      case Kind::kId:
      case Kind::kFieldName:
      case Kind::kString: kinds.push_back(CtxKind::kInfer); break;
      case Kind::kBytes: kinds.push_back(CtxKind::kBytes); break;
      case Kind::kUnknown: return CtxKind::kInfer;  // five readings
      default: break;
    }
  }
  if (kinds.empty()) return CtxKind::kInfer;
  for (CtxKind k : kinds) {
    if (k != kinds[0]) return CtxKind::kInfer;
  }
  return kinds[0] == CtxKind::kFloat64NaN ? CtxKind::kInfer : kinds[0];
}

// Rust's i64::from_str: an optional sign, then ASCII digits only.
std::optional<int64_t> ParseRustI64(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  int64_t v = 0;
  if (!absl::SimpleAtoi(AV(s[0] == '+' ? s.substr(1) : s), &v)) return std::nullopt;
  return v;
}

absl::StatusOr<Value> DecodeString(std::string_view s, const ExportContext& ctx, const Shapes& shapes) {
  CtxKind kind = ctx.kind == CtxKind::kInfer ? StringContext(shapes) : ctx.kind;
  switch (kind) {
    case CtxKind::kInfer: return Value::String(std::string(s));
    case CtxKind::kInt64: {
      std::optional<int64_t> v = ParseRustI64(s);
      if (!v) return BadValue(absl::StrCat("Unexpected string for i64: ", AV(s)));
      return Value::Int64(*v);
    }
    case CtxKind::kFloat64Inf:
      if (s == "Infinity") return Value::Float64(std::numeric_limits<double>::infinity());
      if (s == "-Infinity") return Value::Float64(-std::numeric_limits<double>::infinity());
      return BadValue(absl::StrCat("Unexpected string for f64: ", AV(s)));
    case CtxKind::kFloat64NaN:
      if (s != "NaN") return BadValue("Unexpected serialization of a NaN value");
      return Value::Float64(ctx.nan);
    case CtxKind::kBytes: {
      std::string raw, padded(s);
      while (padded.size() % 4 != 0) padded.push_back('=');
      if (!Base64Decode(padded, &raw)) return BadValue(absl::StrCat("invalid base64 for bytes: ", AV(s)));
      return Value::Bytes(std::move(raw));
    }
    case CtxKind::kSet:
    case CtxKind::kMap: return BadValue("convexlite has no Set or Map values");
    default: return BadValue("unexpected shape hint for string");
  }
}

absl::StatusOr<Value> Apply(simdjson::dom::element e, const ExportContext& ctx, const Shapes& shapes) {
  static const ExportContext kInfer;
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return Value::Null();
    case simdjson::dom::element_type::BOOL: return Value::Boolean(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::INT64:
      return Value::Float64(static_cast<double>(e.get_int64().value_unsafe()));
    case simdjson::dom::element_type::UINT64:
      return Value::Float64(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Value::Float64(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING: return DecodeString(e.get_string().value_unsafe(), ctx, shapes);
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array = e.get_array().value_unsafe();
      if (ctx.kind != CtxKind::kInfer && ctx.kind != CtxKind::kArray) {
        return BadValue("unsupported shape hint for array value");
      }
      if (ctx.kind == CtxKind::kArray && ctx.elements.size() != array.size()) {
        return BadValue("Array lengths do not match");
      }
      Shapes element = ElementShapes(shapes);
      Array out;
      size_t i = 0;
      for (simdjson::dom::element child : array) {
        const ExportContext& c = ctx.kind == CtxKind::kArray ? ctx.elements[i] : kInfer;
        CVX_ASSIGN_OR_RETURN(Value v, Apply(child, c, element));
        out.push_back(std::move(v));
        ++i;
      }
      return Value::FromArray(std::move(out));
    }
    case simdjson::dom::element_type::OBJECT: {
      if (ctx.kind != CtxKind::kInfer && ctx.kind != CtxKind::kObject) {
        return BadValue("unsupported shape hint for object value");
      }
      Object out;
      simdjson::dom::object obj = e.get_object().value_unsafe();  // not a temporary's
      for (auto field : obj) {
        if (!IsValidFieldName(field.key)) {
          return BadValue(absl::StrCat("Invalid field name: \"", AV(field.key), "\""));
        }
        const ExportContext* c = &kInfer;
        if (ctx.kind == CtxKind::kObject) {
          if (auto it = ctx.fields.find(std::string(field.key)); it != ctx.fields.end()) c = &it->second;
        }
        CVX_ASSIGN_OR_RETURN(Value v, Apply(field.value, *c, FieldShapes(shapes, field.key)));
        if (!out.emplace(std::string(field.key), std::move(v)).second) {
          return BadValue(absl::StrCat("duplicate field \"", AV(field.key), "\""));
        }
      }
      return Value::FromObject(std::move(out));
    }
  }
  return BadValue("unknown JSON type");
}

absl::StatusOr<simdjson::dom::element> ParseJson(simdjson::dom::parser& parser,
                                                 const simdjson::padded_string& text) {
  simdjson::dom::element root;
  if (auto error = parser.parse(text).get(root); error != simdjson::SUCCESS) {
    return MakeError(absl::StatusCode::kInvalidArgument, "InvalidJson",
                     absl::StrCat("Invalid JSON: ", simdjson::error_message(error)));
  }
  return root;
}

}  // namespace

GeneratedSchema::GeneratedSchema() : shape_(std::make_unique<Shape>()) {}
GeneratedSchema::~GeneratedSchema() = default;
GeneratedSchema::GeneratedSchema(GeneratedSchema&&) noexcept = default;
GeneratedSchema& GeneratedSchema::operator=(GeneratedSchema&&) noexcept = default;

absl::StatusOr<GeneratedSchema> GeneratedSchema::Parse(std::string_view file, std::string_view entry) {
  GeneratedSchema schema;
  simdjson::dom::parser parser;
  size_t row = 0;
  for (absl::string_view line : absl::StrSplit(AV(file), '\n')) {
    ++row;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() && row > 1) continue;  // the final newline
    auto fail = [&](const absl::Status& s) {
      return MakeError(absl::StatusCode::kInvalidArgument, "InvalidConvexValue",
                       absl::StrCat(AV(entry), ": Row ", row, " wasn't a valid Convex value: ", s.message()));
    };
    simdjson::padded_string padded(std::string_view(line.data(), line.size()));
    absl::StatusOr<simdjson::dom::element> json = ParseJson(parser, padded);
    if (!json.ok()) {
      return MakeError(absl::StatusCode::kInvalidArgument, "InvalidJson",
                       absl::StrCat(AV(entry), ": Row ", row, " wasn't valid JSON: ", json.status().message()));
    }
    if (row == 1) {
      std::string_view text;
      if (json->get_string().get(text) != simdjson::SUCCESS) {
        return fail(absl::InvalidArgumentError("first line of generated_schema must be a string"));
      }
      if (text == "uniform") {
        schema.uniform_ = true;
        return schema;
      }
      absl::StatusOr<Shape> shape = ShapeParser(text).ParseAll();
      if (!shape.ok()) {
        return MakeError(absl::StatusCode::kInvalidArgument, "InvalidGeneratedSchema",
                         absl::StrCat("cannot parse ", AV(entry), ": ", shape.status().message()));
      }
      *schema.shape_ = std::move(*shape);
      schema.legacy_ = true;
      continue;
    }
    simdjson::dom::object obj;
    if (json->get_object().get(obj) != simdjson::SUCCESS) {
      return fail(absl::InvalidArgumentError("overrides should be object"));
    }
    if (obj.size() != 1) return fail(absl::InvalidArgumentError("override object should have one item"));
    auto field = *obj.begin();
    absl::StatusOr<DocumentId> id = DocumentId::Decode(field.key);
    if (!id.ok()) return fail(id.status());
    absl::StatusOr<ExportContext> ctx = ParseContext(field.value);
    if (!ctx.ok()) return fail(ctx.status());
    schema.overrides_[std::string(field.key)] = std::make_unique<ExportContext>(std::move(*ctx));
  }
  return schema;
}

absl::StatusOr<Value> GeneratedSchema::Decode(std::string_view json) const {
  if (uniform_) return ParseExportJson(json);
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  CVX_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(parser, padded));
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    std::string text(json.substr(0, 100));
    return BadValue(absl::StrCat("expected object, received ", text, json.size() > 100 ? "..." : ""));
  }
  static const ExportContext kInfer;
  const ExportContext* ctx = &kInfer;
  simdjson::dom::element id;
  std::string_view id_text;
  if (legacy_ && obj.at_key("_id").get(id) == simdjson::SUCCESS &&
      id.get_string().get(id_text) == simdjson::SUCCESS) {
    CVX_RETURN_IF_ERROR(DocumentId::Decode(id_text).status());
    if (auto it = overrides_.find(std::string(id_text)); it != overrides_.end()) ctx = it->second.get();
  }
  CVX_ASSIGN_OR_RETURN(Value v, Apply(root, *ctx, Shapes{shape_.get()}));
  CVX_RETURN_IF_ERROR(ValidateValue(v));
  return v;
}

absl::StatusOr<std::vector<Value>> GeneratedSchema::DecodeArray(std::string_view json) const {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  CVX_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(parser, padded));
  simdjson::dom::array array;
  if (root.get_array().get(array) != simdjson::SUCCESS) {
    return MakeError(absl::StatusCode::kInvalidArgument, "InvalidImport", "Not a JSON array");
  }
  std::vector<Value> docs;
  size_t row = 0;
  for (simdjson::dom::element e : array) {
    ++row;
    absl::StatusOr<Value> doc = Decode(simdjson::minify(e));
    if (!doc.ok()) {
      return MakeError(absl::StatusCode::kInvalidArgument, "InvalidConvexValue",
                       absl::StrCat("Row ", row, " wasn't a valid Convex value: ", doc.status().message()));
    }
    docs.push_back(std::move(*doc));
  }
  return docs;
}

std::string GeneratedSchema::ShapeText() const {
  if (uniform_) return "uniform";
  std::string out;
  PrintShape(*shape_, &out);
  return out;
}

}  // namespace cvx::tools
