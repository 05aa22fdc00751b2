// File: engine/value/document_id.h
//
// Document IDs in Convex's v6 format, byte for byte (crates/value/src/id_v6.rs):
//
//   id      := base32( varint(table_number) internal_id footer )
//   varint  := LEB128, 1..5 bytes (table numbers are u32, never 0)
//   internal_id := 14 random bytes ‖ u16 big-endian day number (unix_secs / 86400)
//   footer  := u16 little-endian fletcher16(varint ‖ internal_id) XOR version(0)
//   base32  := RFC 4648 bit order, alphabet 0123456789abcdefghjkmnpqrstvwxyz, no padding
//
// A table number below 128 gives 31 characters, below 16384 gives 32; valid text lengths are
// 31 to 37. Decoding accepts only the exact canonical text: lowercase, zero pad bits, a
// correct footer and a non-zero table number.
//
// User tables are numbered from 10001 (kFirstUserTableNumber), system tables from 513.

#ifndef CVX_ENGINE_VALUE_DOCUMENT_ID_H_
#define CVX_ENGINE_VALUE_DOCUMENT_ID_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cvx {

inline constexpr uint32_t kFirstSystemTableNumber = 513;
inline constexpr uint32_t kFirstUserTableNumber = 10001;

using InternalId = std::array<uint8_t, 16>;

struct DocumentId {
  uint32_t table_number = 0;
  InternalId internal_id{};

  // The canonical v6 text form.
  std::string Encode() const;

  // Parses the v6 text form. kInvalidArgument, tag "InvalidId", on any deviation.
  [[nodiscard]] static absl::StatusOr<DocumentId> Decode(std::string_view text);

  friend bool operator==(const DocumentId&, const DocumentId&) = default;
  friend auto operator<=>(const DocumentId&, const DocumentId&) = default;
};

// A fresh internal id: 14 bytes from `random` and the day number of `unix_secs`.
InternalId MakeInternalId(const std::array<uint8_t, 14>& random, int64_t unix_secs);

// Convex's base32 (exposed for tests and cursors).
std::string Base32Encode(std::string_view bytes);
[[nodiscard]] bool Base32Decode(std::string_view text, std::string* out);

uint16_t Fletcher16(std::string_view bytes);

}  // namespace cvx

#endif  // CVX_ENGINE_VALUE_DOCUMENT_ID_H_
