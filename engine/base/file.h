// File: engine/base/file.h
//
// Whole-file reads and writes for the tools and endpoints that move snapshot files.
// Errors: kNotFound when a file cannot be read, kUnavailable when one cannot be written.

#ifndef CVX_ENGINE_BASE_FILE_H_
#define CVX_ENGINE_BASE_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cvx {

[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path);
// Replaces `path` with `bytes`.
[[nodiscard]] absl::Status WriteFile(const std::string& path, std::string_view bytes);

}  // namespace cvx

#endif  // CVX_ENGINE_BASE_FILE_H_
