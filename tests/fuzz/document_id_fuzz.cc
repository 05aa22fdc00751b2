// Document IDs (engine/value/document_id.h): decoding accepts only canonical text, so a
// decoded ID encodes back to exactly the input; and the bytes as an internal id round-trip.

#include <cstring>
#include <string_view>

#include "engine/value/document_id.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<cvx::DocumentId> id = cvx::DocumentId::Decode(text); id.ok()) {
    FUZZ_CHECK(id->Encode() == text);
    FUZZ_CHECK(id->table_number != 0);
  }
  if (size >= 20) {
    cvx::DocumentId id;
    std::memcpy(&id.table_number, data, 4);
    if (id.table_number == 0) id.table_number = 1;
    std::memcpy(id.internal_id.data(), data + 4, 16);
    absl::StatusOr<cvx::DocumentId> back = cvx::DocumentId::Decode(id.Encode());
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->table_number == id.table_number && back->internal_id == id.internal_id);
  }
  return 0;
}
