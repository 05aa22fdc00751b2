// File: functions/js/push.h
//
// The deploy2 push flow of `npx convex dev|deploy|codegen` (convex-push-protocol.md §1),
// as functions from a request body to a response body, so http/push_api.cc only does
// transport. See docs/design/typescript-apps.md.
//
//   ConfigHashes    the active version's {path, hash, environment} per module
//   StartPush       materialize + analyze + compile; answers Convex's StartPushResponse;
//                   commits nothing (so `npx convex codegen` never changes what is served)
//   EvaluatePush    StartPush's schemaChange only; EvaluateSchema its per-table summary
//   WaitForSchema   checks existing documents against the pushed schema (nothing written)
//   FinishPush      one transaction: schema (indexes, validation) + the _code_version row;
//                   then the Runner's app is swapped. All of it or none of it.
//
// Errors are Statuses tagged with Convex's codes (InvalidModules, InvalidSchema,
// AuthConfigMissingEnvironmentVariable, ComponentsNotSupported, MissingExistingModule,
// PathConflict, RaceDetected, PushNotFound, NodeNotFound, ...); every one of them is a
// user error the HTTP layer answers with 400, and none changes what is served.
//
// Thread safety: all methods may be called concurrently; finishing pushes are serialized.

#ifndef CVX_FUNCTIONS_JS_PUSH_H_
#define CVX_FUNCTIONS_JS_PUSH_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include <mutex>
#include "absl/time/time.h"
#include "functions/js/modules.h"
#include "functions/js/node.h"
#include "functions/js/version.h"
#include "functions/runner.h"

namespace cvx::js {

// The system table that holds the active code version (one row).
inline constexpr char kCodeVersionTable[] = "_code_version";

struct PushOptions {
  // Where sources, version directories and the runtime's JavaScript live.
  std::string store_root;
  // Node, or the reason there is none (pushes then fail with it).
  std::optional<NodeRuntime> node;
  absl::Status node_error = absl::OkStatus();
  // Every variable a module sees in process.env: the deployment's plus built-in ones
  // (CONVEX_CLOUD_URL, CONVEX_SITE_URL).
  std::function<std::map<std::string, std::string>()> environment;
  // Called after a version became active (re-runs subscriptions).
  std::function<void()> on_switch;
  absl::Duration analyze_timeout = absl::Seconds(30);
  std::string server_version = "1.48.0";
};

class PushService {
 public:
  // `runner` and `base` must outlive the service. `invoker` runs the TypeScript functions.
  PushService(Runner* runner, const App* base, std::shared_ptr<JsInvoker> invoker,
              PushOptions options);

  // Opens the module store, installs the runtime files, and activates the persisted
  // version, if any (compiled from its stored analysis; Node is not run).
  [[nodiscard]] absl::Status Init();

  [[nodiscard]] absl::StatusOr<std::string> ConfigHashes();
  [[nodiscard]] absl::StatusOr<std::string> StartPush(std::string_view body);
  [[nodiscard]] absl::StatusOr<std::string> EvaluatePush(std::string_view body);
  [[nodiscard]] absl::StatusOr<std::string> EvaluateSchema(std::string_view body);
  [[nodiscard]] absl::StatusOr<std::string> WaitForSchema(std::string_view body);
  [[nodiscard]] absl::StatusOr<std::string> FinishPush(std::string_view body);

  // The deployment's environment variables changed: modules read process.env at import and
  // auth.config.ts is evaluated with it, so the active version is analyzed again and, when
  // that succeeds, its functions and auth providers are replaced (the schema stays). A
  // failure (auth.config.ts now reads an unset variable) is returned with Convex's code
  // and the version keeps serving as it was.
  [[nodiscard]] absl::Status EnvironmentChanged();

  // The active pushed version, or null before the first push.
  std::shared_ptr<const CodeVersion> active() const;
  const std::string& runtime_dir() const { return runtime_dir_; }

 private:
  struct Pending {
    std::string id;
    std::shared_ptr<CodeVersion> version;
    std::shared_ptr<const App> app;
    std::map<std::string, std::string> env;  // the deployment's variables at start_push
    std::string response;                    // the StartPushResponse
  };
  absl::StatusOr<std::shared_ptr<Pending>> Prepare(std::string_view body);
  absl::StatusOr<std::shared_ptr<Pending>> FindPending(std::string_view id);
  absl::Status Analyze(CodeVersion& version, const std::string& dir);
  absl::Status Activate(std::shared_ptr<const CodeVersion> version);

  Runner* runner_;
  const App* base_;
  std::shared_ptr<JsInvoker> invoker_;
  PushOptions options_;
  std::optional<ModuleStore> store_;
  std::string runtime_dir_;

  mutable std::mutex mu_;  // guards active_ and pending_
  std::shared_ptr<const CodeVersion> active_;
  std::deque<std::shared_ptr<Pending>> pending_;
  std::mutex finish_mu_;  // one finish_push at a time
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_PUSH_H_
