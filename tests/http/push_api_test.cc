// The push endpoints on the wire format (http/push_api.h): admin key, brotli bodies (and
// malformed or oversized ones), Convex's 400 {code, message} with "Hit an error while
// pushing:", methods, and a brotli start_push → finish_push through ApiHandler.

#include "http/push_api.h"

#include <brotli/encode.h>

#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/api_fixture.h"
#include "tests/testing/temp_dir.h"

namespace cvx {
namespace {

using ::testing::HasSubstr;

std::string Brotli(std::string_view text) {
  size_t size = BrotliEncoderMaxCompressedSize(text.size());
  std::string out(size, '\0');
  EXPECT_TRUE(BrotliEncoderCompress(4, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, text.size(),
                                    reinterpret_cast<const uint8_t*>(text.data()), &size,
                                    reinterpret_cast<uint8_t*>(out.data())));
  out.resize(size);
  return out;
}

class PushApiTest : public testing::ReferenceApiTest {
 protected:
  void SetUp() override {
    Open();  // the reference app's runner and schema
    absl::StatusOr<js::NodeRuntime> node = js::NodeRuntime::Find();
    js::PushOptions options;
    options.store_root = dir_.path();
    if (node.ok()) options.node = *node;
    else options.node_error = node.status();
    service_ = std::make_shared<js::PushService>(runner_.get(), &app_, js::NotYetRunnableInvoker(), options);
    ASSERT_OK(service_->Init());
    auto endpoints = std::make_shared<PushEndpoints>();
    endpoints->service = service_;
    endpoints->cloud_url = [] { return std::string("http://127.0.0.1:3210"); };
    endpoints->site_url = [] { return std::string("http://127.0.0.1:3211"); };
    endpoints->max_decompressed_bytes = 1 << 20;
    ApiOptions api_options;
    api_options.push = endpoints;
    api_options.admin_key = "secret-key";
    api_ = std::make_unique<ApiHandler>(runner_.get(), api_options);
  }

  HttpResponse Post(const std::string& path, std::string body, const std::string& encoding = "",
                    const std::string& auth = "Convex secret-key") {
    HttpRequest r;
    r.method = "POST";
    r.target = path;
    r.headers["content-type"] = "application/json";
    if (!encoding.empty()) r.headers["content-encoding"] = encoding;
    if (!auth.empty()) r.headers["authorization"] = auth;
    r.body = std::move(body);
    return api_->Handle(r);
  }

  static Value Json(const HttpResponse& r) {
    absl::StatusOr<Value> v = ParseConvexJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? *v : Value();
  }
  static std::string Code(const HttpResponse& r) {
    Value v = Json(r);
    return v.is_object() && v.Find("code") ? v.Find("code")->string() : "";
  }

