// File: engine/value/sort_key.h
//
// An order-preserving byte encoding of Convex values: for any values a and b,
// memcmp(SortKey(a), SortKey(b)) has the sign of CompareValues(a, b). Index keys are
// concatenations of these encodings, so RocksDB's bytewise iteration walks an index in
// Convex order. The layout follows FoundationDB's tuple layer (design/tuple.md), as Convex's
// own crates/value/src/sorting.rs does.
//
//   key       := tag body
//   undefined := 0x01                       (a missing field; sorts before everything)
//   null      := 0x02
//   int64     := 0x03 u64be(v XOR 1<<63)
//   float64   := 0x04 u64be(bits XOR (sign ? ~0 : 1<<63))      (IEEE total order)
//   false     := 0x05        true := 0x06
//   string    := 0x07 escaped(utf8) 0x00     escaped: each 0x00 byte becomes 0x00 0xFF
//   bytes     := 0x08 escaped(bytes) 0x00
//   array     := 0x09 key* 0x00
//   object    := 0x0A (0x01 escaped(name) 0x00 key)* 0x00      (fields in name order)
//   id        := 0x0B u32be(table_number) internal_id[16]      (the _id tiebreak in indexes)
//
// Every byte that can follow a complete encoding (a tag, 0x00 or 0x01) is below 0xFF, so
// the keys whose next component equals v are exactly [e, e ‖ 0xFF) where e = SortKey(v).
// That is how index ranges are built (RangeEnd below). Escaping keeps "a" < "a\0" < "b".

#ifndef CVX_ENGINE_VALUE_SORT_KEY_H_
#define CVX_ENGINE_VALUE_SORT_KEY_H_

#include <optional>
#include <string>

#include "engine/value/document_id.h"
#include "engine/value/value.h"

namespace cvx {

void AppendSortKey(const Value& v, std::string* out);
// nullopt encodes `undefined` (a missing field).
void AppendSortKey(const std::optional<Value>& v, std::string* out);
void AppendIdSortKey(const DocumentId& id, std::string* out);
std::string SortKey(const Value& v);

// The end of the range of keys that extend `prefix` with further components:
// prefix ‖ 0xFF. Valid when `prefix` ends on a component boundary.
std::string RangeEnd(std::string prefix);

}  // namespace cvx

#endif  // CVX_ENGINE_VALUE_SORT_KEY_H_
