#include "functions/js/version.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/function_path.h"

namespace cvx::js {
namespace json = boost::json;
namespace {

constexpr char kLoadingModules[] = "Loading the pushed modules encountered the following\n    error:\n";

absl::Status Invalid(std::string_view code, std::string message) {
  return InvalidArgument(code, std::move(message));
}

absl::StatusOr<json::value> ParseJson(std::string_view text, std::string_view code,
                                      std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Invalid(code, absl::StrCat(AV(what), " is not JSON: ", ec.message()));
  return v;
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

absl::StatusOr<std::optional<Validator>> ParseValidatorText(const std::string& text,
                                                            const std::string& where) {
  if (text.empty() || text == "null") return std::optional<Validator>();
  absl::StatusOr<Value> value = ParseConvexJson(text);
  if (!value.ok()) {
    return Invalid("InvalidModules", absl::StrCat(where, ": ", value.status().message()));
  }
  absl::StatusOr<Validator> validator = Validator::FromJson(*value);
  if (!validator.ok()) {
    return Invalid("InvalidModules", absl::StrCat(where, ": ", validator.status().message()));
  }
  return std::optional<Validator>(*std::move(validator));
}

absl::Status CompileFunctions(CodeVersion& version) {
  CVX_ASSIGN_OR_RETURN(json::value analysis,
                       ParseJson(version.analysis_json, "InvalidModules", "the analysis"));
  if (!analysis.is_object()) return Invalid("InvalidModules", "the analysis is not an object");
  for (const auto& [module_key, module_value] : analysis.get_object()) {
    std::string module(module_key);
    if (!module_value.is_object()) continue;
    const json::object& m = module_value.get_object();
    if (const json::value* fns = m.if_contains("functions"); fns != nullptr && fns->is_array()) {
      for (const json::value& f : fns->get_array()) {
        if (!f.is_object()) continue;
        const json::object& fo = f.get_object();
        AnalyzedFunction fn;
        fn.module = module;
        fn.name = StringField(fo, "name");
        std::string stem = module.substr(0, module.size() - (absl::EndsWith(module, ".js") ? 3 : 0));
        absl::StatusOr<std::string> canonical = CanonicalizeFunctionPath(absl::StrCat(stem, ":", fn.name));
        if (!canonical.ok()) {
          return Invalid("InvalidModules", absl::StrCat(module, ": ", canonical.status().message()));
        }
        fn.path = *canonical;
        std::string udf = StringField(fo, "udfType");
        if (udf == "Query") fn.type = FunctionType::kQuery;
        else if (udf == "Mutation") fn.type = FunctionType::kMutation;
        else if (udf == "Action") fn.type = FunctionType::kAction;
        else return Invalid("InvalidModules", absl::StrCat(fn.path, ": unknown udfType ", udf));
        const json::value* vis = fo.if_contains("visibility");
        fn.visibility = vis != nullptr && vis->is_object() &&
                                StringField(vis->get_object(), "kind") == "internal"
                            ? Visibility::kInternal
                            : Visibility::kPublic;
        fn.args_json = StringField(fo, "args");
        fn.returns_json = StringField(fo, "returns");
        std::string where = absl::StrCat("the arguments validator of ", FunctionPathWithJs(fn.path));
        CVX_ASSIGN_OR_RETURN(fn.args, ParseValidatorText(fn.args_json, where));
        if (fn.args && fn.args->kind() != Validator::Kind::kObject &&
            fn.args->kind() != Validator::Kind::kAny) {
          return Invalid("InvalidModules", absl::StrCat(where, " must be an object or any"));
        }
        where = absl::StrCat("the returns validator of ", FunctionPathWithJs(fn.path));
        CVX_ASSIGN_OR_RETURN(fn.returns, ParseValidatorText(fn.returns_json, where));
        version.functions.push_back(std::move(fn));
      }
    }
    if (const json::value* routes = m.if_contains("httpRoutes"); routes != nullptr && routes->is_array()) {
      for (const json::value& r : routes->get_array()) {
        const json::value* route = r.is_object() ? r.get_object().if_contains("route") : nullptr;
        if (route == nullptr || !route->is_object()) continue;
        version.http_routes.push_back(
            HttpRoute{StringField(route->get_object(), "method"), StringField(route->get_object(), "path")});
      }
    }
    if (const json::value* crons = m.if_contains("cronSpecs"); crons != nullptr && crons->is_string()) {
      version.crons_json = std::string(crons->get_string());
    }
  }
  return absl::OkStatus();
}

absl::Status CompileCrons(CodeVersion& version) {
  if (!version.crons_json) return absl::OkStatus();
  absl::StatusOr<Value> specs = ParseConvexJson(*version.crons_json);
  if (!specs.ok()) return Invalid("InvalidCron", absl::StrCat("crons.js's export(): ", specs.status().message()));
  CVX_ASSIGN_OR_RETURN(version.crons, ParseCronSpecs(*specs));
  CVX_ASSIGN_OR_RETURN(json::value crons, ParseJson(*version.crons_json, "InvalidCronJobs", "crons.js's export()"));
  if (!crons.is_object()) return Invalid("InvalidCronJobs", "crons.js's export() is not an object");
  for (const auto& [ident, spec] : crons.get_object()) {
    std::string name = spec.is_object() ? StringField(spec.get_object(), "name") : "";
    absl::StatusOr<std::string> canonical = CanonicalizeFunctionPath(name);
    const AnalyzedFunction* target = nullptr;
    for (const AnalyzedFunction& f : version.functions) {
      if (canonical.ok() && f.path == *canonical) target = &f;
    }
    if (target == nullptr) {
      return Invalid("InvalidModules",
                     absl::StrCat(kLoadingModules, "The cron job '", std::string(ident),
                                  "' schedules a function that does not exist: ",
                                  canonical.ok() ? FunctionPathWithJs(*canonical) : name, "\n"));
    }
    if (target->type == FunctionType::kQuery) {
      return Invalid("InvalidModules",
                     absl::StrCat(kLoadingModules, "The cron job '", std::string(ident),
                                  "' schedules a query function, only actions and mutations can be "
                                  "scheduled: ",
                                  FunctionPathWithJs(target->path), "\n"));
    }
  }
  return absl::OkStatus();
}

absl::Status CompileAuth(CodeVersion& version) {
  if (!version.auth_config_json) return absl::OkStatus();
  CVX_ASSIGN_OR_RETURN(json::value config, ParseJson(*version.auth_config_json, "InvalidAuthConfig", "auth.config.js"));
  const json::value* providers = config.is_object() ? config.get_object().if_contains("providers") : nullptr;
  if (providers == nullptr || !providers->is_array()) {
    return Invalid("InvalidAuthConfig", "The pushed auth config is invalid: auth config file must include a list of provider credentials");
  }
  for (const json::value& p : providers->get_array()) {
    if (!p.is_object()) return Invalid("InvalidAuthConfig", "each auth provider must be an object");
    const json::object& o = p.get_object();
    AuthProvider provider;
    std::string application_id = StringField(o, "applicationID");
    if (!application_id.empty()) provider.application_id = application_id;
    if (StringField(o, "type") == "customJwt") {
      provider.type = AuthProvider::Type::kCustomJwt;
      provider.issuer = StringField(o, "issuer");
      provider.jwks = StringField(o, "jwks");
      provider.algorithm = StringField(o, "algorithm");
      if (provider.issuer.empty() || provider.jwks.empty()) {
        return Invalid("InvalidAuthConfig", "The pushed auth config is invalid: a customJwt provider needs an issuer and a jwks");
      }
      if (provider.algorithm != "RS256" && provider.algorithm != "ES256") {
        return Invalid("InvalidAuthConfig", absl::StrCat("The pushed auth config is invalid: the algorithm must be RS256 or ES256, not \"",
                                                          provider.algorithm, "\""));
      }
    } else {
      provider.type = AuthProvider::Type::kOidc;
      provider.issuer = StringField(o, "domain");
      if (provider.issuer.empty() || !provider.application_id) {
        return Invalid("InvalidAuthConfig", "The pushed auth config is invalid: an OIDC provider needs a domain and an applicationID");
      }
    }
    version.auth_providers.push_back(std::move(provider));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> ReadPaths(const CodeVersion& version, const std::string& runtime_dir) {
  std::vector<std::string> paths = {version.dir, runtime_dir};
  if (!version.external_deps_dir.empty()) paths.push_back(version.external_deps_dir);
  return paths;
}

std::vector<std::string> CodeVersion::EntryModules() const {
  std::vector<std::string> out;
  for (const ModuleRef& m : modules) {
    if (m.path == "schema.js" || m.path == "auth.config.js" || absl::StartsWith(m.path, "_deps/")) continue;
    out.push_back(m.path);
  }
  return out;
}

absl::Status Compile(CodeVersion& version) {
  version.functions.clear();
  version.http_routes.clear();
  version.auth_providers.clear();
  version.crons_json.reset();
  version.crons.clear();
  version.schema.reset();
  CVX_RETURN_IF_ERROR(CompileFunctions(version));
  CVX_RETURN_IF_ERROR(CompileCrons(version));
  if (version.schema_json) {
    absl::StatusOr<Value> json = ParseConvexJson(*version.schema_json);
    if (!json.ok()) return Invalid("InvalidSchema", absl::StrCat("Invalid schema: ", json.status().message()));
    absl::StatusOr<SchemaDefinition> schema = SchemaDefinition::FromJson(*json);
    if (!schema.ok()) return schema.status();
    if (absl::Status s = schema->Validate(); !s.ok()) return Invalid("InvalidSchema", std::string(s.message()));
    version.schema = *std::move(schema);
  }
  return CompileAuth(version);
}

namespace {
class NotYetRunnable : public JsInvoker {
 public:
  absl::StatusOr<Value> Query(const CodeVersion&, const AnalyzedFunction& fn, QueryCtx&, const Object&) override {
    return Fail(fn);
  }
  absl::StatusOr<Value> Mutation(const CodeVersion&, const AnalyzedFunction& fn, MutationCtx&, const Object&) override {
    return Fail(fn);
  }
  absl::StatusOr<Value> Action(const CodeVersion&, const AnalyzedFunction& fn, ActionCtx&, const Object&) override {
    return Fail(fn);
  }
  absl::StatusOr<HttpActionResponse> Http(const CodeVersion&, const HttpRoute& route, ActionCtx&,
                                          const HttpActionRequest&) override {
    return Fail(absl::StrCat("The HTTP action ", route.method, " ", route.path));
  }

 private:
  static absl::Status Fail(const AnalyzedFunction& fn) { return Fail(FunctionPathWithJs(fn.path)); }
  static absl::Status Fail(const std::string& what) {
    return MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                     absl::StrCat(what,
                                  " is pushed TypeScript; this convexlite build analyzes and serves "
                                  "pushes but does not run TypeScript functions yet"));
  }
};
}  // namespace

std::shared_ptr<JsInvoker> NotYetRunnableInvoker() { return std::make_shared<NotYetRunnable>(); }

absl::StatusOr<std::shared_ptr<const App>> MergeApp(const App& base,
                                                    std::shared_ptr<const CodeVersion> version,
                                                    std::shared_ptr<JsInvoker> invoker) {
  auto app = std::make_shared<App>(base);
  for (const AnalyzedFunction& fn : version->functions) {
    if (base.Find(fn.path) != nullptr) {
      return Invalid("PathConflict",
                     absl::StrCat("The pushed function ", FunctionPathWithJs(fn.path),
                                  " has the path of a function built into this convexlite "
                                  "binary; rename it"));
    }
  }
  if (version->schema) {
    SchemaDefinition merged = base.schema();
    for (const auto& [name, table] : version->schema->tables()) {
      if (base.schema().Find(name) != nullptr) {
        return Invalid("PathConflict",
                       absl::StrCat("The pushed schema defines table \"", name,
                                    "\", which the app built into this convexlite binary "
                                    "already defines"));
      }
      merged.Table(name, table);
    }
    merged.SchemaValidation(version->schema->schema_validation());
    app->SetSchema(std::move(merged));
  }
  for (const AnalyzedFunction& fn : version->functions) {
    // The closure keeps the version (and so `fn`) alive as long as the App.
    const AnalyzedFunction* f = &fn;
    switch (fn.type) {
      case FunctionType::kQuery: {
        QueryHandler h = [version, invoker, f](QueryCtx& ctx, const Object& args) {
          return invoker->Query(*version, *f, ctx, args);
        };
        if (fn.visibility == Visibility::kPublic) app->Query(fn.path, fn.args, h, fn.returns);
        else app->InternalQuery(fn.path, fn.args, h, fn.returns);
        break;
      }
      case FunctionType::kMutation: {
        MutationHandler h = [version, invoker, f](MutationCtx& ctx, const Object& args) {
          return invoker->Mutation(*version, *f, ctx, args);
        };
        if (fn.visibility == Visibility::kPublic) app->Mutation(fn.path, fn.args, h, fn.returns);
        else app->InternalMutation(fn.path, fn.args, h, fn.returns);
        break;
      }
      case FunctionType::kAction: {
        ActionHandler h = [version, invoker, f](ActionCtx& ctx, const Object& args) {
          return invoker->Action(*version, *f, ctx, args);
        };
        if (fn.visibility == Visibility::kPublic) app->Action(fn.path, fn.args, h, fn.returns);
        else app->InternalAction(fn.path, fn.args, h, fn.returns);
        break;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> base_routes = base.http().Routes();
  for (const HttpRoute& route : version->http_routes) {
    static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    if (kMethods.count(route.method) == 0) {
      return Invalid("InvalidModules", absl::StrCat("'", route.method,
                                                    "' is not not a routable method (one of GET, POST, "
                                                    "PUT, DELETE, PATCH, OPTIONS)"));
    }
    bool prefix = absl::EndsWith(route.path, "*");
    std::string path = prefix ? route.path.substr(0, route.path.size() - 1) : route.path;
    if (path.empty() || path[0] != '/' || (prefix && path.back() != '/') ||
        absl::StartsWith(path, "/.files")) {
      return Invalid("InvalidModules", absl::StrCat("http.js routes an invalid path: ", route.path));
    }
    if (std::find(base_routes.begin(), base_routes.end(), std::pair{route.method, route.path}) !=
        base_routes.end()) {
      return Invalid("PathConflict", absl::StrCat("http.js routes ", route.method, " ", route.path,
                                                  ", which the app built into this convexlite binary "
                                                  "already routes"));
    }
    HttpRoute r = route;
    HttpActionHandler h = [version, invoker, r](ActionCtx& ctx, const HttpActionRequest& request) {
      return invoker->Http(*version, r, ctx, request);
    };
    // The worker reads a streamed body itself, as the action pulls it (request.body).
    if (prefix) app->http().RoutePrefix(route.method, path, std::move(h), /*reads_body_stream=*/true);
    else app->http().Route(route.method, path, std::move(h), /*reads_body_stream=*/true);
  }
  for (const AuthProvider& p : version->auth_providers) app->AddAuthProvider(p);
  return std::shared_ptr<const App>(std::move(app));
}

}  // namespace cvx::js
