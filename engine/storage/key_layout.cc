#include "engine/storage/key_layout.h"

namespace cvx::key_layout {

void AppendU32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendU64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t ReadU32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

uint64_t ReadU64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

std::string TablePrefix() { return std::string("\0t", 2); }

std::string TableKey(std::string_view table_name) {
  std::string key = TablePrefix();
  key.append(table_name);
  return key;
}

std::string IndexesKey(uint32_t table_number) {
  std::string key("\0i", 2);
  AppendU32(table_number, &key);
  return key;
}

std::string DocumentPrefix(uint32_t table_number) {
  std::string key(1, '\x01');
  AppendU32(table_number, &key);
  return key;
}

std::string DocumentKey(const DocumentId& id) {
  std::string key = DocumentPrefix(id.table_number);
  key.append(reinterpret_cast<const char*>(id.internal_id.data()), id.internal_id.size());
  return key;
}

bool ParseDocumentKey(std::string_view key, DocumentId* id) {
  if (key.size() != 21 || key[0] != '\x01') return false;
  id->table_number = ReadU32(key.substr(1));
  for (int i = 0; i < 16; ++i) id->internal_id[i] = static_cast<uint8_t>(key[5 + i]);
  return true;
}

std::string IndexPrefix(uint32_t index_id) {
  std::string key(1, '\x02');
  AppendU32(index_id, &key);
  return key;
}

bool ParseIndexEntryId(std::string_view key, DocumentId* id) {
  // ... 0x0B u32be(table) internal_id[16]
  if (key.size() < 1 + 4 + 21 || key[0] != '\x02') return false;
  std::string_view tail = key.substr(key.size() - 21);
  if (tail[0] != 0x0B) return false;
  id->table_number = ReadU32(tail.substr(1));
  for (int i = 0; i < 16; ++i) id->internal_id[i] = static_cast<uint8_t>(tail[5 + i]);
  return true;
}

std::string Successor(std::string key) {
  key.push_back('\0');
  return key;
}

}  // namespace cvx::key_layout
