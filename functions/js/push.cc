#include "functions/js/push.h"

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/auth/crypto.h"
#include "functions/js/external_packages.h"
#include "functions/js/runtime_files.h"
#include "schema/schema.h"

namespace cvx::js {
namespace json = boost::json;
namespace {

absl::Status UserError(std::string_view code, std::string_view message) {
  return InvalidArgument(code, message);
}

absl::StatusOr<json::object> ParseBody(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) {
    return UserError("BadJsonBody", absl::StrCat("The request body is not a JSON object",
                                                 ec ? absl::StrCat(": ", ec.message()) : ""));
  }
  return std::move(v.get_object());
}

const json::object* ObjectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}
const json::array* ArrayAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}
std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

json::value ParseOrNull(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  return ec ? json::value(nullptr) : v;
}

// A module of the request: {path, source, sourceMap?, environment?}.
absl::StatusOr<Module> ModuleFrom(const json::value& v) {
  if (!v.is_object()) return UserError("InvalidModules", "A pushed module is not an object");
  const json::object& o = v.get_object();
  std::optional<std::string> path = StringAt(o, "path");
  std::optional<std::string> source = StringAt(o, "source");
  if (!path || !source) return UserError("InvalidModules", "A pushed module needs a path and a source");
  Module m;
  m.path = *path;
  m.source = *std::move(source);
  m.source_map = StringAt(o, "sourceMap");
  m.environment = StringAt(o, "environment").value_or(absl::StartsWith(m.path, "actions/") ? "node" : "isolate");
  if (m.environment != "isolate" && m.environment != "node") {
    return UserError("InvalidModules", absl::StrCat("Module ", m.path, " has an unknown environment \"",
                                                    m.environment, "\""));
  }
  CVX_RETURN_IF_ERROR(CheckModulePath(m.path));
  return m;
}

bool IsRuntimeModule(const ModuleRef& m) { return m.path != "schema.js"; }
bool IsAnalyzed(const ModuleRef& m) {
  return IsRuntimeModule(m) && !absl::StartsWith(m.path, "_deps/") && m.path != "auth.config.js";
}

std::string ModulesJson(const std::vector<ModuleRef>& modules) {
  json::array out;
  for (const ModuleRef& m : modules) {
    out.push_back(json::object{{"path", m.path}, {"hash", m.hash}, {"environment", m.environment}});
  }
  return json::serialize(out);
}

absl::StatusOr<std::vector<ModuleRef>> ModulesFromJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return absl::DataLossError("the stored code version's module list is damaged");
  std::vector<ModuleRef> out;
  for (const json::value& m : v.get_array()) {
    if (!m.is_object()) return absl::DataLossError("the stored code version's module list is damaged");
    out.push_back(ModuleRef{StringAt(m.get_object(), "path").value_or(""),
                            StringAt(m.get_object(), "hash").value_or(""),
                            StringAt(m.get_object(), "environment").value_or("isolate")});
  }
  return out;
}

json::object IndexJson(const std::string& table, const IndexDefinition& index) {
  json::array fields;
  for (const std::string& f : index.fields) fields.push_back(json::value(f));
  return json::object{{"name", absl::StrCat(table, ".", index.name)}, {"type", "database"}, {"fields", fields}};
}

