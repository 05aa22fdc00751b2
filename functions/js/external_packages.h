// File: functions/js/external_packages.h
//
// The packages `convex.json` `node.externalPackages` keeps out of the bundles: the CLI
// pushes them as nodeDependencies [{name, version}], and they are installed with npm into
// a content-addressed directory, <root>/deps/<id>/node_modules, that every code version
// using the same set links to (<version dir>/node_modules). Installs run npm's own
// resolution with --ignore-scripts (no install scripts of untrusted packages run) and
// --omit=dev, without Node's permission model (npm writes); the workers then read the
// directory under theirs.
//
// Thread safety: Install may run concurrently (a half-done install is never used: the
// directory is complete only when its marker exists).

#ifndef CVX_FUNCTIONS_JS_EXTERNAL_PACKAGES_H_
#define CVX_FUNCTIONS_JS_EXTERNAL_PACKAGES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "functions/js/node.h"

namespace cvx::js {

using PackageList = std::vector<std::pair<std::string, std::string>>;  // name, version

// The id of a package set (order does not matter); "" for none.
std::string ExternalDepsId(const PackageList& packages);
// <root>/deps/<id>.
std::string ExternalDepsDir(const std::string& root, const std::string& id);

// Installs `packages` (unless already installed) and returns their directory. Errors:
// kInvalidArgument "InvalidExternalModules" with npm's output when npm is missing or the
// install fails (an unknown package, no registry), as Convex's code for it.
[[nodiscard]] absl::StatusOr<std::string> InstallExternalPackages(const NodeRuntime& node, const std::string& root,
                                                                  const PackageList& packages,
                                                                  absl::Duration timeout = absl::Minutes(5));

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_EXTERNAL_PACKAGES_H_
