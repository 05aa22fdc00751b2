#include "engine/base/error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"

namespace cvx {
namespace {
constexpr char kTagUrl[] = "convexlite/tag";
}  // namespace

absl::Status MakeError(absl::StatusCode code, std::string_view tag,
                       std::string_view message) {
  absl::Status status(code, AV(message));
  if (!tag.empty()) status.SetPayload(kTagUrl, absl::Cord(AV(tag)));
  return status;
}

absl::Status InvalidArgument(std::string_view tag, std::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, tag, message);
}
absl::Status Aborted(std::string_view tag, std::string_view message) {
  return MakeError(absl::StatusCode::kAborted, tag, message);
}
absl::Status Internal(std::string_view tag, std::string_view message) {
  return MakeError(absl::StatusCode::kInternal, tag, message);
}

std::string ErrorTag(const absl::Status& status) {
  auto payload = status.GetPayload(kTagUrl);
  return payload.has_value() ? std::string(*payload) : std::string();
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(AV(context), ": ", status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace cvx