// Convex's indexDiffs[""]: database indexes added and removed between two schemas.
json::object IndexDiff(const SchemaDefinition& before, const SchemaDefinition& after) {
  auto all = [](const SchemaDefinition& s) {
    std::map<std::string, std::pair<std::string, IndexDefinition>> out;
    for (const auto& [table, def] : s.tables()) {
      for (const IndexDefinition& i : def.indexes()) out.emplace(absl::StrCat(table, ".", i.name), std::pair{table, i});
    }
    return out;
  };
  auto old_indexes = all(before), new_indexes = all(after);
  json::array added, removed;
  for (const auto& [name, entry] : new_indexes) {
    auto it = old_indexes.find(name);
    if (it == old_indexes.end() || it->second.second.fields != entry.second.fields) {
      added.push_back(IndexJson(entry.first, entry.second));
    }
  }
  for (const auto& [name, entry] : old_indexes) {
    auto it = new_indexes.find(name);
    if (it == new_indexes.end() || it->second.second.fields != entry.second.fields) {
      removed.push_back(IndexJson(entry.first, entry.second));
    }
  }
  // Search, vector and staged indexes are accepted and listed (as Convex lists them), so the
  // CLI names them; convexlite does not serve them yet (docs/guides/typescript-apps.md).
  for (const auto& [table, def] : after.tables()) {
    const TableDefinition* old = before.Find(table);
    for (const TableDefinition::UnservedIndex& index : def.unserved_indexes()) {
      bool existed = false;
      for (const auto& o : old ? old->unserved_indexes() : std::vector<TableDefinition::UnservedIndex>{}) {
        existed = existed || (o.name == index.name && o.type == index.type);
      }
      if (existed) continue;
      json::object entry{{"name", absl::StrCat(table, ".", index.name)}, {"type", index.type}};
      const Value& d = index.definition;
      auto field = [&](const char* key) { return d.Find(key) != nullptr ? json::parse(ToConvexJson(*d.Find(key))) : json::value(nullptr); };
      if (index.type == "search") {
        entry["searchField"] = field("searchField");
        entry["filterFields"] = field("filterFields");
      } else if (index.type == "vector") {
        entry["vectorField"] = field("vectorField");
        entry["dimensions"] = field("dimensions");
        entry["filterFields"] = field("filterFields");
      } else {
        entry["fields"] = field("fields");
        entry["staged"] = true;
      }
      added.push_back(entry);
    }
  }
  return json::object{{"added_indexes", added}, {"removed_indexes", removed}};
}

std::string Base64Le(int64_t v) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  return Base64Encode(bytes);
}

// The first offender of a SchemaValidationFailed message: its line and table.
std::pair<std::string, std::string> FirstViolation(std::string_view message) {
  std::string_view rest = message;
  if (size_t nl = rest.find('\n'); absl::StartsWith(AV(rest), "Schema validation failed.") && nl != std::string_view::npos) {
    rest = rest.substr(nl + 1);
  }
  std::string line(rest.substr(0, rest.find('\n')));
  std::string table;
  if (size_t at = line.find("in table \""); at != std::string::npos) {
    size_t start = at + 10;
    table = line.substr(start, line.find('"', start) - start);
  }
  return {line, table};
}

}  // namespace

PushService::PushService(Runner* runner, const App* base, std::shared_ptr<JsInvoker> invoker,
                         PushOptions options)
    : runner_(runner), base_(base), invoker_(std::move(invoker)), options_(std::move(options)) {}

std::shared_ptr<const CodeVersion> PushService::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

absl::Status PushService::Init() {
  absl::StatusOr<ModuleStore> store = ModuleStore::Open(options_.store_root);
  if (!store.ok()) return store.status();
  store_.emplace(*std::move(store));
  CVX_ASSIGN_OR_RETURN(runtime_dir_, InstallRuntime(options_.store_root));
  auto txn = runner_->db().Begin();
  ScanRequest rows;
  rows.table = kCodeVersionTable;
  rows.index = "by_id";
  CVX_ASSIGN_OR_RETURN(ScanResult found, txn->Scan(rows));
  if (found.documents.empty()) return absl::OkStatus();
  const Object& row = found.documents.front().fields;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = row.find(key);
    if (it == row.end() || !it->second.is_string()) return std::nullopt;
    return it->second.string();
  };
  auto version = std::make_shared<CodeVersion>();
  version->id = text("version").value_or("");
  CVX_ASSIGN_OR_RETURN(version->modules, ModulesFromJson(text("modules").value_or("")));
  version->analysis_json = text("analysis").value_or("{}");
  version->schema_json = text("schema");
  version->auth_config_json = text("authConfig");
  if (auto it = row.find("pushedAt"); it != row.end() && it->second.is_float64()) {
    version->pushed_at_ms = it->second.float64();
  }
  if (absl::Status s = Compile(*version); !s.ok()) {
    return Annotate(s, "the stored code version cannot be compiled");
  }
  if (std::optional<std::string> packages_json = text("externalPackages")) {
    // Installed when it was pushed; installed again if the directory has gone.
    PackageList packages;
    for (const json::value& p : json::parse(*packages_json).as_array()) {
      packages.emplace_back(StringAt(p.as_object(), "name").value_or(""), StringAt(p.as_object(), "version").value_or(""));
    }
    version->external_packages_json = *packages_json;
    version->external_deps_id = ExternalDepsId(packages);
    version->external_deps_dir = ExternalDepsDir(options_.store_root, version->external_deps_id);
    if (options_.node) {
      CVX_ASSIGN_OR_RETURN(version->external_deps_dir, InstallExternalPackages(*options_.node, options_.store_root, packages));
    }
  }
  CVX_ASSIGN_OR_RETURN(version->dir, store_->Materialize(version->modules, version->external_deps_id,
                                                         version->external_deps_dir));
  return Activate(version);
}

