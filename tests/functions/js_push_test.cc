// The push flow (functions/js/push.h) against a real Node analyzer and a real database:
// what start_push answers and leaves untouched, finish_push's atomic switch, the module
// store's hashes and incremental pushes, the errors Convex gives for bad pushes (and that
// the old version keeps serving after each), restarts, and conflicts with a C++ app.
// The modules are hand-written ESM shaped like convex/server registrations; the real CLI
// and real bundles are covered by tests/compat/typescript_push.test.mjs.

#include "functions/js/push.h"

#include <filesystem>

#include "absl/strings/escaping.h"
#include "boost/json.hpp"
#include "functions/auth/crypto.h"
#include "functions/js/external_packages.h"
#include "functions/js/modules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx::js {
namespace {

namespace json = boost::json;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kMessages[] = R"js(
const reg = (kind, vis, args, returns = "null") => Object.assign(async () => null, {
  [kind]: true, [vis]: true, exportArgs: () => args, exportReturns: () => returns });
export const list = reg("isQuery", "isPublic", '{"type":"object","value":{"channel":{"fieldType":{"type":"string"},"optional":false}}}',
                        '{"type":"array","value":{"type":"any"}}');
export const send = reg("isMutation", "isPublic", '{"type":"object","value":{"body":{"fieldType":{"type":"string"},"optional":false}}}');
export const clear = reg("isMutation", "isInternal", '{"type":"any"}');
)js";

constexpr char kSchema[] = R"js(export default { export: () => JSON.stringify({
  tables: [{ tableName: "messages", indexes: [{ indexDescriptor: "by_channel", fields: ["channel"] }],
             searchIndexes: [{ indexDescriptor: "search_body", searchField: "body", filterFields: [] }],
             documentType: { type: "object", value: {
               channel: { fieldType: { type: "string" }, optional: false },
               body: { fieldType: { type: "string" }, optional: false } } } }],
  schemaValidation: true }) };)js";

json::object ModuleJson(const std::string& path, const std::string& source) {
  return json::object{{"path", path}, {"source", source}, {"sourceMap", nullptr}, {"environment", "isolate"}};
}

// A StartPushRequest as the CLI sends it.
std::string PushRequest(const std::vector<std::pair<std::string, std::string>>& changed,
                        const std::optional<std::string>& schema = kSchema,
                        const std::vector<ModuleRef>& unchanged = {}) {
  json::array modules, hashes;
  for (const auto& [path, source] : changed) modules.push_back(ModuleJson(path, source));
  for (const ModuleRef& m : unchanged) {
    hashes.push_back(json::object{{"path", m.path}, {"environment", m.environment}, {"sha256", m.hash}});
  }
  json::object app{{"definition", ModuleJson("convex.config.js", "export default {};")},
                   {"dependencies", json::array()},
                   {"changedModules", modules},
                   {"unchangedModuleHashes", hashes},
                   {"udfServerVersion", "1.48.0"}};
  if (schema) app["schema"] = ModuleJson("schema.js", *schema);
  return json::serialize(json::object{{"adminKey", "k"}, {"dryRun", false}, {"functions", "convex/"},
                                      {"appDefinition", app}, {"componentDefinitions", json::array()},
                                      {"nodeDependencies", json::array()}});
}

json::object Parse(const std::string& text) { return json::parse(text).as_object(); }

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<NodeRuntime> node = NodeRuntime::Find();
    if (!node.ok()) GTEST_SKIP() << node.status();
    node_ = *node;
    db_ = OpenTestDb();
    runner_ = std::make_unique<Runner>(&base_, db_.get());
    service_ = MakeService();
  }

  std::shared_ptr<PushService> MakeService() {
    PushOptions options;
    options.store_root = dir_.path();
    options.node = node_;
    options.environment = [this] {
      std::map<std::string, std::string> env = runner_->ListEnv().value_or(std::map<std::string, std::string>{});
      env["CONVEX_SITE_URL"] = "http://127.0.0.1:3211";
      return env;
    };
    options.on_switch = [this] { ++switches_; };
    auto service = std::make_shared<PushService>(runner_.get(), &base_, NotYetRunnableInvoker(), std::move(options));
    EXPECT_OK(service->Init());
    return service;
  }

  // start_push, wait_for_schema, finish_push, as `npx convex deploy` does.
  absl::Status Deploy(const std::string& request) {
    absl::StatusOr<std::string> started = service_->StartPush(request);
    if (!started.ok()) return started.status();
    json::object response = Parse(*started);
    absl::StatusOr<std::string> waited = service_->WaitForSchema(json::serialize(
        json::object{{"schemaChange", response["schemaChange"]}, {"timeoutMs", 10000}, {"dryRun", false}}));
    if (!waited.ok()) return waited.status();
    if (Parse(*waited)["type"] != "complete") return absl::FailedPreconditionError(*waited);
    return service_->FinishPush(json::serialize(json::object{{"startPush", response}, {"dryRun", false}})).status();
  }

  std::vector<std::string> Hashes() {
    std::vector<std::string> out;
    json::object hashes = Parse(*service_->ConfigHashes());
    for (const json::value& m : hashes["moduleHashes"].as_array()) {
      out.push_back(std::string(m.at("path").as_string()) + "=" + std::string(m.at("hash").as_string()));
    }
    return out;
  }

  cvx::testing::TempDir dir_;
  std::optional<NodeRuntime> node_;
  App base_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Runner> runner_;
  std::shared_ptr<PushService> service_;
  int switches_ = 0;
};

