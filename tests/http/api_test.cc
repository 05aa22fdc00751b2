// ApiHandler without sockets: routes, formats, admin and acting-as auth, system errors,
// CORS, query_ts/query_at_ts/query_batch, /api/run, HTTP actions.

#include "http/api.h"
#include "tests/http/api_fixture.h"

#include "absl/strings/escaping.h"
#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tools/reference_app/reference_app.h"

namespace cvx {
namespace {

using ::testing::HasSubstr;

class ApiTest : public testing::ReferenceApiTest {
 protected:
  void SetUp() override { Open(); }
  HttpResponse Post(const std::string& target, const std::string& body,
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.headers = std::move(headers);
    return api_->Handle(r);
  }
  Value Json(const HttpResponse& r) {
    auto v = ParseConvexJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? *v : Value();
  }
};

TEST_F(ApiTest, QueryInBothFormats) {
  HttpResponse r = Post("/api/query", R"({"path":"values:echo","args":[{"value":{"$integer":"AQAAAAAAAAA="}}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"success","value":{"$integer":"AQAAAAAAAAA="}})");
  r = Post("/api/query", R"({"path":"values:echo","args":{"value":{"$bytes":"AQI="}},"format":"json"})");
  EXPECT_EQ(r.body, R"({"status":"success","value":"AQI="})");
  r = Post("/api/query", R"({"path":"values:echo","args":[{"value":1}],"format":"yaml"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r).Find("code")->string(), "BadFormat");
}

TEST_F(ApiTest, GetQueryAndRunPath) {
  HttpRequest get;
  get.method = "GET";
  get.target = "/api/query?path=values:echo&args=%7B%22value%22%3A2%7D";
  HttpResponse r = api_->Handle(get);
  EXPECT_EQ(r.body, R"({"status":"success","value":2})");
  r = Post("/api/run/values/echo", R"({"args":{"value":{"$integer":"AgAAAAAAAAA="}}})");
  EXPECT_EQ(r.body, R"({"status":"success","value":"2"})");  // /api/run defaults to json
}

TEST_F(ApiTest, FunctionErrorsAreUdfResponses) {
  HttpResponse r = Post("/api/query", R"({"path":"nope:x","args":[{}]})");
  EXPECT_EQ(r.status, 200);
  Value v = Json(r);
  EXPECT_EQ(v.Find("status")->string(), "error");
  EXPECT_THAT(v.Find("errorMessage")->string(), HasSubstr("] Server Error\nCould not find public function for 'nope:x'"));
  r = Post("/api/mutation", R"({"path":"bank:transfer","args":[{"from":"x","to":"y","amount":{"$integer":"AQAAAAAAAAA="}}]})");
  EXPECT_THAT(Json(r).Find("errorMessage")->string(), HasSubstr("ArgumentValidationError"));
}

TEST_F(ApiTest, SystemErrors) {
  HttpResponse r = Post("/api/query", "{nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r).Find("code")->string(), "InvalidJson");
  r = Post("/api/query", R"({"args":[{}]})");
  EXPECT_EQ(Json(r).Find("code")->string(), "BadConvexFunctionIdentifier");
  r = Post("/api/query", R"({"path":"bad path!","args":[{}]})");
  EXPECT_EQ(r.status, 400);
  r = Post("/api/query", R"({"path":"values:echo","args":[{},{}]})");
  EXPECT_EQ(r.status, 400);
  r = Post("/api/nothing", "{}");
  EXPECT_EQ(r.status, 404);
  HttpRequest put;
  put.method = "PUT";
  put.target = "/api/query";
  EXPECT_EQ(api_->Handle(put).status, 405);
}

TEST_F(ApiTest, AdminKeyActingAsAndInternalFunctions) {
  const std::string body = R"({"path":"jobs:record","args":{"value":1}})";
  EXPECT_EQ(Post("/api/function", body).status, 403);
  EXPECT_EQ(Post("/api/function", body, {{"authorization", "Convex wrong"}}).status, 401);
  EXPECT_EQ(Post("/api/function", body, {{"authorization", "convex secret-key"}}).body,
            R"({"status":"success","value":null})");
  // Public routes keep internal functions hidden from non-admins.
  EXPECT_THAT(Post("/api/mutation", R"({"path":"jobs:record","args":[{"value":1}]})").body,
              HasSubstr("Could not find public function"));
  std::string identity = absl::Base64Escape(R"({"issuer":"https://i","subject":"s1"})");
  HttpResponse r = Post("/api/query", R"({"path":"me:whoami","args":[{}]})",
                        {{"authorization", "Convex secret-key:" + identity}});
  EXPECT_EQ(Json(r).Find("value")->Find("tokenIdentifier")->string(), "https://i|s1");
  r = Post("/api/query", R"({"path":"me:whoami","args":[{}]})",
           {{"authorization", "Convex secret-key:" + absl::Base64Escape("{}")}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Post("/api/query", "{}", {{"authorization", "Bearer abc"}}).status, 401);
  EXPECT_EQ(Json(Post("/api/query", "{}", {{"authorization", "Bearer abc"}})).Find("code")->string(),
            "NoAuthProvider");
  EXPECT_EQ(Post("/api/query", "{}", {{"authorization", "Basic abc"}}).status, 401);
}

TEST_F(ApiTest, TimestampsAndBatches) {
  ASSERT_EQ(Post("/api/mutation", R"({"path":"lists:append","args":[{"key":"k","element":{"$integer":"AQAAAAAAAAA="}}]})").status, 200);
  std::string ts = Json(Post("/api/query_ts", "{}")).Find("ts")->string();
  ASSERT_EQ(Post("/api/mutation", R"({"path":"lists:append","args":[{"key":"k","element":{"$integer":"AgAAAAAAAAA="}}]})").status, 200);
  HttpResponse r = Post("/api/query_at_ts", R"({"path":"lists:read","args":[{"key":"k"}],"ts":")" + ts + "\"}");
  EXPECT_EQ(r.body, R"({"status":"success","value":[{"$integer":"AQAAAAAAAAA="}]})");
  r = Post("/api/query_at_ts", R"({"path":"lists:read","args":[{"key":"k"}],"ts":"bad"})");
  EXPECT_EQ(r.status, 400);
  r = Post("/api/query_batch", R"({"queries":[{"path":"lists:read","args":[{"key":"k"}]},{"path":"nope:x","args":[{}]}]})");
  Value v = Json(r);
  ASSERT_EQ(v.Find("results")->array().size(), 2u);
  EXPECT_EQ(v.Find("results")->array()[0].Find("status")->string(), "success");
  EXPECT_EQ(v.Find("results")->array()[1].Find("status")->string(), "error");
}

TEST_F(ApiTest, CorsAndVersionAndHttpActions) {
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.target = "/api/query";
  pre.headers = {{"origin", "http://app.test"}, {"access-control-request-headers", "content-type,authorization"}};
  HttpResponse r = api_->Handle(pre);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["access-control-allow-origin"], "http://app.test");
  EXPECT_EQ(r.headers["access-control-allow-headers"], "content-type,authorization");
  EXPECT_EQ(r.headers["access-control-allow-credentials"], "true");
  EXPECT_EQ(r.headers["access-control-allow-methods"], "GET,POST,OPTIONS,PATCH,DELETE,PUT");
  EXPECT_EQ(r.headers["access-control-max-age"], "86400");
  HttpRequest version;
  version.method = "GET";
  version.target = "/version";
  EXPECT_EQ(api_->Handle(version).status, 200);
  HttpRequest hello;
  hello.method = "GET";
  hello.target = "/http/hello?x=1";
  EXPECT_EQ(api_->Handle(hello).body, "hello");
  hello.target = "/http/missing";
  EXPECT_EQ(api_->Handle(hello).status, 404);
}

}  // namespace
}  // namespace cvx