absl::Status PushService::Activate(std::shared_ptr<const CodeVersion> version) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<const App> app, MergeApp(*base_, version, invoker_));
  runner_->SetApp(std::move(app));
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = std::move(version);
  }
  if (options_.on_switch) options_.on_switch();
  return absl::OkStatus();
}

absl::Status PushService::EnvironmentChanged() {
  std::lock_guard<std::mutex> finishing(finish_mu_);
  std::shared_ptr<const CodeVersion> current = active();
  if (current == nullptr || !options_.node) return absl::OkStatus();
  auto version = std::make_shared<CodeVersion>();
  version->id = current->id;
  version->modules = current->modules;
  version->dir = current->dir;
  version->external_packages_json = current->external_packages_json;
  version->external_deps_id = current->external_deps_id;
  version->external_deps_dir = current->external_deps_dir;
  CVX_RETURN_IF_ERROR(Analyze(*version, version->dir));
  version->schema_json = current->schema_json;  // a schema change needs a push
  CVX_RETURN_IF_ERROR(Compile(*version));
  CVX_RETURN_IF_ERROR(CommitWithRetries(runner_->db(), [&](Transaction& txn) -> absl::Status {
    ScanRequest rows;
    rows.table = kCodeVersionTable;
    rows.index = "by_id";
    CVX_ASSIGN_OR_RETURN(ScanResult found, txn.Scan(rows));
    for (const Document& d : found.documents) {
      Object row = d.fields;
      row["analysis"] = Value::String(version->analysis_json);
      row["authConfig"] = version->auth_config_json ? Value::String(*version->auth_config_json) : Value::Null();
      CVX_RETURN_IF_ERROR(txn.Replace(d.id, std::move(row)));
    }
    return absl::OkStatus();
  }, "store the re-analyzed code version"));
  return Activate(version);
}

absl::StatusOr<std::string> PushService::ConfigHashes() {
  json::array hashes;
  if (std::shared_ptr<const CodeVersion> v = active()) {
    for (const ModuleRef& m : v->modules) {
      if (!IsRuntimeModule(m)) continue;
      hashes.push_back(json::object{{"path", m.path}, {"hash", m.hash}, {"environment", m.environment}});
    }
  }
  json::object out{{"config", json::object{{"functions", "convex/"}}},
                   {"moduleHashes", hashes},
                   {"udfServerVersion", active() ? json::value(options_.server_version) : json::value(nullptr)},
                   {"nodeVersion", nullptr}};
  return json::serialize(out);
}