TEST_F(PushTest, StartPushAnswersTheAnalysisAndCommitsNothing) {
  ASSERT_OK_AND_ASSIGN(std::string text, service_->StartPush(PushRequest({{"messages.js", kMessages}})));
  json::object response = Parse(text);
  const json::object& analysis = response["analysis"].as_object().at("").as_object();
  const json::array& fns = analysis.at("functions").as_object().at("messages.js").as_object().at("functions").as_array();
  ASSERT_EQ(fns.size(), 3u);
  EXPECT_EQ(analysis.at("schema").as_object().at("tables").as_array().size(), 1u);
  EXPECT_EQ(analysis.at("definition").as_object().at("childComponents").as_array().size(), 0u);
  const json::array& added = response["schemaChange"].as_object().at("indexDiffs").as_object().at("").as_object()
                                 .at("added_indexes").as_array();
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0].as_object().at("name"), "messages.by_channel");
  // The search index is listed (the CLI prints it) though convexlite does not serve it.
  EXPECT_EQ(added[1].as_object().at("name"), "messages.search_body");
  EXPECT_EQ(added[1].as_object().at("type"), "search");
  EXPECT_EQ(added[1].as_object().at("searchField"), "body");
  EXPECT_TRUE(response.contains("environmentVariables") && response.contains("externalDepsId") &&
              response.contains("appAuth") && response.contains("app"));
  // Nothing is served or persisted until finish_push (what `npx convex codegen` relies on).
  EXPECT_TRUE(Hashes().empty());
  EXPECT_EQ(runner_->app()->Find("messages:list"), nullptr);
  EXPECT_EQ(switches_, 0);
}

TEST_F(PushTest, FinishPushSwitchesFunctionsSchemaAndIndexesTogether) {
  ASSERT_OK(Deploy(PushRequest({{"messages.js", kMessages}})));
  std::shared_ptr<const App> app = runner_->app();
  const RegisteredFunction* list = app->Find("messages:list");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->type, FunctionType::kQuery);
  ASSERT_TRUE(list->returns.has_value());
  EXPECT_EQ(app->Find("messages:clear")->visibility, Visibility::kInternal);
  ASSERT_NE(app->schema().Find("messages"), nullptr);
  EXPECT_EQ(app->schema().Find("messages")->unserved_indexes().size(), 1u);
  EXPECT_EQ(switches_, 1);
  EXPECT_THAT(Hashes(), ::testing::ElementsAre(::testing::StartsWith("messages.js=")));
  // The index exists in the engine, and the schema is enforced on writes.
  auto txn = db_->Begin();
  EXPECT_OK(txn->IndexFields("messages", "by_channel"));
  // Argument validation uses the pushed validator (the call itself is the next slice's).
  ASSERT_OK_AND_ASSIGN(FunctionResult r, runner_->Run("messages:send", Value::FromObject({})));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error->message, HasSubstr("ArgumentValidationError: Object is missing the required field `body`"));
}

TEST_F(PushTest, IncrementalPushesReuseStoredSourcesAndRefuseUnknownOnes) {
  ASSERT_OK(Deploy(PushRequest({{"messages.js", kMessages}})));
  std::shared_ptr<const CodeVersion> first = service_->active();
  ModuleRef messages = first->modules[0];
  ASSERT_EQ(messages.path, "messages.js");
  EXPECT_EQ(messages.hash, absl::BytesToHexString(auth::Sha256(kMessages)));  // sha256(source ‖ map)
  constexpr char kNotes[] = "export const n = Object.assign(() => 1, { isQuery: true, isPublic: true });";
  ASSERT_OK(Deploy(PushRequest({{"notes.js", kNotes}}, kSchema, {messages})));
  EXPECT_NE(runner_->app()->Find("notes:n"), nullptr);
  EXPECT_NE(runner_->app()->Find("messages:list"), nullptr);
  ModuleRef forged{"ghost.js", std::string(64, 'a'), "isolate"};
  EXPECT_THAT(service_->StartPush(PushRequest({}, kSchema, {forged})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "MissingExistingModule"));
  ModuleRef wrong_env = messages;
  wrong_env.environment = "node";
  EXPECT_THAT(service_->StartPush(PushRequest({}, kSchema, {wrong_env})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "ExistingModuleEnvConflict"));
}

