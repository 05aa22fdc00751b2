#include "functions/js/modules.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "functions/auth/crypto.h"

namespace cvx::js {
namespace {

std::string Hex(std::string_view bytes) { return absl::BytesToHexString(AV(bytes)); }
bool IsHexHash(std::string_view hash) {
  return hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Writes `bytes` to `path` through a unique temporary name, so readers never see half a file.
absl::Status WriteAtomically(const std::string& path, std::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  if (absl::Status s = WriteFile(tmp, bytes); !s.ok()) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Module::Hash() const {
  std::string data = source;
  if (source_map) data += *source_map;
  return Hex(auth::Sha256(data));
}

absl::Status CheckModulePath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("InvalidModulePath",
                           absl::StrCat("Invalid module path \"", AV(path), "\": ", AV(why)));
  };
  if (path.empty() || path.size() > 1024) return bad("empty or too long");
  if (!absl::EndsWith(AV(path), ".js")) return bad("modules must end in .js");
  for (char c : path) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-' && c != '@' &&
        c != '+') {
      return bad("unexpected character");
    }
  }
  for (absl::string_view segment : absl::StrSplit(AV(path), '/')) {
    if (segment.empty() || segment == "." || segment == "..") return bad("bad path segment");
  }
  return absl::OkStatus();
}

std::string VersionId(const std::vector<ModuleRef>& modules) {
  std::vector<std::string> lines;
  for (const ModuleRef& m : modules) lines.push_back(absl::StrCat(m.path, "\t", m.hash, "\t", m.environment));
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const std::string& l : lines) absl::StrAppend(&all, l, "\n");
  return Hex(auth::Sha256(all)).substr(0, 32);
}

absl::StatusOr<ModuleStore> ModuleStore::Open(std::string root) {
  std::error_code ec;
  std::filesystem::create_directories(root + "/modules", ec);
  if (!ec) std::filesystem::create_directories(root + "/code", ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create the module store in ", root, ": ",
                                               ec.message()));
  }
  return ModuleStore(std::move(root));
}

bool ModuleStore::Has(std::string_view hash) const {
  if (!IsHexHash(hash)) return false;
  struct stat st;
  return ::stat(absl::StrCat(root_, "/modules/", AV(hash), ".js").c_str(), &st) == 0;
}

absl::StatusOr<ModuleRef> ModuleStore::Put(const Module& module) {
  if (absl::Status s = CheckModulePath(module.path); !s.ok()) return s;
  ModuleRef ref{module.path, module.Hash(), module.environment};
  if (Has(ref.hash)) return ref;
  std::string base = absl::StrCat(root_, "/modules/", ref.hash);
  // The map first: a present .js means the module is complete.
  if (absl::Status s = WriteAtomically(base + ".map", module.source_map.value_or("")); !s.ok()) return s;
  if (absl::Status s = WriteAtomically(base + ".js", module.source); !s.ok()) return s;
  return ref;
}

absl::StatusOr<Module> ModuleStore::Get(const ModuleRef& ref) const {
  if (!Has(ref.hash)) {
    return MakeError(absl::StatusCode::kNotFound, "MissingExistingModule",
                     absl::StrCat("Module ", ref.path, " with hash ", ref.hash,
                                  " is not stored on this deployment; push all modules again "
                                  "(npx convex deploy)"));
  }
  std::string base = absl::StrCat(root_, "/modules/", ref.hash);
  Module module;
  module.path = ref.path;
  module.environment = ref.environment;
  absl::StatusOr<std::string> source = ReadFile(base + ".js");
  if (!source.ok()) return source.status();
  module.source = *std::move(source);
  absl::StatusOr<std::string> map = ReadFile(base + ".map");
  if (map.ok() && !map->empty()) module.source_map = *std::move(map);
  return module;
}

std::string ModuleStore::VersionDir(const std::vector<ModuleRef>& modules, const std::string& external_deps) const {
  return absl::StrCat(root_, "/code/", VersionId(modules), external_deps.empty() ? "" : "-", external_deps);
}

absl::StatusOr<std::string> ModuleStore::Materialize(const std::vector<ModuleRef>& modules,
                                                     const std::string& external_deps,
                                                     const std::string& external_deps_dir) {
  std::string dir = VersionDir(modules, external_deps);
  std::string done = dir + "/.complete";
  struct stat st;
  if (::stat(done.c_str(), &st) == 0) return dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  if (absl::Status s = WriteAtomically(dir + "/package.json", "{\"type\":\"module\"}\n"); !s.ok()) return s;
  for (const ModuleRef& ref : modules) {
    if (absl::Status s = CheckModulePath(ref.path); !s.ok()) return s;
    absl::StatusOr<Module> module = Get(ref);
    if (!module.ok()) return module.status();
    std::string path = absl::StrCat(dir, "/", ref.path);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", ec.message()));
    if (absl::Status s = WriteAtomically(path, module->source); !s.ok()) return s;
    if (module->source_map) {
      if (absl::Status s = WriteAtomically(path + ".map", *module->source_map); !s.ok()) return s;
    }
  }
  if (!external_deps_dir.empty()) {
    std::filesystem::create_directory_symlink(external_deps_dir + "/node_modules", dir + "/node_modules", ec);
    if (ec && ec != std::errc::file_exists) {
      return absl::UnavailableError(absl::StrCat("cannot link the external packages into ", dir, ": ", ec.message()));
    }
  }
  if (absl::Status s = WriteAtomically(done, ""); !s.ok()) return s;
  return dir;
}

}  // namespace cvx::js