absl::Status PushService::Analyze(CodeVersion& version, const std::string& dir) {
  if (!options_.node) return options_.node_error;
  json::array analyzed;
  bool has_schema = false, has_auth = false;
  for (const ModuleRef& m : version.modules) {
    if (IsAnalyzed(m)) analyzed.push_back(json::value(m.path));
    if (m.path == "schema.js") has_schema = true;
    if (m.path == "auth.config.js") has_auth = true;
  }
  json::object env;
  if (options_.environment) {
    for (const auto& [k, v] : options_.environment()) env[k] = v;
  }
  std::string seed = auth::RandomBytes(32);
  double now_ms = absl::ToUnixMillis(absl::Now());
  json::object request{{"dir", dir},
                       {"modules", analyzed},
                       {"schema", has_schema ? json::value("schema.js") : json::value(nullptr)},
                       {"authConfig", has_auth ? json::value("auth.config.js") : json::value(nullptr)},
                       {"env", env},
                       {"seed", Base64Encode(seed)},
                       {"nowMs", now_ms}};
  CVX_ASSIGN_OR_RETURN(NodeOutput out,
                       options_.node->RunOnce(runtime_dir_ + "/analyze.mjs", {}, {}, ReadPaths(version, runtime_dir_),
                                              json::serialize(request), options_.analyze_timeout));
  if (out.timed_out) {
    return UserError("InvalidModules",
                     absl::StrCat("Loading the pushed modules encountered the following\n    error:\n"
                                  "Analyzing the modules took longer than ",
                                  absl::FormatDuration(options_.analyze_timeout),
                                  " (a module's top level never finishes?)"));
  }
  boost::system::error_code ec;
  json::value answer = json::parse(out.answer, ec);
  if (ec || !answer.is_object()) {
    std::string tail = out.stderr_text.size() > 2000 ? out.stderr_text.substr(out.stderr_text.size() - 2000)
                                                     : out.stderr_text;
    return UserError("InvalidModules",
                     absl::StrCat("Loading the pushed modules encountered the following\n    error:\n"
                                  "the analyzer exited (status ", out.exit_code, ") without an answer\n", tail));
  }
  const json::object& a = answer.get_object();
  const json::value* ok = a.if_contains("ok");
  if (ok == nullptr || !ok->is_bool() || !ok->get_bool()) {
    return UserError(StringAt(a, "code").value_or("InvalidModules"), StringAt(a, "message").value_or("analysis failed"));
  }
  const json::object* modules = ObjectAt(a, "modules");
  version.analysis_json = modules ? json::serialize(*modules) : "{}";
  version.schema_json = StringAt(a, "schema");
  version.auth_config_json = StringAt(a, "authConfig");
  version.pushed_at_ms = now_ms;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<PushService::Pending>> PushService::Prepare(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(json::object request, ParseBody(body));
  if (!store_) return absl::FailedPreconditionError("the push service is not initialized");
  const json::array* components = ArrayAt(request, "componentDefinitions");
  const json::object* app_definition = ObjectAt(request, "appDefinition");
  if (app_definition == nullptr) return UserError("InvalidPush", "The push has no appDefinition");
  const json::array* dependencies = ArrayAt(*app_definition, "dependencies");
  if ((components != nullptr && !components->empty()) || (dependencies != nullptr && !dependencies->empty())) {
    return UserError("ComponentsNotSupported",
                     "This app uses Convex components (convex.config.ts `app.use(...)`), which "
                     "convexlite does not support yet. Push an app without components.");
  }
  PackageList packages;
  if (const json::array* deps = ArrayAt(request, "nodeDependencies"); deps != nullptr) {
    for (const json::value& d : *deps) {
      if (!d.is_object()) return UserError("InvalidExternalModules", "nodeDependencies holds a non-object");
      packages.emplace_back(StringAt(d.get_object(), "name").value_or(""), StringAt(d.get_object(), "version").value_or(""));
    }
  }
  std::vector<ModuleRef> refs;
  std::set<std::string> paths;
  auto add = [&](ModuleRef ref) -> absl::Status {
    if (!paths.insert(ref.path).second) {
      return UserError("InvalidModules", absl::StrCat("Module ", ref.path, " was pushed twice"));
    }
    refs.push_back(std::move(ref));
    return absl::OkStatus();
  };
  const json::array* changed = ArrayAt(*app_definition, "changedModules");
  if (changed == nullptr) changed = ArrayAt(*app_definition, "functions");
  if (changed != nullptr) {
    for (const json::value& m : *changed) {
      CVX_ASSIGN_OR_RETURN(Module module, ModuleFrom(m));
      if (module.path == "schema.js") {
        return UserError("InvalidModules", "schema.js must be pushed as the app's schema");
      }
      CVX_ASSIGN_OR_RETURN(ModuleRef ref, store_->Put(module));
      CVX_RETURN_IF_ERROR(add(std::move(ref)));
    }
  }
  if (const json::array* unchanged = ArrayAt(*app_definition, "unchangedModuleHashes")) {
    for (const json::value& m : *unchanged) {
      if (!m.is_object()) return UserError("InvalidModules", "unchangedModuleHashes holds a non-object");
      ModuleRef ref{StringAt(m.get_object(), "path").value_or(""), StringAt(m.get_object(), "sha256").value_or(""),
                    StringAt(m.get_object(), "environment").value_or("isolate")};
      CVX_RETURN_IF_ERROR(CheckModulePath(ref.path));
      if (!store_->Has(ref.hash)) {
        return UserError("MissingExistingModule",
                         absl::StrCat("Could not find existing unchanged module. (", ref.path,
                                      "; push all modules with npx convex deploy --push-all-modules)"));
      }
      bool known = false;
      if (std::shared_ptr<const CodeVersion> v = active()) {
        for (const ModuleRef& old : v->modules) {
          if (old.path == ref.path && old.hash == ref.hash) {
            known = true;
            if (old.environment != ref.environment) {
              return UserError("ExistingModuleEnvConflict",
                               absl::StrCat("Existing module environment does not match. (", ref.path, ")"));
            }
          }
        }
      }
      (void)known;  // a hash stored by an earlier version is as good as one in the active one
      CVX_RETURN_IF_ERROR(add(std::move(ref)));
    }
  }
  if (const json::object* schema = ObjectAt(*app_definition, "schema")) {
    CVX_ASSIGN_OR_RETURN(Module module, ModuleFrom(json::value(*schema)));
    module.path = "schema.js";
    CVX_ASSIGN_OR_RETURN(ModuleRef ref, store_->Put(module));
    CVX_RETURN_IF_ERROR(add(std::move(ref)));
  }
  for (const ModuleRef& r : refs) {
    if (r.environment == "node" && (r.path == "http.js" || r.path == "crons.js" || r.path == "schema.js" ||
                                    r.path == "auth.config.js")) {
      return UserError("InvalidModules", absl::StrCat(r.path, " must not be a \"use node\" module"));
    }
  }
  auto version = std::make_shared<CodeVersion>();
  version->modules = refs;
  version->id = VersionId(refs);
  if (!packages.empty()) {
    if (!options_.node) return options_.node_error;
    CVX_ASSIGN_OR_RETURN(version->external_deps_dir, InstallExternalPackages(*options_.node, options_.store_root, packages));
    version->external_deps_id = ExternalDepsId(packages);
    json::array list;
    for (const auto& [name, v] : packages) list.push_back(json::object{{"name", name}, {"version", v}});
    version->external_packages_json = json::serialize(list);
    version->id = absl::StrCat(version->id, "-", version->external_deps_id);
  }
  CVX_ASSIGN_OR_RETURN(std::string dir, store_->Materialize(refs, version->external_deps_id, version->external_deps_dir));
  version->dir = dir;
  CVX_RETURN_IF_ERROR(Analyze(*version, dir));
  CVX_RETURN_IF_ERROR(Compile(*version));
  auto pending = std::make_shared<Pending>();
  pending->version = version;
  CVX_ASSIGN_OR_RETURN(pending->app, MergeApp(*base_, version, invoker_));
  CVX_ASSIGN_OR_RETURN(pending->env, runner_->ListEnv());
  pending->id = absl::BytesToHexString(auth::RandomBytes(16));

  json::object env;
  for (const auto& [k, v] : pending->env) env[k] = v;
  json::value auth_config = ParseOrNull(version->auth_config_json);
  json::value app_auth = json::array();
  if (auth_config.is_object() && auth_config.get_object().contains("providers")) {
    app_auth = auth_config.get_object().at("providers");
  }
  json::value modules_analysis = ParseOrNull(version->analysis_json);
  if (!modules_analysis.is_object()) modules_analysis = json::object();
  // auth.config.js is evaluated, not analyzed: an empty module in the analysis.
  for (const ModuleRef& r : refs) {
    if (r.path == "auth.config.js") {
      modules_analysis.get_object()[r.path] = json::object{
          {"functions", json::array()}, {"httpRoutes", nullptr}, {"cronSpecs", nullptr}, {"sourceMapped", nullptr}};
    }
  }
  json::array http_routes;
  for (const HttpRoute& r : version->http_routes) {
    http_routes.push_back(json::object{{"method", r.method}, {"path", r.path}});
  }
  json::object definition{{"path", ""},
                          {"definitionType", json::object{{"type", "app"}}},
                          {"childComponents", json::array()},
                          {"httpMounts", json::object()},
                          {"exports", json::object{{"type", "branch"}, {"branch", json::array()}}}};
  json::object udf_config{
      {"serverVersion", options_.server_version},
      {"importPhaseRngSeed", json::object{{"$bytes", Base64Encode(auth::RandomBytes(32))}}},
      {"importPhaseUnixTimestamp",
       json::object{{"$integer", Base64Le(static_cast<int64_t>(version->pushed_at_ms * 1e6))}}}};
  json::object response{
      {"environmentVariables", env},
      {"externalDepsId", version->external_deps_id.empty() ? json::value(nullptr) : json::value(version->external_deps_id)},
      {"componentDefinitionPackages", json::object{{"", json::object{{"convexlitePushId", pending->id}}}}},
      {"appAuth", app_auth},
      {"analysis", json::object{{"", json::object{{"definition", definition},
                                                  {"schema", ParseOrNull(version->schema_json)},
                                                  {"functions", modules_analysis},
                                                  {"udfConfig", udf_config}}}}},
      {"app", json::object{{"definitionPath", ""},
                           {"componentPath", ""},
                           {"args", json::object()},
                           {"childComponents", json::object()},
                           {"httpRoutes", json::object{{"httpModuleRoutes", version->http_routes.empty()
                                                                                ? json::value(nullptr)
                                                                                : json::value(http_routes)},
                                                       {"mounts", json::array()}}},
                           {"exports", json::object()}}},
      {"schemaChange", json::object{{"allocatedComponentIds", json::object()},
                                    {"schemaIds", json::object{{"", pending->id}}},
                                    {"indexDiffs", json::object{{"", IndexDiff(runner_->app()->schema(),
                                                                               pending->app->schema())}}}}}};
  pending->response = json::serialize(response);
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(pending);
    while (pending_.size() > 8) pending_.pop_front();
  }
  return pending;
}

