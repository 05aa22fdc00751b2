#include "engine/value/json.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "simdjson.h"

namespace cvx {
namespace {

absl::Status BadValue(std::string_view path, std::string_view what) {
  return InvalidArgument("InvalidConvexValue",
                         absl::StrCat("Invalid Convex value at ", path.empty() ? "(root)" : AV(path),
                                      ": ", AV(what)));
}

std::string LittleEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t FromLittleEndian64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

absl::StatusOr<Value> Convert(simdjson::dom::element e, const std::string& path,
                              bool int_literals = false);

absl::StatusOr<Value> ConvertSpecial(std::string_view key, simdjson::dom::element e,
                                     const std::string& path) {
  std::string_view text;
  if (e.get_string().get(text) != simdjson::SUCCESS) {
    return BadValue(path, absl::StrCat(AV(key), " must hold a base64 string"));
  }
  std::string raw;
  if (!Base64Decode(text, &raw)) {
    return BadValue(path, absl::StrCat(AV(key), " holds invalid base64"));
  }
  if (key == "$bytes") return Value::Bytes(std::move(raw));
  if (raw.size() != 8) {
    return BadValue(path, absl::StrCat(AV(key), " must be exactly 8 bytes, got ", raw.size()));
  }
  uint64_t bits = FromLittleEndian64(raw);
  if (key == "$integer") return Value::Int64(static_cast<int64_t>(bits));
  double d = std::bit_cast<double>(bits);
  if (std::isnan(d) || std::isinf(d) || (d == 0 && std::signbit(d))) return Value::Float64(d);
  return BadValue(path, absl::StrCat("$float holds ", FormatJsNumber(d),
                                     ", which must be a plain JSON number"));
}

absl::StatusOr<Value> Convert(simdjson::dom::element e, const std::string& path,
                              bool int_literals) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return Value::Null();
    case simdjson::dom::element_type::BOOL: return Value::Boolean(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::INT64:
      if (int_literals) return Value::Int64(e.get_int64().value_unsafe());
      return Value::Float64(static_cast<double>(e.get_int64().value_unsafe()));
    case simdjson::dom::element_type::UINT64:
      if (int_literals) return BadValue(path, "integer out of the int64 range");
      return Value::Float64(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Value::Float64(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return Value::String(std::string(e.get_string().value_unsafe()));
    case simdjson::dom::element_type::ARRAY: {
      Array out;
      size_t i = 0;
      simdjson::dom::array array = e.get_array().value_unsafe();
      for (simdjson::dom::element child : array) {
        CVX_ASSIGN_OR_RETURN(Value v, Convert(child, absl::StrCat(path, "[", i++, "]"), int_literals));
        out.push_back(std::move(v));
      }
      return Value::FromArray(std::move(out));
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj = e.get_object().value_unsafe();
      if (obj.size() == 1) {
        auto field = *obj.begin();
        std::string_view key = field.key;
        if (key == "$bytes" || key == "$integer" || key == "$float") {
          return ConvertSpecial(key, field.value, path);
        }
      }
      Object out;
      for (auto field : obj) {
        std::string key(field.key);
        std::string child_path = path.empty() ? key : absl::StrCat(path, ".", key);
        if (!key.empty() && key[0] == '$') {
          return BadValue(path, absl::StrCat("field name \"", key,
                                             "\" starts with '$', which is reserved"));
        }
        CVX_ASSIGN_OR_RETURN(Value v, Convert(field.value, child_path, int_literals));
        if (!out.emplace(std::move(key), std::move(v)).second) {
          return BadValue(path, absl::StrCat("duplicate field \"", AV(field.key), "\""));
        }
      }
      return Value::FromObject(std::move(out));
    }
  }
  return BadValue(path, "unknown JSON type");
}

void AppendNumber(double d, std::string* out) { out->append(FormatJsNumber(d)); }

// kConvex: convex_encoded_json; kClean: clean JSON; kExport: the snapshot export format.
enum class JsonMode { kConvex, kClean, kExport };

void AppendJson(const Value& v, JsonMode mode, std::string* out) {
  const bool clean = mode == JsonMode::kClean;
  switch (v.type()) {
    case ValueType::kNull: out->append("null"); return;
    case ValueType::kBoolean: out->append(v.boolean() ? "true" : "false"); return;
    case ValueType::kString: AppendJsonString(v.string(), out); return;
    case ValueType::kInt64:
      if (mode == JsonMode::kExport) {
        out->append(std::to_string(v.int64()));
      } else if (clean) {
        out->push_back('"');
        out->append(std::to_string(v.int64()));
        out->push_back('"');
      } else {
        out->append("{\"$integer\":\"");
        out->append(Base64Encode(LittleEndian64(static_cast<uint64_t>(v.int64()))));
        out->append("\"}");
      }
      return;
    case ValueType::kFloat64: {
      double d = v.float64();
      bool special = std::isnan(d) || std::isinf(d) || (d == 0 && std::signbit(d));
      if (mode == JsonMode::kExport && !std::isnan(d) && !std::isinf(d)) {
        // Always '.' or an exponent, so the reader knows it is not an int64.
        std::string text = (d == 0 && std::signbit(d)) ? "-0.0" : FormatJsNumber(d);
        if (text.find_first_of(".e") == std::string::npos) text += ".0";
        out->append(text);
      } else if (!special) {
        AppendNumber(d, out);
      } else if (clean) {
        if (std::isnan(d)) out->append("\"NaN\"");
        else if (std::isinf(d)) out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else out->append("-0");
      } else {
        out->append("{\"$float\":\"");
        out->append(Base64Encode(LittleEndian64(std::bit_cast<uint64_t>(d))));
        out->append("\"}");
      }
      return;
    }
    case ValueType::kBytes:
      if (clean) {
        out->push_back('"');
        out->append(Base64Encode(v.bytes()));
        out->push_back('"');
      } else {
        out->append("{\"$bytes\":\"");
        out->append(Base64Encode(v.bytes()));
        out->append("\"}");
      }
      return;
    case ValueType::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(e, mode, out);
      }
      out->push_back(']');
      return;
    }
    case ValueType::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [name, field] : v.object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(name, out);
        out->push_back(':');
        AppendJson(field, mode, out);
      }
      out->push_back('}');
      return;
    }
  }
}

