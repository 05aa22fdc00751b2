#include "functions/function_path.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/value.h"

namespace cvx {
namespace {

absl::Status BadPath(std::string_view path, std::string_view why) {
  return InvalidArgument("BadConvexFunctionIdentifier",
                         absl::StrCat("Invalid function path \"", AV(path), "\": ", AV(why)));
}

bool IsModuleSegment(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return s != "." && s != "..";
}

}  // namespace

absl::StatusOr<std::string> CanonicalizeFunctionPath(std::string_view path) {
  std::string_view module = path;
  std::string_view function = "default";
  if (size_t colon = path.rfind(':'); colon != std::string_view::npos) {
    module = path.substr(0, colon);
    function = path.substr(colon + 1);
  }
  if (absl::EndsWith(AV(module), ".js")) module.remove_suffix(3);
  if (module.empty()) return BadPath(path, "the module path is empty");
  for (absl::string_view segment : absl::StrSplit(AV(module), '/')) {
    if (!IsModuleSegment(SV(segment))) return BadPath(path, "bad module path");
  }
  if (!IsValidIdentifier(function)) return BadPath(path, "the function name is not an identifier");
  return absl::StrCat(AV(module), ":", AV(function));
}

std::string FunctionPathWithJs(std::string_view canonical) {
  size_t colon = canonical.rfind(':');
  return absl::StrCat(AV(canonical.substr(0, colon)), ".js", AV(canonical.substr(colon)));
}

std::string FunctionPathForDisplay(std::string_view canonical) {
  if (absl::EndsWith(AV(canonical), ":default")) {
    return std::string(canonical.substr(0, canonical.size() - 8));
  }
  return std::string(canonical);
}

}  // namespace cvx