absl::StatusOr<std::shared_ptr<PushService::Pending>> PushService::FindPending(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : pending_) {
    if (p->id == id) return p;
  }
  return UserError("PushNotFound",
                   "This push is unknown to the server (it restarted, or too many pushes "
                   "started since); push again");
}

absl::StatusOr<std::string> PushService::StartPush(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending, Prepare(body));
  return pending->response;
}

absl::StatusOr<std::string> PushService::EvaluatePush(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending, Prepare(body));
  boost::system::error_code ec;
  json::value response = json::parse(pending->response, ec);
  return json::serialize(json::object{{"schemaChange", response.get_object().at("schemaChange")}});
}

absl::StatusOr<std::string> PushService::EvaluateSchema(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending, Prepare(body));
  const SchemaDefinition& before = runner_->app()->schema();
  const SchemaDefinition& after = pending->app->schema();
  json::array tables, indexes;
  for (const auto& [name, table] : after.tables()) {
    const TableDefinition* old = before.Find(name);
    bool same = old != nullptr && ToConvexJson(old->document().ToJson()) == ToConvexJson(table.document().ToJson());
    tables.push_back(json::object{{"name", name},
                                  {"outcome", same ? "supersetOfEnforced" : "mustWalk"},
                                  {"numDocs", 0},
                                  {"sizeBytes", 0}});
    for (const IndexDefinition& index : table.indexes()) {
      bool existed = false;
      if (old != nullptr) {
        for (const IndexDefinition& o : old->indexes()) existed = existed || (o.name == index.name && o.fields == index.fields);
      }
      json::object entry = IndexJson(name, index);
      entry["change"] = existed ? "identical" : "added";
      entry["needsBackfill"] = !existed;
      entry["numDocs"] = 0;
      indexes.push_back(entry);
    }
  }
  json::object evaluation{{"definitionPath", ""},
                          {"schemaValidation", after.schema_validation()},
                          {"tables", tables},
                          {"indexes", indexes},
                          {"discardedStagedValidators", json::array()}};
  return json::serialize(json::object{{"componentSchemaEvaluations", json::object{{"", evaluation}}},
                                      {"newComponentDefinitions", json::array()}});
}

