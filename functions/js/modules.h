// File: functions/js/modules.h
//
// A pushed module as the CLI sends it (convex-push-protocol.md §2): a path relative to
// convex/ ("messages.js", "lib/util.js", "_deps/ABC123.js"), its bundled source and
// source map, and its environment ("isolate" or "node", for "use node" files). Its hash is
// Convex's: hex SHA-256 of the source followed by the source map, so get_config_hashes
// answers exactly what the CLI computes.
//
// ModuleStore keeps sources content-addressed on disk and lays a code version out as a
// directory Node can import from:
//
//   <root>/modules/<hash>.js, <hash>.map      every source ever pushed (write-once)
//   <root>/code/<version id>/package.json     {"type":"module"}
//   <root>/code/<version id>/<module path>    the version's modules at their paths
//
// A version id is the hash of its module list, so pushing the same code twice reuses
// one directory. Thread safety: ModuleStore methods may be called concurrently (files are
// written to a temporary name and renamed).

#ifndef CVX_FUNCTIONS_JS_MODULES_H_
#define CVX_FUNCTIONS_JS_MODULES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cvx::js {

struct Module {
  std::string path;
  std::string source;
  std::optional<std::string> source_map;
  std::string environment = "isolate";  // or "node"

  std::string Hash() const;
};

// A module without its text: what a code version records.
struct ModuleRef {
  std::string path;
  std::string hash;
  std::string environment;
};

// kInvalidArgument "InvalidModulePath" unless `path` is a relative posix path ending in
// .js, without "..", ".", empty segments or characters outside [A-Za-z0-9_./-].
[[nodiscard]] absl::Status CheckModulePath(std::string_view path);

// The id of a code version with these modules (order does not matter).
std::string VersionId(const std::vector<ModuleRef>& modules);

class ModuleStore {
 public:
  // Creates <root>/modules and <root>/code if needed. kUnavailable if it cannot.
  [[nodiscard]] static absl::StatusOr<ModuleStore> Open(std::string root);

  // Stores `module`'s source (no-op when its hash is stored). Returns its ref.
  [[nodiscard]] absl::StatusOr<ModuleRef> Put(const Module& module);
  // The module for a ref. kNotFound "MissingExistingModule" when the source is not stored.
  [[nodiscard]] absl::StatusOr<Module> Get(const ModuleRef& ref) const;
  bool Has(std::string_view hash) const;

  // Lays out the version of `modules` (already Put) and returns its directory. With
  // `external_deps` (an ExternalDepsId), the directory is that version's with those
  // packages: <version id>-<deps id>, whose node_modules links to `external_deps_dir`.
  [[nodiscard]] absl::StatusOr<std::string> Materialize(const std::vector<ModuleRef>& modules,
                                                        const std::string& external_deps = "",
                                                        const std::string& external_deps_dir = "");
  std::string VersionDir(const std::vector<ModuleRef>& modules, const std::string& external_deps = "") const;

  const std::string& root() const { return root_; }

 private:
  explicit ModuleStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_MODULES_H_
