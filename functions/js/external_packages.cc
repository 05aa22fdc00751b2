#include "functions/js/external_packages.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "functions/auth/crypto.h"

extern char** environ;

namespace cvx::js {
namespace json = boost::json;
namespace {

absl::Status InstallFailed(std::string_view why) {
  return InvalidArgument("InvalidExternalModules",
                         absl::StrCat("Loading the pushed modules encountered the following error:\n"
                                      "Installing the external packages (convex.json node.externalPackages) failed: ",
                                      AV(why)));
}

bool IsValidPackageName(const std::string& name) {
  if (name.empty() || name.size() > 214 || name[0] == '.' || name[0] == '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '@' || c == '/' || c == '~';
  });
}

// A registry version or range ("7.0.0", "^1.2", ">=1 <2"), never a path, URL or git spec:
// those would let a push make npm read from anywhere.
bool IsRegistryVersion(const std::string& version) {
  if (version.empty() || version.size() > 128 || version.find(':') != std::string::npos ||
      version.find('/') != std::string::npos) {
    return false;
  }
  return std::all_of(version.begin(), version.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr(".-+~^<>=|* ", c) != nullptr;
  });
}

}  // namespace

std::string ExternalDepsId(const PackageList& packages) {
  if (packages.empty()) return "";
  PackageList sorted = packages;
  std::sort(sorted.begin(), sorted.end());
  std::string all;
  for (const auto& [name, version] : sorted) absl::StrAppend(&all, name, "@", version, "\n");
  return absl::BytesToHexString(auth::Sha256(all)).substr(0, 32);
}

std::string ExternalDepsDir(const std::string& root, const std::string& id) {
  return absl::StrCat(root, "/deps/", id);
}

absl::StatusOr<std::string> InstallExternalPackages(const NodeRuntime& node, const std::string& root,
                                                    const PackageList& packages, absl::Duration timeout) {
  json::object deps;
  for (const auto& [name, version] : packages) {
    if (!IsValidPackageName(name)) return InstallFailed(absl::StrCat("\"", name, "\" is not a package name"));
    if (!IsRegistryVersion(version)) {
      return InstallFailed(absl::StrCat("\"", version, "\" (for ", name, ") is not a registry version"));
    }
    deps[name] = version;
  }
  std::string dir = ExternalDepsDir(root, ExternalDepsId(packages));
  struct stat st;
  if (::stat((dir + "/.complete").c_str(), &st) == 0) return dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  CVX_RETURN_IF_ERROR(WriteFile(dir + "/package.json",
                                json::serialize(json::object{{"name", "convexlite-external-packages"},
                                                             {"private", true},
                                                             {"dependencies", deps}})));
  std::string npm = (std::filesystem::path(node.path()).parent_path() / "npm").string();
  if (::access(npm.c_str(), X_OK) != 0) return InstallFailed("npm was not found next to " + node.path());
  // npm is the operator's tool, not pushed code: it gets the server's environment (proxy,
  // CA certificates, npm config), with the node we use first on its PATH (`#!/usr/bin/env node`).
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string_view::npos) env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  env["PATH"] = absl::StrCat(std::filesystem::path(node.path()).parent_path().string(), ":",
                             env.count("PATH") ? env["PATH"] : "/usr/bin:/bin");
  if (!env.count("HOME")) env["HOME"] = dir;
  env["NO_UPDATE_NOTIFIER"] = "1";
  absl::StatusOr<NodeOutput> out = node.RunCommand(
      {npm, "install", "--prefix", dir, "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error"},
      env, timeout);
  if (!out.ok()) return InstallFailed(std::string(out.status().message()));
  if (out->timed_out) return InstallFailed(absl::StrCat("npm install took longer than ", absl::FormatDuration(timeout)));
  if (out->exit_code != 0) {
    std::string tail = out->stderr_text.size() > 2000 ? out->stderr_text.substr(out->stderr_text.size() - 2000) : out->stderr_text;
    return InstallFailed(absl::StrCat("npm install exited with status ", out->exit_code, ":\n", tail));
  }
  CVX_RETURN_IF_ERROR(WriteFile(dir + "/.complete", ""));
  return dir;
}

}  // namespace cvx::js
