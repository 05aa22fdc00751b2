// File: functions/js/runtime_files.h
//
// The worker's JavaScript (functions/js/runtime/*.mjs), compiled into the binary by
// cmake/EmbedFiles.cmake, and installed on first use as <root>/runtime/<content hash>/
// so that Node can import it. Thread safety: InstallRuntime may race with itself; files
// are written under temporary names and renamed.

#ifndef CVX_FUNCTIONS_JS_RUNTIME_FILES_H_
#define CVX_FUNCTIONS_JS_RUNTIME_FILES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cvx::js {

struct RuntimeFile {
  const char* name;  // relative to functions/js/runtime, e.g. "analyze.mjs"
  std::string_view text;
};

const std::vector<RuntimeFile>& RuntimeFiles();

// Writes the runtime files under `root`/runtime/<hash>/ unless already there; returns
// that directory. kUnavailable when it cannot be written.
[[nodiscard]] absl::StatusOr<std::string> InstallRuntime(const std::string& root);

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_RUNTIME_FILES_H_
