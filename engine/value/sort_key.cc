#include "engine/value/sort_key.h"

#include <bit>

namespace cvx {
namespace {

enum Tag : char {
  kEnd = 0x00,
  kUndefined = 0x01,
  kNull = 0x02,
  kInt64 = 0x03,
  kFloat64 = 0x04,
  kFalse = 0x05,
  kTrue = 0x06,
  kString = 0x07,
  kBytes = 0x08,
  kArray = 0x09,
  kObject = 0x0A,
  kId = 0x0B,
};
constexpr char kFieldMarker = 0x01;

void AppendU64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back(static_cast<char>(0xff));
  }
  out->push_back(kEnd);
}

}  // namespace

void AppendSortKey(const Value& v, std::string* out) {
  switch (v.type()) {
    case ValueType::kNull: out->push_back(kNull); return;
    case ValueType::kInt64:
      out->push_back(kInt64);
      AppendU64(static_cast<uint64_t>(v.int64()) ^ (uint64_t{1} << 63), out);
      return;
    case ValueType::kFloat64: {
      out->push_back(kFloat64);
      uint64_t bits = std::bit_cast<uint64_t>(v.float64());
      AppendU64((bits >> 63) ? ~bits : bits ^ (uint64_t{1} << 63), out);
      return;
    }
    case ValueType::kBoolean: out->push_back(v.boolean() ? kTrue : kFalse); return;
    case ValueType::kString:
      out->push_back(kString);
      AppendEscaped(v.string(), out);
      return;
    case ValueType::kBytes:
      out->push_back(kBytes);
      AppendEscaped(v.bytes(), out);
      return;
    case ValueType::kArray:
      out->push_back(kArray);
      for (const Value& e : v.array()) AppendSortKey(e, out);
      out->push_back(kEnd);
      return;
    case ValueType::kObject:
      out->push_back(kObject);
      for (const auto& [name, field] : v.object()) {
        out->push_back(kFieldMarker);
        AppendEscaped(name, out);
        AppendSortKey(field, out);
      }
      out->push_back(kEnd);
      return;
  }
}

void AppendSortKey(const std::optional<Value>& v, std::string* out) {
  if (v.has_value()) {
    AppendSortKey(*v, out);
  } else {
    out->push_back(kUndefined);
  }
}

void AppendIdSortKey(const DocumentId& id, std::string* out) {
  out->push_back(kId);
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((id.table_number >> (8 * i)) & 0xff));
  out->append(reinterpret_cast<const char*>(id.internal_id.data()), id.internal_id.size());
}

std::string SortKey(const Value& v) {
  std::string out;
  AppendSortKey(v, &out);
  return out;
}

std::string RangeEnd(std::string prefix) {
  prefix.push_back(static_cast<char>(0xff));
  return prefix;
}

}  // namespace cvx
