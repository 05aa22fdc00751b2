// Snapshot import's decoding (tools/generated_schema.h): the input's first line is taken as
// a generated_schema.jsonl file, the rest as documents.jsonl lines. Nothing may crash, and a
// decoded document is a valid Convex object.

#include <string_view>

#include "engine/value/json.h"
#include "tests/fuzz/fuzz.h"
#include "tools/generated_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t split = text.find('\n');
  std::string_view schema_text = split == std::string_view::npos ? text : text.substr(0, split);
  std::string_view docs = split == std::string_view::npos ? std::string_view() : text.substr(split + 1);
  absl::StatusOr<cvx::tools::GeneratedSchema> schema =
      cvx::tools::GeneratedSchema::Parse(schema_text, "t/generated_schema.jsonl");
  cvx::tools::GeneratedSchema none;
  const cvx::tools::GeneratedSchema& use = schema.ok() ? *schema : none;
  if (schema.ok() && !schema->uniform()) (void)schema->ShapeText();
  size_t start = 0;
  while (start <= docs.size()) {
    size_t end = docs.find('\n', start);
    std::string_view line = docs.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (absl::StatusOr<cvx::Value> doc = use.Decode(line); doc.ok()) {
      FUZZ_CHECK(cvx::ValidateValue(*doc).ok());
      FUZZ_CHECK(cvx::ParseConvexJson(cvx::ToConvexJson(*doc)).ok());
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  (void)use.DecodeArray(docs);
  return 0;
}