// simdjson 3.0.1 reads a number without '.' or exponent as an integer: it rejects those
// beyond 64 bits (JavaScript writes 1e20 as "100000000000000000000") and reads "-0" as
// integer 0. Every JSON number is a float64 to Convex, so such tokens get a ".0" appended,
// outside strings, before parsing. nullopt when nothing needed rewriting.
std::optional<std::string> NormalizeIntegerTokens(std::string_view text) {
  std::string out;
  bool changed = false;
  bool in_string = false;
  size_t i = 0;
  out.reserve(text.size() + 8);
  while (i < text.size()) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i;
      bool integral = true;
      size_t digits = 0;
      while (i < text.size()) {
        char d = text[i];
        if (d >= '0' && d <= '9') {
          ++digits;
        } else if (d == '.' || d == 'e' || d == 'E') {
          integral = false;
        } else if (d != '-' && d != '+') {
          break;
        }
        ++i;
      }
      std::string_view token = text.substr(start, i - start);
      out.append(token);
      if (integral && digits > 0 && (digits >= 19 || token == "-0")) {
        out.append(".0");
        changed = true;
      }
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace

absl::StatusOr<Value> ParseConvexJson(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  std::optional<std::string> normalized;
  if (text.find("-0") != std::string_view::npos) normalized = NormalizeIntegerTokens(text);
  simdjson::padded_string padded(normalized ? std::string_view(*normalized) : text);
  simdjson::dom::element root;
  auto error = parser.parse(padded).get(root);
  if ((error == simdjson::NUMBER_ERROR) && !normalized) {
    normalized = NormalizeIntegerTokens(text);
    if (normalized) {
      padded = simdjson::padded_string(std::string_view(*normalized));
      error = parser.parse(padded).get(root);
    }
  }
  if (error != simdjson::SUCCESS) {
    return InvalidArgument("InvalidJson",
                           absl::StrCat("Invalid JSON: ", simdjson::error_message(error)));
  }
  CVX_ASSIGN_OR_RETURN(Value v, Convert(root, ""));
  CVX_RETURN_IF_ERROR(ValidateValue(v));
  return v;
}

absl::StatusOr<Value> ParseExportJson(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto error = parser.parse(padded).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidArgument("InvalidJson",
                           absl::StrCat("Invalid JSON: ", simdjson::error_message(error)));
  }
  CVX_ASSIGN_OR_RETURN(Value v, Convert(root, "", /*int_literals=*/true));
  CVX_RETURN_IF_ERROR(ValidateValue(v));
  return v;
}

std::string ToExportJson(const Value& v) {
  std::string out;
  AppendJson(v, JsonMode::kExport, &out);
  return out;
}

std::string ToConvexJson(const Value& v) {
  std::string out;
  AppendJson(v, JsonMode::kConvex, &out);
  return out;
}

void AppendConvexJson(const Value& v, std::string* out) { AppendJson(v, JsonMode::kConvex, out); }

namespace {
void AppendPretty(const Value& v, int indent, std::string* out) {
  const std::string pad(indent + 2, ' ');
  if (v.is_array() && !v.array().empty()) {
    out->append("[\n");
    bool first = true;
    for (const Value& e : v.array()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(pad);
      AppendPretty(e, indent + 2, out);
    }
    out->append("\n").append(indent, ' ').append("]");
  } else if (v.is_object() && !v.object().empty()) {
    out->append("{\n");
    bool first = true;
    for (const auto& [name, field] : v.object()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(pad);
      AppendJsonString(name, out);
      out->append(": ");
      AppendPretty(field, indent + 2, out);
    }
    out->append("\n").append(indent, ' ').append("}");
  } else {
    std::string compact;
    AppendConvexJson(v, &compact);
    if (compact.size() > 3 && compact[0] == '{') {
      // {"$integer":"..."} and friends are one-field objects to JSON.stringify too.
      size_t colon = compact.find(':');
      out->append("{\n").append(pad).append(compact.substr(1, colon));
      out->append(" ").append(compact.substr(colon + 1, compact.size() - colon - 2));
      out->append("\n").append(indent, ' ').append("}");
    } else {
      out->append(compact);
    }
  }
}
}  // namespace

std::string ToPrettyConvexJson(const Value& v) {
  std::string out;
  AppendPretty(v, 0, &out);
  return out;
}

std::string ToCleanJson(const Value& v) {
  std::string out;
  AppendJson(v, JsonMode::kClean, &out);
  return out;
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string FormatJsNumber(double d) {
  if (d == 0) return "0";
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits in scientific form: "-d.ddde[+-]xx".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  std::string out;
  if (sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // ECMAScript Number::toString's n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n);
    out += '.';
    out += digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(-n, '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += (n - 1 >= 0) ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  return std::string(absl::Base64Escape(AV(bytes)));
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (c == '=') ok = i >= text.size() - 2 && (i == text.size() - 1 || text.back() == '=');
    if (!ok) return false;
  }
  std::string decoded;
  if (!absl::Base64Unescape(AV(text), &decoded)) return false;
  // Reject non-canonical encodings (non-zero pad bits) by re-encoding.
  if (Base64Encode(decoded) != text) return false;
  *out = std::move(decoded);
  return true;
}

}  // namespace cvx