TEST_F(PushTest, BadPushesFailWithConvexCodesAndKeepTheOldVersion) {
  ASSERT_OK(Deploy(PushRequest({{"messages.js", kMessages}})));
  std::vector<std::string> before = Hashes();
  std::shared_ptr<const App> app_before = runner_->app();
  struct Case {
    std::string request;
    std::string tag;
    std::string text;
  } cases[] = {
      {PushRequest({{"messages.js", kMessages}, {"bad.js", "throw new Error('boom');"}}), "InvalidModules",
       "Failed to analyze bad.js: Uncaught Error: boom"},
      {PushRequest({{"messages.js", kMessages}}, "export default { export: () => '{\"tables\": 5}' };"),
       "InvalidSchema", "expected {\"tables\": [...]}"},
      {PushRequest({{"messages.js", kMessages},
                    {"auth.config.js", "export default { providers: [{ domain: process.env.NOPE, applicationID: 'x' }] };"}}),
       "AuthConfigMissingEnvironmentVariable", "Environment variable NOPE is used in auth config file"},
      {PushRequest({{"messages.js", kMessages},
                    {"crons.js", "export default { isCrons: true, export: () => JSON.stringify({ t: { name: "
                                 "'messages:list', args: [{}], schedule: { type: 'interval', minutes: 1 } } }) };"}}),
       "InvalidModules", "The cron job 't' schedules a query function"},
      {PushRequest({{"../escape.js", "export {}"}}), "InvalidModulePath", "bad path segment"},
      {"{not json", "BadJsonBody", "not a JSON object"},
  };
  for (const Case& c : cases) {
    absl::Status s = Deploy(c.request);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, c.tag)) << c.tag;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.text));
    EXPECT_EQ(Hashes(), before);
    EXPECT_EQ(runner_->app(), app_before);
  }
  // Components are refused whole.
  json::object with_component = Parse(PushRequest({{"messages.js", kMessages}}));
  with_component["componentDefinitions"] = json::array{json::object{{"definitionPath", "../c"}}};
  EXPECT_THAT(service_->StartPush(json::serialize(with_component)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "ComponentsNotSupported"));
  // A forged push id finishes nothing.
  EXPECT_THAT(service_->FinishPush(R"({"startPush":{"componentDefinitionPackages":{"":{"convexlitePushId":"ab"}}}})").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "PushNotFound"));
  EXPECT_EQ(runner_->app(), app_before);
}

TEST_F(PushTest, DocumentsThatViolateTheNewSchemaFailWaitForSchemaAndFinish) {
  ASSERT_OK(Deploy(PushRequest({{"messages.js", kMessages}})));
  auto txn = db_->Begin();
  ASSERT_OK(txn->Insert("messages", {{"channel", Value::String("c")}, {"body", Value::String("b")}}).status());
  ASSERT_OK(txn->Commit());
  std::string strict = std::string(kSchema);
  const std::string from = "body: { fieldType: { type: \"string\" }";
  strict.replace(strict.find(from), from.size(), "body: { fieldType: { type: \"number\" }");
  ASSERT_OK_AND_ASSIGN(std::string started, service_->StartPush(PushRequest({{"messages.js", kMessages}}, strict)));
  json::object response = Parse(started);
  ASSERT_OK_AND_ASSIGN(std::string waited, service_->WaitForSchema(json::serialize(
      json::object{{"schemaChange", response["schemaChange"]}})));
  json::object status = Parse(waited);
  EXPECT_EQ(status["type"], "failed");
  EXPECT_EQ(status["tableName"], "messages");
  EXPECT_THAT(std::string(status["error"].as_string()), HasSubstr("in table \"messages\" does not match the schema"));
  std::shared_ptr<const App> before = runner_->app();
  EXPECT_THAT(service_->FinishPush(json::serialize(json::object{{"startPush", response}})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "SchemaValidationFailed"));
  EXPECT_EQ(runner_->app(), before);
}

TEST_F(PushTest, EnvironmentChangesBetweenStartAndFinishAreARace) {
  ASSERT_OK_AND_ASSIGN(std::string started, service_->StartPush(PushRequest({{"messages.js", kMessages}})));
  ASSERT_OK(runner_->SetEnv("NEW", "1"));
  EXPECT_THAT(service_->FinishPush(json::serialize(json::object{{"startPush", Parse(started)}})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "RaceDetected"));
  EXPECT_TRUE(Hashes().empty());
}