absl::StatusOr<std::string> PushService::WaitForSchema(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(json::object request, ParseBody(body));
  const json::object* change = ObjectAt(request, "schemaChange");
  const json::object* ids = change ? ObjectAt(*change, "schemaIds") : nullptr;
  std::optional<std::string> id = ids ? StringAt(*ids, "") : std::nullopt;
  if (!id) return UserError("PushNotFound", "wait_for_schema needs the schemaChange start_push returned");
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending, FindPending(*id));
  // The same checks finish_push will make, in a transaction that is never committed.
  auto txn = runner_->db().Begin();
  absl::Status s = ApplySchemaIn(*txn, pending->app->schema());
  if (s.ok()) return std::string(R"({"type":"complete"})");
  if (ErrorTag(s) != "SchemaValidationFailed") return s;
  auto [line, table] = FirstViolation(std::string_view(s.message().data(), s.message().size()));
  return json::serialize(json::object{{"type", "failed"}, {"error", line}, {"componentPath", ""}, {"tableName", table}});
}

absl::StatusOr<std::string> PushService::FinishPush(std::string_view body) {
  CVX_ASSIGN_OR_RETURN(json::object request, ParseBody(body));
  const json::object* start = ObjectAt(request, "startPush");
  const json::object* packages = start ? ObjectAt(*start, "componentDefinitionPackages") : nullptr;
  const json::object* root = packages ? ObjectAt(*packages, "") : nullptr;
  std::optional<std::string> id = root ? StringAt(*root, "convexlitePushId") : std::nullopt;
  if (!id) return UserError("PushNotFound", "finish_push needs the response start_push returned");
  CVX_ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending, FindPending(*id));
  std::string empty_diff = R"({"authDiff":{"added":[],"removed":[]},"definitionDiffs":{},"componentDiffs":{}})";
  if (const json::value* dry = request.if_contains("dryRun"); dry != nullptr && dry->is_bool() && dry->get_bool()) {
    return empty_diff;
  }
  std::lock_guard<std::mutex> finishing(finish_mu_);
  CVX_ASSIGN_OR_RETURN(auto env_now, runner_->ListEnv());
  if (env_now != pending->env) {
    return UserError("RaceDetected", "Environment variables have changed during push");
  }
  const CodeVersion& v = *pending->version;
  Object row{{"version", Value::String(v.id)},
             {"modules", Value::String(ModulesJson(v.modules))},
             {"analysis", Value::String(v.analysis_json)},
             {"schema", v.schema_json ? Value::String(*v.schema_json) : Value::Null()},
             {"authConfig", v.auth_config_json ? Value::String(*v.auth_config_json) : Value::Null()},
             {"pushedAt", Value::Float64(v.pushed_at_ms)},
             {"externalPackages", v.external_packages_json.empty() ? Value::Null() : Value::String(v.external_packages_json)}};
  double now_ms = absl::ToUnixMillis(absl::Now());
  absl::Status committed = CommitWithRetries(runner_->db(), [&](Transaction& txn) -> absl::Status {
    CVX_RETURN_IF_ERROR(ApplySchemaIn(txn, pending->app->schema()));
    CVX_RETURN_IF_ERROR(SyncCronJobs(txn, v.crons, now_ms));
    ScanRequest rows;
    rows.table = kCodeVersionTable;
    rows.index = "by_id";
    CVX_ASSIGN_OR_RETURN(ScanResult found, txn.Scan(rows));
    for (const Document& d : found.documents) CVX_RETURN_IF_ERROR(txn.Delete(d.id));
    return txn.Insert(kCodeVersionTable, row).status();
  }, "finish the push");
  if (committed.code() == absl::StatusCode::kAborted) {
    return UserError("ConcurrentPush",
                     "Are you running multiple `npx convex dev` processes in the same directory?");
  }
  if (ErrorTag(committed) == "SchemaValidationFailed") {
    return UserError("SchemaValidationFailed", FirstViolation(std::string_view(committed.message().data(), committed.message().size())).first);
  }
  CVX_RETURN_IF_ERROR(committed);
  runner_->SetApp(pending->app);
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = pending->version;
  }
  if (options_.on_switch) options_.on_switch();
  return empty_diff;
}

}  // namespace cvx::js
