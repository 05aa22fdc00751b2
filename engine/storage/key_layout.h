// File: engine/storage/key_layout.h
//
// The RocksDB key space of one convexlite database. Every key that a transaction reads or
// writes lives here, so the committer's conflict check works on these bytes alone.
//
//   key        := meta | table | indexes | document | index_entry
//   meta       := 0x00 'm' name                 -> value     ("ts": u64be last commit ts,
//                                                              "next_index": u32be)
//   table      := 0x00 't' table_name           -> u32be table number
//   indexes    := 0x00 'i' u32be(table_number)  -> index list, convex JSON:
//                                                  [{"name":s,"fields":[s...],"id":f64}...]
//   document   := 0x01 u32be(table_number) internal_id[16]
//                                               -> convex JSON of the document's fields and
//                                                  _creationTime (_id is the key itself)
//   index_entry:= 0x02 u32be(index_id) sortkey(field)* sortkey(_creationTime) id_sortkey
//                                               -> empty
//
// sortkey and id_sortkey are engine/value/sort_key.h's. Every table has the index
// by_creation_time (no fields); by_id is the document key range itself. Big-endian table
// and index numbers keep each table's documents and each index's entries contiguous.

#ifndef CVX_ENGINE_STORAGE_KEY_LAYOUT_H_
#define CVX_ENGINE_STORAGE_KEY_LAYOUT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/value/document_id.h"

namespace cvx::key_layout {

inline constexpr char kMetaTsKey[] = {0x00, 'm', 't', 's'};
inline constexpr char kMetaNextIndexKey[] = {0x00, 'm', 'n', 'e', 'x', 't', '_', 'i',
                                            'n', 'd', 'e', 'x'};
inline std::string_view MetaTsKey() { return {kMetaTsKey, sizeof(kMetaTsKey)}; }
inline std::string_view MetaNextIndexKey() {
  return {kMetaNextIndexKey, sizeof(kMetaNextIndexKey)};
}

std::string TableKey(std::string_view table_name);
std::string TablePrefix();  // all table keys: [TablePrefix(), RangeEnd(TablePrefix()))
std::string IndexesKey(uint32_t table_number);

std::string DocumentKey(const DocumentId& id);
std::string DocumentPrefix(uint32_t table_number);
// Parses a document key; false when `key` is not one.
bool ParseDocumentKey(std::string_view key, DocumentId* id);

std::string IndexPrefix(uint32_t index_id);
// The document id at the end of an index entry key; false when malformed.
bool ParseIndexEntryId(std::string_view key, DocumentId* id);

void AppendU32(uint32_t v, std::string* out);
void AppendU64(uint64_t v, std::string* out);
uint32_t ReadU32(std::string_view bytes);
uint64_t ReadU64(std::string_view bytes);

// The smallest key greater than every key that starts with `key` followed by nothing:
// key ‖ 0x00. Used for point intervals [key, Successor(key)).
std::string Successor(std::string key);

}  // namespace cvx::key_layout

#endif  // CVX_ENGINE_STORAGE_KEY_LAYOUT_H_
