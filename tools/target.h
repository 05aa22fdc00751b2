// File: tools/target.h
//
// Where a `convexlite` command acts (reference-app.md, "Command line contract"): a running
// server (`--url URL --admin-key KEY`) or a data directory no server holds (`--data DIR`);
// with neither, CONVEXLITE_URL and CONVEXLITE_ADMIN_KEY, else `--data ./.convexlite`.
// Internal to tools/ (cli.cc and data.cc).

#ifndef CVX_TOOLS_TARGET_H_
#define CVX_TOOLS_TARGET_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/database.h"
#include "engine/value/value.h"
#include "functions/app.h"
#include "functions/js/js_runtime.h"
#include "functions/js/push.h"
#include "functions/runner.h"

namespace cvx::tools {

// The value of the flag at argv[*i] ("--name VALUE"), advancing *i past it; nullptr when
// there is none or the next word is itself a flag ("--...").
const char* FlagValue(int argc, char** argv, int* i);

struct Target;

// The flag loop every target-taking command shares: --help (prints `usage`, exit 0), the
// target flags, then `extra` (true when it consumed argv[*i]; it may set *exit_code to
// stop), else a positional word (after "--" every word is one). An unknown "--flag" is an
// error (exit 2). Then the target's fallbacks. Returns an exit code to stop with, or
// nullopt to go on.
std::optional<int> ParseCommand(int argc, char** argv, const char* command, const char* usage,
                                Target* target, std::vector<std::string>* words,
                                const std::function<bool(int* i, int* exit_code)>& extra = nullptr);

struct Target {
  std::string url;        // a running server; empty: the data directory
  std::string admin_key;  // with url
  std::string data = "./.convexlite";
  bool data_given = false;

  // Consumes a target flag at argv[*i] (advancing *i past its value). Returns false when
  // argv[*i] is not one; sets *error for a flag without its value.
  bool TakeFlag(int argc, char** argv, int* i, std::string* error);
  // Applies the environment fallbacks. An error text when the target is incomplete.
  std::optional<std::string> Finish();
  bool remote() const { return !url.empty(); }
};

// A data directory opened for one command: the database with the app's schema applied and
// a runner whose built-in environment matches `convexlite dev`'s defaults.
struct LocalBackend {
  std::unique_ptr<Database> db;
  std::unique_ptr<Runner> runner;
  // The data directory's pushed TypeScript version (if any), on top of `app`, and the
  // runtime that runs it.
  js::TypeScriptSupport typescript;
};
[[nodiscard]] absl::StatusOr<LocalBackend> OpenLocal(const App& app, const std::string& data);
// For commands that only read (data, export, env get/list/remove): kNotFound with a clear
// text when `data` holds no database, rather than creating an empty one at a typo.
[[nodiscard]] absl::Status RequireDataDir(const std::string& data);

// One admin-authenticated HTTP request to a running server (acting as `identity` when
// given). kUnavailable when the server cannot be reached; any HTTP status is a reply.
struct AdminReply {
  int status = 0;
  std::string body;
  // OK for 2xx; else kFailedPrecondition with the {code, message} reply's message.
  [[nodiscard]] absl::Status Check() const;
};
[[nodiscard]] absl::StatusOr<AdminReply> AdminRequest(const Target& target, std::string_view method,
                                                      std::string_view path, std::string body = "",
                                                      std::string_view content_type = "application/json",
                                                      const std::optional<Object>& identity = {});

// Calls a function on a running server through POST /api/function with the admin key
// (acting as `identity` when given): its value, or its error message (and ConvexError data
// as JSON) as kFailedPrecondition; kUnavailable when the server cannot be reached.
[[nodiscard]] absl::StatusOr<Value> CallRemote(const Target& target, std::string_view path,
                                               const Value& args,
                                               const std::optional<Object>& identity = {});

// The built-in environment of `convexlite dev` and the commands (see cli.cc).
std::function<std::optional<std::string>(std::string_view)> BuiltinEnv(
    std::function<std::string()> site_url, std::function<std::string()> cloud_url,
    std::string secret, std::string default_secret, bool fast_hash);
// The data directory's generated Better Auth secret (created on first use).
// With `file`, another generated key kept the same way: kCursorKeyFile authenticates
// pagination cursors, so a client's cursors survive a server restart as with Convex.
inline constexpr char kCursorKeyFile[] = "cursor-key";
std::string DefaultSecret(const std::string& data_dir, bool persist,
                          const char* file = "better-auth-secret");

// `convexlite data`: see data.cc.
int Data(const App& app, int argc, char** argv);

}  // namespace cvx::tools

#endif  // CVX_TOOLS_TARGET_H_
