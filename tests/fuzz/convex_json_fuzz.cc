// Convex JSON both ways (engine/value/json.h): any input either fails cleanly or parses to
// a value that writes back to text which parses to the same value; the same for the
// snapshot export format.

#include <string_view>

#include "engine/value/json.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<cvx::Value> v = cvx::ParseConvexJson(text); v.ok()) {
    absl::StatusOr<cvx::Value> again = cvx::ParseConvexJson(cvx::ToConvexJson(*v));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(cvx::ToConvexJson(*again) == cvx::ToConvexJson(*v));
    (void)cvx::ToCleanJson(*v);
    absl::StatusOr<cvx::Value> exported = cvx::ParseExportJson(cvx::ToExportJson(*v));
    FUZZ_CHECK(exported.ok());
    FUZZ_CHECK(cvx::ToConvexJson(*exported) == cvx::ToConvexJson(*v));
  }
  if (absl::StatusOr<cvx::Value> v = cvx::ParseExportJson(text); v.ok()) {
    absl::StatusOr<cvx::Value> again = cvx::ParseExportJson(cvx::ToExportJson(*v));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(cvx::ToExportJson(*again) == cvx::ToExportJson(*v));
  }
  return 0;
}
