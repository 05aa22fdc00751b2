// File: functions/js/version.h
//
// A pushed code version: its modules, the analysis the analyze worker produced
// (runtime/analyze.mjs), and what convexlite compiles from it: the functions with their
// validators, the HTTP routes, the crons, the schema and the auth providers. The analysis
// is kept as the JSON text the worker wrote, so a restart compiles the same version
// without running Node again, and the push endpoints answer with it unchanged.
//
// MergeApp turns a version into the App the Runner serves: the C++ base App plus one
// RegisteredFunction per analyzed export (docs/design/typescript-apps.md).
//
// Thread safety: CodeVersion is immutable once compiled.

#ifndef CVX_FUNCTIONS_JS_VERSION_H_
#define CVX_FUNCTIONS_JS_VERSION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "functions/app.h"
#include "functions/crons.h"
#include "functions/js/modules.h"
#include "schema/schema.h"

namespace cvx::js {

struct AnalyzedFunction {
  std::string module;  // "messages.js"
  std::string name;    // "list"
  std::string path;    // canonical "messages:list"
  FunctionType type = FunctionType::kQuery;
  Visibility visibility = Visibility::kPublic;
  std::string args_json;     // exportArgs()
  std::string returns_json;  // exportReturns(); "null" when none
  std::optional<Validator> args, returns;
};

struct HttpRoute {
  std::string method;
  std::string path;  // "/hello", or a prefix ending in '*': "/api/auth/*"
};

struct CodeVersion {
  std::string id;
  std::vector<ModuleRef> modules;  // runtime modules, schema.js included
  // The analyze worker's "modules" object ({path: {functions, httpRoutes, cronSpecs,
  // sourceMapped}}), schema.js's export() and auth.config.js's JSON, as text.
  std::string analysis_json;
  std::optional<std::string> schema_json;
  std::optional<std::string> auth_config_json;
  double pushed_at_ms = 0;
  std::string dir;  // where the store laid the version out (ModuleStore::Materialize)
  // convex.json node.externalPackages as pushed ([{name, version}] JSON), their id and
  // installed directory (functions/js/external_packages.h); empty when none.
  std::string external_packages_json;
  std::string external_deps_id;
  std::string external_deps_dir;

  // Compiled.
  std::vector<AnalyzedFunction> functions;
  std::vector<HttpRoute> http_routes;
  std::optional<std::string> crons_json;
  std::vector<CronSpec> crons;
  std::optional<SchemaDefinition> schema;
  std::vector<AuthProvider> auth_providers;

  // The modules a worker imports: every runtime module but _deps/ chunks, schema.js and
  // auth.config.js.
  std::vector<std::string> EntryModules() const;
};

// What Node may read for `version`: its directory, its external packages, `runtime_dir`.
std::vector<std::string> ReadPaths(const CodeVersion& version, const std::string& runtime_dir);

// Compiles the text fields of `version` into the rest. kInvalidArgument with Convex's
// codes: "InvalidModules" (analysis), "InvalidSchema", "InvalidAuthConfig"; a cron whose
// target is not a mutation or action of this version is "InvalidModules", as in Convex.
[[nodiscard]] absl::Status Compile(CodeVersion& version);

// The handler every TypeScript function of a version gets: runs `fn` in a worker
// against the call's context. The Runner calls it like a C++ handler.
struct JsInvoker {
  virtual ~JsInvoker() = default;
  virtual absl::StatusOr<Value> Query(const CodeVersion& version, const AnalyzedFunction& fn,
                                      QueryCtx& ctx, const Object& args) = 0;
  virtual absl::StatusOr<Value> Mutation(const CodeVersion& version, const AnalyzedFunction& fn,
                                         MutationCtx& ctx, const Object& args) = 0;
  virtual absl::StatusOr<Value> Action(const CodeVersion& version, const AnalyzedFunction& fn,
                                       ActionCtx& ctx, const Object& args) = 0;
  // An HTTP action routed by http.js's router (`route` is the matched route).
  virtual absl::StatusOr<HttpActionResponse> Http(const CodeVersion& version, const HttpRoute& route,
                                                  ActionCtx& ctx, const HttpActionRequest& request) = 0;
};

// The invoker of this slice: every call fails with a clear error (running the functions
// in Node workers is issue #12's next slice; the functions are listed and validated).
std::shared_ptr<JsInvoker> NotYetRunnableInvoker();

// The App a Runner serves for `version` on top of `base`: base's functions, triggers,
// routes and providers, then the version's. kInvalidArgument "PathConflict" when the
// version defines a function path, a table or an HTTP route that `base` already has;
// "InvalidModules" for a route Convex would refuse.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const App>> MergeApp(
    const App& base, std::shared_ptr<const CodeVersion> version, std::shared_ptr<JsInvoker> invoker);

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_VERSION_H_
