#include "functions/js/runtime_files.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "functions/auth/crypto.h"

namespace cvx::js {

absl::StatusOr<std::string> InstallRuntime(const std::string& root) {
  std::string all;
  for (const RuntimeFile& f : RuntimeFiles()) absl::StrAppend(&all, f.name, "\n", f.text.size(), "\n", AV(f.text));
  std::string dir = absl::StrCat(root, "/runtime/", absl::BytesToHexString(auth::Sha256(all)).substr(0, 16));
  struct stat st;
  if (::stat((dir + "/.complete").c_str(), &st) == 0) return dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  for (const RuntimeFile& f : RuntimeFiles()) {
    std::string path = absl::StrCat(dir, "/", f.name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::string tmp = path + ".tmp";
    if (absl::Status s = WriteFile(tmp, f.text); !s.ok()) return s;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  }
  if (absl::Status s = WriteFile(dir + "/package.json", "{\"type\":\"module\"}\n"); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir + "/.complete", ""); !s.ok()) return s;
  return dir;
}

}  // namespace cvx::js