  cvx::testing::TempDir dir_;
  std::shared_ptr<js::PushService> service_;
};

TEST_F(PushApiTest, EveryPushRouteNeedsTheAdminKey) {
  for (const char* path : {"/api/get_config_hashes", "/api/deploy2/start_push", "/api/deploy2/finish_push",
                           "/api/deploy2/wait_for_schema", "/api/deploy2/evaluate_push", "/api/v1/get_canonical_urls"}) {
    HttpResponse none = Post(path, "{}", "", "");
    EXPECT_EQ(none.status, 403) << path;
    EXPECT_EQ(Code(none), "Unauthorized");
    HttpResponse forged = Post(path, "{}", "", "Convex not-the-key");
    EXPECT_EQ(forged.status, 401) << path;
    EXPECT_EQ(Code(forged), "BadAdminKey");
    HttpResponse bearer = Post(path, "{}", "", "Bearer a.b.c");
    EXPECT_GE(bearer.status, 400) << path;
  }
}

TEST_F(PushApiTest, MalformedBodiesAre400WithConvexsShape) {
  HttpResponse not_brotli = Post("/api/deploy2/start_push", "definitely not brotli", "br");
  EXPECT_EQ(not_brotli.status, 400);
  EXPECT_EQ(Code(not_brotli), "InvalidBrotli");
  std::string truncated = Brotli(std::string(5000, 'x'));
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(Code(Post("/api/deploy2/start_push", truncated, "br")), "InvalidBrotli");
  // A small body that expands past the limit (a decompression bomb) is refused.
  HttpResponse bomb = Post("/api/deploy2/start_push", Brotli(std::string(4 << 20, ' ')), "br");
  EXPECT_EQ(bomb.status, 400);
  EXPECT_THAT(Json(bomb).Find("message")->string(), HasSubstr("larger than"));
  HttpResponse gzip = Post("/api/deploy2/start_push", "{}", "gzip");
  EXPECT_EQ(Code(gzip), "UnsupportedContentEncoding");
  HttpResponse bad_json = Post("/api/deploy2/start_push", Brotli("{not json"), "br");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Code(bad_json), "BadJsonBody");
  EXPECT_THAT(Json(bad_json).Find("message")->string(), HasSubstr("Hit an error while pushing:\n"));
  HttpResponse no_app = Post("/api/deploy2/start_push", "{}");
  EXPECT_EQ(Code(no_app), "InvalidPush");
  HttpResponse forged = Post("/api/deploy2/finish_push",
                             R"({"startPush":{"componentDefinitionPackages":{"":{"convexlitePushId":"0123"}}}})");
  EXPECT_EQ(forged.status, 400);
  EXPECT_EQ(Code(forged), "PushNotFound");
  EXPECT_EQ(Code(Post("/api/deploy2/wait_for_schema", R"({"schemaChange":{"schemaIds":{"":5}}})")), "PushNotFound");
  HttpRequest get;
  get.method = "GET";
  get.target = "/api/deploy2/start_push";
  get.headers["authorization"] = "Convex secret-key";
  EXPECT_EQ(Code(api_->Handle(get)), "MethodNotAllowed");
}

TEST_F(PushApiTest, CanonicalUrlsAndHashesOfAFreshDeployment) {
  HttpRequest get;
  get.method = "GET";
  get.target = "/api/v1/get_canonical_urls";
  get.headers["authorization"] = "Convex secret-key";
  HttpResponse urls = api_->Handle(get);
  EXPECT_EQ(urls.status, 200);
  EXPECT_EQ(urls.body, R"({"convexCloudUrl":"http://127.0.0.1:3210","convexSiteUrl":"http://127.0.0.1:3211"})");
  HttpResponse hashes = Post("/api/get_config_hashes", R"({"version":"1.48.0","adminKey":"secret-key"})");
  EXPECT_EQ(hashes.status, 200);
  EXPECT_EQ(hashes.body, R"({"config":{"functions":"convex/"},"moduleHashes":[],"udfServerVersion":null,"nodeVersion":null})");
}

TEST_F(PushApiTest, ABrotliPushToTheReferenceAppServesItsFunctionsBesideTheCppOnes) {
  if (!js::NodeRuntime::Find().ok()) GTEST_SKIP() << "no Node";
  std::string module =
      R"(export const n = Object.assign(() => 1, { isQuery: true, isPublic: true, exportArgs: () => '{\"type\":\"any\"}', exportReturns: () => 'null' });)";
  Object m{{"path", Value::String("notes.js")}, {"source", Value::String(module)}, {"environment", Value::String("isolate")}};
  Object app{{"changedModules", Value::FromArray({Value::FromObject(m)})}, {"dependencies", Value::FromArray({})}};
  std::string request = ToConvexJson(Value::FromObject({{"appDefinition", Value::FromObject(app)},
                                                        {"componentDefinitions", Value::FromArray({})}}));
  HttpResponse started = Post("/api/deploy2/start_push", Brotli(request), "br");
  ASSERT_EQ(started.status, 200) << started.body;
  HttpResponse finished = Post("/api/deploy2/finish_push",
                               Brotli(absl::StrCat(R"({"dryRun":false,"startPush":)", started.body, "}")), "br");
  ASSERT_EQ(finished.status, 200) << finished.body;
  EXPECT_NE(runner_->app()->Find("notes:n"), nullptr);
  EXPECT_NE(runner_->app()->Find("messages:send"), nullptr);  // the reference app's own
}

}  // namespace
}  // namespace cvx
