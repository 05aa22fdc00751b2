#include "functions/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"

namespace cvx {
namespace {
constexpr char kDataUrl[] = "convexlite/convex-error-data";
}  // namespace

absl::Status ConvexError(const Value& data) {
  std::string text = data.is_string() ? data.string() : ToConvexJson(data);
  absl::Status status = MakeError(absl::StatusCode::kFailedPrecondition, "ConvexError", text);
  status.SetPayload(kDataUrl, absl::Cord(ToConvexJson(data)));
  return status;
}

absl::Status UncaughtJsError(std::string_view message, std::optional<Value> data) {
  absl::Status status = MakeError(absl::StatusCode::kFailedPrecondition, "UncaughtJsError", message);
  if (data) status.SetPayload(kDataUrl, absl::Cord(ToConvexJson(*data)));
  return status;
}

bool IsUncaughtJsError(const absl::Status& status) { return ErrorTag(status) == "UncaughtJsError"; }

std::optional<Value> ConvexErrorData(const absl::Status& status) {
  auto payload = status.GetPayload(kDataUrl);
  if (!payload.has_value()) return std::nullopt;
  absl::StatusOr<Value> data = ParseConvexJson(std::string(*payload));
  if (!data.ok()) return std::nullopt;
  return *data;
}

}  // namespace cvx
