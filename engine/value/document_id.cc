#include "engine/value/document_id.h"

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"

namespace cvx {
namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr uint8_t kVersion = 0;

int DecodeChar(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

absl::Status BadId(std::string_view text, std::string_view why) {
  return InvalidArgument("InvalidId",
                         absl::StrCat("Invalid ID \"", AV(text), "\": ", AV(why)));
}

}  // namespace

uint16_t Fletcher16(std::string_view bytes) {
  uint16_t c0 = 0, c1 = 0;
  for (unsigned char b : bytes) {
    c0 = static_cast<uint16_t>((c0 + b) % 256);
    c1 = static_cast<uint16_t>((c1 + c0) % 256);
  }
  return static_cast<uint16_t>((c1 << 8) | c0);
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

bool Base32Decode(std::string_view text, std::string* out) {
  std::string bytes;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = DecodeChar(c);
    if (v < 0) return false;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bytes.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // Leftover bits must be padding zeros, and fewer than a full 5-bit group.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) return false;
  *out = std::move(bytes);
  return true;
}

std::string DocumentId::Encode() const {
  std::string bytes;
  uint32_t n = table_number;
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    bytes.push_back(static_cast<char>(n ? (b | 0x80) : b));
  } while (n);
  bytes.append(reinterpret_cast<const char*>(internal_id.data()), internal_id.size());
  uint16_t footer = Fletcher16(bytes) ^ kVersion;
  bytes.push_back(static_cast<char>(footer & 0xff));
  bytes.push_back(static_cast<char>(footer >> 8));
  return Base32Encode(bytes);
}

absl::StatusOr<DocumentId> DocumentId::Decode(std::string_view text) {
  if (text.size() < 31 || text.size() > 37) return BadId(text, "wrong length");
  std::string bytes;
  if (!Base32Decode(text, &bytes)) return BadId(text, "not base32");
  if (Base32Encode(bytes) != text) return BadId(text, "not canonical");
  // varint
  uint64_t table = 0;
  size_t pos = 0;
  for (int shift = 0;; shift += 7) {
    if (pos >= bytes.size() || shift > 28) return BadId(text, "bad table number");
    uint8_t b = static_cast<uint8_t>(bytes[pos++]);
    table |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (table == 0 || table > UINT32_MAX) return BadId(text, "bad table number");
  if (bytes.size() - pos != 18) return BadId(text, "wrong length");
  uint16_t footer = static_cast<uint16_t>(static_cast<uint8_t>(bytes[pos + 16]) |
                                          (static_cast<uint8_t>(bytes[pos + 17]) << 8));
  if ((Fletcher16(std::string_view(bytes).substr(0, pos + 16)) ^ kVersion) != footer) {
    return BadId(text, "bad checksum");
  }
  DocumentId id;
  id.table_number = static_cast<uint32_t>(table);
  for (int i = 0; i < 16; ++i) id.internal_id[i] = static_cast<uint8_t>(bytes[pos + i]);
  return id;
}

InternalId MakeInternalId(const std::array<uint8_t, 14>& random, int64_t unix_secs) {
  InternalId id{};
  for (int i = 0; i < 14; ++i) id[i] = random[i];
  uint16_t day = static_cast<uint16_t>(unix_secs / 86400);
  id[14] = static_cast<uint8_t>(day >> 8);
  id[15] = static_cast<uint8_t>(day & 0xff);
  return id;
}

}  // namespace cvx