TEST_F(PushTest, ARestartServesThePushedVersionWithoutRunningNode) {
  ASSERT_OK(Deploy(PushRequest({{"messages.js", kMessages}})));
  std::vector<std::string> before = Hashes();
  runner_ = std::make_unique<Runner>(&base_, db_.get());
  PushOptions options;
  options.store_root = dir_.path();  // no Node: the stored analysis is compiled
  PushService restarted(runner_.get(), &base_, NotYetRunnableInvoker(), std::move(options));
  ASSERT_OK(restarted.Init());
  EXPECT_NE(runner_->app()->Find("messages:send"), nullptr);
  ASSERT_NE(runner_->app()->schema().Find("messages"), nullptr);
  ASSERT_OK_AND_ASSIGN(std::string hashes, restarted.ConfigHashes());
  EXPECT_EQ(Parse(hashes)["moduleHashes"].as_array().size(), before.size());
}

TEST_F(PushTest, APushedFunctionOrTableTheCppAppHasIsAPathConflict) {
  base_.Query("messages:list", std::nullopt, [](QueryCtx&, const Object&) -> absl::StatusOr<Value> { return Value(); });
  absl::Status s = Deploy(PushRequest({{"messages.js", kMessages}}));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "PathConflict"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("messages.js:list"));
  App with_table;
  with_table.SetSchema(DefineSchema().Table("messages", DefineTable({{"x", v::String()}})));
  base_ = with_table;
  s = Deploy(PushRequest({{"notes.js", "export {}"}}));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "PathConflict"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("table \"messages\""));
}

TEST(ExternalPackagesTest, BadNamesAndFailedInstallsAreInvalidExternalModules) {
  absl::StatusOr<NodeRuntime> node = NodeRuntime::Find();
  if (!node.ok()) GTEST_SKIP() << node.status();
  cvx::testing::TempDir dir;
  EXPECT_THAT(InstallExternalPackages(*node, dir.path(), {{"../escape", "1.0.0"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidExternalModules"));
  for (const char* spec : {"file:../../etc", "git+https://example.com/x.git", "https://example.com/x.tgz", "../x", ""}) {
    EXPECT_THAT(InstallExternalPackages(*node, dir.path(), {{"is-number", spec}}).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, "InvalidExternalModules")) << spec;
  }
  // No such package (or no registry at all): npm fails, and the push with it.
  absl::Status s = InstallExternalPackages(*node, dir.path(), {{"convexlite-no-such-package-0x7f3e9a", "1.0.0"}},
                                           absl::Seconds(120)).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "InvalidExternalModules"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("npm install exited with status"));
  EXPECT_EQ(ExternalDepsId({{"a", "1"}, {"b", "2"}}), ExternalDepsId({{"b", "2"}, {"a", "1"}}));
  EXPECT_EQ(ExternalDepsId({}), "");
}

TEST(ModuleStoreTest, PathsAreCheckedAndVersionsAreContentAddressed) {
  for (const char* bad : {"", "a", "a.ts", "../a.js", "a/../b.js", "/abs.js", "a//b.js", "./a.js", "a b.js"}) {
    EXPECT_THAT(CheckModulePath(bad), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidModulePath")) << bad;
  }
  EXPECT_OK(CheckModulePath("_deps/node/ABC-12.js"));
  ModuleRef a{"a.js", "1", "isolate"}, b{"b.js", "2", "node"};
  EXPECT_EQ(VersionId({a, b}), VersionId({b, a}));
  EXPECT_NE(VersionId({a, b}), VersionId({a}));
  cvx::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(ModuleStore store, ModuleStore::Open(dir.path()));
  Module m{"lib/util.js", "export const x = 1;", std::string("{\"version\":3}"), "isolate"};
  ASSERT_OK_AND_ASSIGN(ModuleRef ref, store.Put(m));
  EXPECT_EQ(ref.hash, absl::BytesToHexString(auth::Sha256(m.source + *m.source_map)));
  ASSERT_OK_AND_ASSIGN(Module back, store.Get(ref));
  EXPECT_EQ(back.source, m.source);
  EXPECT_EQ(back.source_map, m.source_map);
  ASSERT_OK_AND_ASSIGN(std::string version_dir, store.Materialize({ref}));
  EXPECT_TRUE(std::filesystem::exists(version_dir + "/lib/util.js"));
  EXPECT_TRUE(std::filesystem::exists(version_dir + "/lib/util.js.map"));
  EXPECT_FALSE(store.Has("../../etc/passwd"));
  EXPECT_THAT(store.Get(ModuleRef{"x.js", std::string(64, 'f'), "isolate"}).status(),
              StatusIs(absl::StatusCode::kNotFound, "MissingExistingModule"));
}

}  // namespace
}  // namespace cvx::js
