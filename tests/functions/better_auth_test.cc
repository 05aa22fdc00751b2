// Better Auth over the runtime's HTTP actions (functions/auth/better_auth.h), on the
// reference app with its seed triggers, against the wire facts recorded from
// better-auth@1.4.7 (docs/design/better-auth-transcripts.md): statuses, {code, message}
// bodies, exact Set-Cookie strings, the origin check, bearer tokens, sliding refresh on a
// fake clock, rate limits, one transaction per request (a failing trigger leaves nothing),
// the Convex plugin's JWTs (verified by JwtVerifier; forged ones rejected) and the internal
// auth:* API.

#include "functions/auth/better_auth.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/value/json.h"
#include "functions/auth/crypto.h"
#include "functions/auth/jwt.h"
#include "functions/harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/reference_app/reference_app.h"

namespace cvx::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kSite[] = "http://127.0.0.1:3211";
constexpr char kSecret[] = "better-auth-secret-123456789012345678901234567890";

TestBackendOptions Options() {
  TestBackendOptions o;
  o.runner.builtin_env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "CONVEX_SITE_URL") return std::string(kSite);
    if (name == "BETTER_AUTH_SECRET") return std::string(kSecret);
    if (name == "CONVEXLITE_FAST_PASSWORD_HASH") return std::string("1");
    return std::nullopt;
  };
  return o;
}

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::vector<std::string> cookies;
  std::string body;
  Value json;
  std::string Cookie(const std::string& name) const {  // "name=value" of a Set-Cookie
    for (const std::string& c : cookies) {
      if (absl::StartsWith(c, "better-auth." + name + "=")) return c.substr(0, c.find(';'));
    }
    return "";
  }
};

class BetterAuthTest : public ::testing::Test {
 protected:
  BetterAuthTest() {
    RegisterReferenceApp(app_);
    backend_ = std::make_unique<TestBackend>(app_, Options());
  }

  Reply Call(std::string method, std::string path, std::string body = "",
             std::map<std::string, std::string> headers = {}) {
    HttpActionRequest req;
    req.method = std::move(method);
    req.url = path;
    req.path = path.substr(0, path.find('?'));
    req.body = std::move(body);
    if (auto peer = headers.find(":peer"); peer != headers.end()) {  // the socket's address
      req.remote_addr = peer->second;
      headers.erase(peer);
    }
    if (!req.body.empty() && !headers.count("content-type")) headers["content-type"] = "application/json";
    req.headers = std::move(headers);
    HttpActionResponse r = backend_->runner().RunHttpAction(req, std::nullopt);
    Reply out{r.status, r.headers, r.set_cookies, r.body, Value()};
    if (absl::StatusOr<Value> v = ParseConvexJson(r.body); v.ok()) out.json = *v;
    return out;
  }
  Reply Post(std::string path, std::string body, std::map<std::string, std::string> headers = {}) {
    return Call("POST", "/api/auth" + path, std::move(body), std::move(headers));
  }
  Reply Get(std::string path, std::map<std::string, std::string> headers = {}) {
    return Call("GET", "/api/auth" + path, "", std::move(headers));
  }
  // Cookie + Origin headers for a session cookie, as a browser would send them.
  static std::map<std::string, std::string> With(const std::string& cookie) {
    return {{"cookie", cookie}, {"origin", kSite}};
  }
  Reply SignUp(std::string email, std::string name = "Ada", std::string password = "password123") {
    return Post("/sign-up/email", absl::StrCat(R"({"name":")", name, R"(","email":")", email,
                                               R"(","password":")", password, R"("})"));
  }
  int64_t Count(const std::string& table) {
    absl::StatusOr<Value> rows = backend_->Query("auth:findMany", {{"model", Value::String(table)}});
    EXPECT_OK(rows);
    return rows.ok() ? static_cast<int64_t>(rows->Find("page")->array().size()) : -1;
  }
  std::optional<Value> FindOne(const std::string& model, const std::string& field, Value value) {
    absl::StatusOr<Value> doc = backend_->Query(
        "auth:findOne",
        {{"model", Value::String(model)},
         {"where", Value::FromArray({Value::FromObject({{"field", Value::String(field)},
                                                        {"value", std::move(value)}})})}});
    EXPECT_OK(doc);
    if (!doc.ok() || doc->is_null()) return std::nullopt;
    return *doc;
  }

  App app_;
  std::unique_ptr<TestBackend> backend_;
};

TEST_F(BetterAuthTest, SignUpCommitsUserAccountSessionAndTriggerWritesTogether) {
  Reply r = SignUp("Ada@Example.com");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  // Fields in Better Auth's order, dates as ms, the beforeCreate trigger's username.
  EXPECT_THAT(r.body, MatchesRegex(R"(\{"token":"[A-Za-z0-9]{32}","user":\{"name":"Ada",)"
                                   R"("email":"ada@example.com","emailVerified":false,)"
                                   R"("createdAt":1767225600000,"updatedAt":1767225600000,)"
                                   R"("role":"user","banned":false,"username":"ada","id":"[a-z0-9]+"\}\})"));
  // onCreate's patch is not in the response (read before onCreate)...
  EXPECT_EQ(r.json.Find("user")->Find("personalOrganizationId"), nullptr);
  std::string token = r.json.Find("token")->string();
  std::string user_id = r.json.Find("user")->Find("id")->string();

  // ...but it committed with everything else.
  ASSERT_EQ(r.cookies.size(), 2u);
  EXPECT_THAT(r.cookies[0], MatchesRegex("better-auth\\.session_token=" + token +
                                         "\\.[A-Za-z0-9%]+; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"));
  EXPECT_THAT(r.cookies[1], MatchesRegex("better-auth\\.convex_jwt=[A-Za-z0-9_.-]+; Max-Age=900; Path=/; "
                                         "HttpOnly; SameSite=Lax"));
  std::string signed_value = r.Cookie("session_token").substr(strlen("better-auth.session_token="));
  std::string decoded = absl::StrReplaceAll(signed_value, {{"%2B", "+"}, {"%2F", "/"}, {"%3D", "="}});
  EXPECT_EQ(VerifySignedCookie(decoded, kSecret), token);
  EXPECT_EQ(r.headers["set-auth-token"], signed_value);

  std::optional<Value> user = FindOne("user", "email", Value::String("ada@example.com"));
  ASSERT_TRUE(user);
  std::optional<Value> org = FindOne("organization", "slug", Value::String("personal-" + user_id));
  ASSERT_TRUE(org);
  EXPECT_EQ(*org->Find("name"), Value::String("Ada's Workspace"));
  EXPECT_EQ(*user->Find("personalOrganizationId"), *org->Find("_id"));
  std::optional<Value> member = FindOne("member", "userId", Value::String(user_id));
  ASSERT_TRUE(member);
  EXPECT_EQ(*member->Find("role"), Value::String("owner"));
  std::optional<Value> session = FindOne("session", "token", Value::String(token));
  ASSERT_TRUE(session);
  EXPECT_EQ(*session->Find("activeOrganizationId"), *org->Find("_id"));  // session.onCreate
  EXPECT_EQ(*session->Find("expiresAt"), Value::Float64(1767225600000.0 + 7 * 86400000.0));
  std::optional<Value> account = FindOne("account", "userId", Value::String(user_id));
  ASSERT_TRUE(account);
  EXPECT_EQ(*account->Find("providerId"), Value::String("credential"));
  EXPECT_EQ(*account->Find("accountId"), Value::String(user_id));
  EXPECT_TRUE(VerifyPassword(account->Find("password")->string(), "password123", true));
}

TEST_F(BetterAuthTest, SignUpErrorsMatchBetterAuth) {
  ASSERT_EQ(SignUp("ada@example.com").status, 200);
  struct Case {
    std::string body, content_type;
    int status;
    std::string response;
  };
  std::vector<Case> cases = {
      {R"({"name":"A","email":"ADA@example.com","password":"password123"})", "", 422,
       R"({"code":"USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL","message":"User already exists. Use another email."})"},
      {R"({"name":"B","email":"b@example.com","password":"short"})", "", 400,
       R"({"code":"PASSWORD_TOO_SHORT","message":"Password too short"})"},
      {absl::StrCat(R"({"name":"B","email":"b@example.com","password":")", std::string(129, 'x'), R"("})"),
       "", 400, R"({"code":"PASSWORD_TOO_LONG","message":"Password too long"})"},
      {R"({"name":"B","email":"not-an-email","password":"password123"})", "", 400,
       R"({"code":"VALIDATION_ERROR","message":"[body.email] Invalid email address"})"},
      {R"({"email":"b@example.com","password":"password123"})", "", 400,
       R"({"code":"VALIDATION_ERROR","message":"[body.name] Invalid input: expected string, received undefined"})"},
      {R"({"name":"","email":"b@example.com","password":"password123"})", "", 400,
       R"({"code":"VALIDATION_ERROR","message":"[body.name] Too small: expected string to have >=1 characters"})"},
      {R"({"name":"B","email":"b@example.com","password":"password123","image":null})", "", 400,
       R"({"code":"VALIDATION_ERROR","message":"[body.image] Invalid input: expected string, received null"})"},
      {R"({"name":"B","email":"b@example.com","password":"password123","role":"admin"})", "", 400,
       R"({"code":"ROLE_IS_NOT_ALLOWED_TO_BE_SET","message":"role is not allowed to be set"})"},
      {R"({"name":"B","email":"b@example.com","password":"password123"})", "text/plain", 415,
       R"({"code":"UNSUPPORTED_MEDIA_TYPE","message":"Content-Type \"text/plain\" is not allowed. Allowed types: application/json"})"},
      {R"({"name":"B","email":"b@example.com","password":"password123","callbackURL":"http://evil.com/x"})",
       "", 403, R"({"code":"INVALID_CALLBACKURL","message":"Invalid callbackURL"})"},
      {"{not json", "", 500, ""},
  };
  for (const Case& c : cases) {
    std::map<std::string, std::string> headers;
    if (!c.content_type.empty()) headers["content-type"] = c.content_type;
    Reply r = Post("/sign-up/email", c.body, headers);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_EQ(r.body, c.response) << c.body;
    EXPECT_TRUE(r.cookies.empty()) << c.body;
  }
  // No content type at all with a body.
  HttpActionRequest raw;
  raw.method = "POST";
  raw.url = raw.path = "/api/auth/sign-up/email";
  raw.body = "{}";
  HttpActionResponse r = backend_->runner().RunHttpAction(raw, std::nullopt);
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body, R"({"code":"UNSUPPORTED_MEDIA_TYPE","message":"Content-Type is required. Allowed types: application/json"})");
  // input:false core fields are ignored, unknown ones dropped.
  Reply ok = Post("/sign-up/email",
                  R"({"name":"C","email":"c@example.com","password":"password123","emailVerified":true,"foo":1})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(*ok.json.Find("user")->Find("emailVerified"), Value::Boolean(false));
  EXPECT_EQ(ok.json.Find("user")->Find("foo"), nullptr);
  EXPECT_EQ(Count("user"), 2);
  EXPECT_EQ(Count("organization"), 2);
}

TEST_F(BetterAuthTest, RoutingAndEmptyBodies) {
  Reply ok = Get("/ok");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"ok":true})");
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/auth/nonexistent"}, {"GET", "/api/auth/sign-in/email"},
           {"POST", "/api/auth/sign-in/email/"}, {"GET", "/api/auth/get-session/"},
           {"HEAD", "/api/auth/ok"}, {"POST", "/api/auth/ok"}}) {
    Reply r = Call(method, path, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(r.body, "") << path;
    EXPECT_TRUE(r.headers.empty()) << path;
  }
  Reply redirect = Call("GET", "/.well-known/openid-configuration");
  EXPECT_EQ(redirect.status, 302);
  EXPECT_EQ(redirect.headers["location"],
            absl::StrCat(kSite, "/api/auth/convex/.well-known/openid-configuration"));
  Reply openid = Get("/convex/.well-known/openid-configuration");
  EXPECT_EQ(openid.body, absl::StrCat(R"({"issuer":")", kSite, R"(","jwks_uri":")", kSite,
                                      R"(/api/auth/convex/jwks"})"));
  Reply del = Post("/delete-user", "{}");
  EXPECT_EQ(del.status, 404);
  EXPECT_EQ(del.body, "");
  EXPECT_EQ(del.headers["content-type"], "application/json");
}

TEST_F(BetterAuthTest, SignInOutcomes) {
  ASSERT_EQ(SignUp("ada@example.com").status, 200);
  Reply ok = Post("/sign-in/email", R"({"email":"Ada@Example.com","password":"password123"})");
  ASSERT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, StartsWith(R"({"redirect":false,"token":")"));
  EXPECT_EQ(ok.json.Find("url"), nullptr);
  const std::string invalid = R"({"code":"INVALID_EMAIL_OR_PASSWORD","message":"Invalid email or password"})";
  for (const char* body : {R"({"email":"ada@example.com","password":"wrongpassword"})",
                           R"({"email":"nobody@example.com","password":"password123"})",
                           R"({"email":"ada@example.com","password":"x"})"}) {
    Reply r = Post("/sign-in/email", body);
    EXPECT_EQ(r.status, 401) << body;
    EXPECT_EQ(r.body, invalid) << body;
  }
  Reply bad = Post("/sign-in/email", R"({"email":"not-an-email","password":"password123"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"code":"INVALID_EMAIL","message":"Invalid email"})");
  for (const char* email : {".a@example.com", "a..b@example.com", "a.@example.com", "a@b.c",
                            "a@-b.com", "a@b..com", "a b@example.com", "@example.com", "a@example.c0m"}) {
    EXPECT_EQ(Post("/sign-in/email", absl::StrCat(R"({"email":")", email, R"(","password":"x"})")).status, 400)
        << email;
  }
  for (const char* email : {"a+tag@example.co", "o'neil@sub.example.com", "x_y-z@a-b.io"}) {
    EXPECT_EQ(Post("/sign-in/email", absl::StrCat(R"({"email":")", email, R"(","password":"x"})")).status, 401)
        << email;
  }
  Reply missing = Post("/sign-in/email", R"({"email":"ada@example.com"})");
  EXPECT_EQ(missing.body,
            R"({"code":"VALIDATION_ERROR","message":"[body.password] Invalid input: expected string, received undefined"})");

  Reply forget = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123","rememberMe":false})");
  ASSERT_EQ(forget.status, 200);
  ASSERT_GE(forget.cookies.size(), 2u);
  EXPECT_THAT(forget.cookies[0], MatchesRegex("better-auth\\.session_token=[^;]+; Path=/; HttpOnly; SameSite=Lax"));
  EXPECT_EQ(forget.cookies[1],
            absl::StrCat("better-auth.dont_remember=true.",
                         absl::StrReplaceAll(Base64Encode(HmacSha256(kSecret, "true")),
                                             {{"+", "%2B"}, {"/", "%2F"}, {"=", "%3D"}}),
                         "; Path=/; HttpOnly; SameSite=Lax"));
  std::optional<Value> session = FindOne("session", "token", *forget.json.Find("token"));
  ASSERT_TRUE(session);
  EXPECT_EQ(*session->Find("expiresAt"), Value::Float64(1767225600000.0 + 86400000.0));

  Reply callback = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123","callbackURL":"/dashboard"})");
  EXPECT_THAT(callback.body, HasSubstr(R"("redirect":true,"token":")"));
  EXPECT_EQ(*callback.json.Find("url"), Value::String("/dashboard"));
  // A cookie-carrying sign-in without Origin is refused before anything runs.
  Reply no_origin = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})",
                         {{"cookie", ok.Cookie("session_token")}});
  EXPECT_EQ(no_origin.status, 403);
  EXPECT_EQ(no_origin.body, R"({"code":"MISSING_OR_NULL_ORIGIN","message":"Missing or null Origin"})");
}

TEST_F(BetterAuthTest, GetSessionCookiesBearerAndSlidingRefresh) {
  Reply up = SignUp("ada@example.com");
  std::string cookie = up.Cookie("session_token");
  std::string token = up.json.Find("token")->string();

  Reply none = Get("/get-session");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "null");
  EXPECT_TRUE(none.cookies.empty());

  Reply s = Get("/get-session", {{"cookie", cookie}});
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(*s.json.Find("session")->Find("token"), Value::String(token));
  EXPECT_THAT(s.body, HasSubstr(R"("ipAddress":"","userAgent":"")"));
  EXPECT_EQ(*s.json.Find("user")->Find("email"), Value::String("ada@example.com"));
  ASSERT_EQ(s.cookies.size(), 1u);  // only the Convex JWT: no refresh yet
  EXPECT_THAT(s.cookies[0], StartsWith("better-auth.convex_jwt="));

  // Tampered cookies are ignored (no clearing); raw and signed bearer tokens work.
  std::string tampered = cookie;
  tampered[tampered.find('=') + 1] ^= 1;
  EXPECT_EQ(Get("/get-session", {{"cookie", tampered}}).body, "null");
  EXPECT_EQ(Get("/get-session", {{"cookie", "better-auth.session_token=" + token}}).body, "null");
  EXPECT_EQ(*Get("/get-session", {{"authorization", "Bearer " + token}}).json.Find("session")->Find("token"),
            Value::String(token));
  EXPECT_EQ(*Get("/get-session", {{"authorization", "Bearer " + up.headers["set-auth-token"]}})
                 .json.Find("user")->Find("email"),
            Value::String("ada@example.com"));
  Reply garbage = Get("/get-session", {{"authorization", "Bearer garbage"}});
  EXPECT_EQ(garbage.body, "null");
  EXPECT_THAT(garbage.cookies,
              ElementsAre("better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                          "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                          "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                          "better-auth.convex_jwt=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"));

  // After a day (updateAge), get-session slides the expiry and re-sets the cookie.
  ASSERT_OK(backend_->AdvanceTime(absl::Hours(25)));
  Reply refreshed = Get("/get-session", {{"cookie", cookie}});
  double now = 1767225600000.0 + 25 * 3600000.0;
  EXPECT_EQ(*refreshed.json.Find("session")->Find("expiresAt"), Value::Float64(now + 7 * 86400000.0));
  EXPECT_EQ(*refreshed.json.Find("session")->Find("updatedAt"), Value::Float64(now));
  EXPECT_EQ(refreshed.Cookie("session_token"), cookie);
  Reply again = Get("/get-session?disableRefresh=true", {{"cookie", cookie}});
  EXPECT_EQ(again.Cookie("session_token"), "");

  // Past expiry: null, cookies cleared, the row deleted.
  ASSERT_OK(backend_->AdvanceTime(absl::Hours(24 * 8)));
  Reply expired = Get("/get-session", {{"cookie", cookie}});
  EXPECT_EQ(expired.body, "null");
  EXPECT_EQ(expired.cookies.size(), 4u);
  EXPECT_FALSE(FindOne("session", "token", Value::String(token)));
}

TEST_F(BetterAuthTest, OriginCheckOnCookieCarryingPosts) {
  std::string cookie = SignUp("ada@example.com").Cookie("session_token");
  auto sign_out = [&](std::map<std::string, std::string> headers) {
    return Post("/sign-out", "{}", std::move(headers));
  };
  EXPECT_EQ(sign_out({{"cookie", cookie}}).body,
            R"({"code":"MISSING_OR_NULL_ORIGIN","message":"Missing or null Origin"})");
  EXPECT_EQ(sign_out({{"cookie", cookie}, {"origin", "null"}}).status, 403);
  EXPECT_EQ(sign_out({{"cookie", cookie}, {"origin", "http://evil.example"}}).body,
            R"({"code":"INVALID_ORIGIN","message":"Invalid origin"})");
  EXPECT_EQ(sign_out({{"cookie", cookie}, {"origin", "http://127.0.0.1:3212"}}).status, 403);
  EXPECT_EQ(Count("session"), 1);  // refused requests changed nothing
  Reply ok = sign_out({{"cookie", cookie}, {"referer", std::string(kSite) + "/app/page"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"success":true})");
  EXPECT_EQ(Count("session"), 0);
  // Bearer-only requests skip the check.
  Reply up = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})");
  EXPECT_EQ(sign_out({{"authorization", "Bearer " + up.json.Find("token")->string()}}).status, 200);
  EXPECT_EQ(Count("session"), 0);
}

TEST_F(BetterAuthTest, SessionManagement) {
  Reply a = SignUp("ada@example.com");
  Reply b = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})");
  Reply c = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})");
  std::string ca = a.Cookie("session_token");
  Reply list = Get("/list-sessions", {{"cookie", ca}});
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json.array().size(), 3u);
  for (const Value& s : list.json.array()) EXPECT_EQ(*s.Find("token"), Value::String(""));
  Reply anon = Get("/list-sessions");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.body, "");

  EXPECT_EQ(Post("/revoke-session", absl::StrCat(R"({"token":")", b.json.Find("token")->string(), R"("})"),
                 With(ca)).body,
            R"({"status":true})");
  EXPECT_EQ(Post("/revoke-session", R"({"token":"doesnotexist"})", With(ca)).body, R"({"status":true})");
  EXPECT_EQ(Post("/revoke-session", "{}", With(ca)).body,
            R"({"code":"VALIDATION_ERROR","message":"[body.token] Invalid input: expected string, received undefined"})");
  EXPECT_EQ(Count("session"), 2);
  EXPECT_EQ(Post("/revoke-other-sessions", "{}", With(ca)).body, R"({"status":true})");
  EXPECT_EQ(Count("session"), 1);
  EXPECT_EQ(Get("/get-session", {{"cookie", c.Cookie("session_token")}}).body, "null");

  Reply upd = Post("/update-user", R"({"name":"Ada L"})", With(ca));
  EXPECT_EQ(upd.body, R"({"status":true})");
  EXPECT_EQ(upd.Cookie("session_token"), ca);
  EXPECT_EQ(*FindOne("user", "email", Value::String("ada@example.com"))->Find("name"), Value::String("Ada L"));
  EXPECT_EQ(Post("/update-user", R"({"email":"x@y.z"})", With(ca)).body,
            R"({"code":"EMAIL_CAN_NOT_BE_UPDATED","message":"Email can not be updated"})");
  for (const char* body : {"{}", R"({"emailVerified":true})", R"({"foo":1})"}) {
    EXPECT_EQ(Post("/update-user", body, With(ca)).body,
              R"({"code":"NO_FIELDS_TO_UPDATE","message":"No fields to update"})")
        << body;
  }

  EXPECT_EQ(Post("/revoke-sessions", "{}", With(ca)).body, R"({"status":true})");
  EXPECT_EQ(Count("session"), 0);
  EXPECT_EQ(Post("/revoke-sessions", "{}", With(ca)).status, 401);
}

TEST_F(BetterAuthTest, ChangePassword) {
  std::string cookie = SignUp("ada@example.com").Cookie("session_token");
  Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})");
  EXPECT_EQ(Post("/change-password", R"({"currentPassword":"wrongpassword","newPassword":"newpassword123"})",
                 With(cookie)).body,
            R"({"code":"INVALID_PASSWORD","message":"Invalid password"})");
  EXPECT_EQ(Post("/change-password", R"({"currentPassword":"password123","newPassword":"short"})",
                 With(cookie)).body,
            R"({"code":"PASSWORD_TOO_SHORT","message":"Password too short"})");
  Reply changed = Post("/change-password",
                       R"({"currentPassword":"password123","newPassword":"newpassword123","revokeOtherSessions":true})",
                       With(cookie));
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_THAT(changed.body, MatchesRegex(R"(\{"token":"[A-Za-z0-9]{32}","user":\{"id":"[a-z0-9]+",)"
                                         R"("email":"ada@example.com","name":"Ada","emailVerified":false,)"
                                         R"("createdAt":[0-9]+,"updatedAt":[0-9]+\}\})"));
  EXPECT_EQ(Count("session"), 1);  // every old session went, one new one came
  EXPECT_EQ(Get("/get-session", {{"cookie", cookie}}).body, "null");
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})").status, 401);
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"newpassword123"})").status, 200);
}

TEST_F(BetterAuthTest, RateLimitsPerIpAndPath) {
  ASSERT_EQ(SignUp("ada@example.com").status, 200);
  std::map<std::string, std::string> from{{"x-forwarded-for", "9.9.9.9"}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})", from).status, 401);
  }
  Reply limited = Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})", from);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, R"({"message":"Too many requests. Please try again later."})");
  EXPECT_EQ(limited.headers["x-retry-after"], "10");
  EXPECT_EQ(limited.headers["content-type"], "text/plain;charset=UTF-8");
  // GHSA-x732-6j76-qmhm: a doubled slash is no way around the limit; it reaches no endpoint.
  EXPECT_EQ(Post("//sign-in/email", R"({"email":"ada@example.com","password":"wrong"})", from).status, 404);
  // Another IP, another path, or no IP at all: not limited.
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                 {{"x-forwarded-for", "8.8.8.8, 9.9.9.9"}}).status, 401);
  EXPECT_EQ(Get("/ok", from).status, 200);
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})").status, 401);
  ASSERT_OK(backend_->AdvanceTime(absl::Seconds(11)));
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})", from).status, 401);
  // Without x-forwarded-for the peer's address counts; IPv6 by its /64, and every
  // spelling of an address is the same client.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                   {{":peer", "2001:db8:1:2::" + std::to_string(i + 1)}}).status, 401);
  }
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                 {{":peer", "2001:0db8:0001:0002:ffff:0:0:9"}}).status, 429);
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                 {{"x-forwarded-for", "2001:db8:1:2:aaaa::1"}}).status, 429);
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                 {{":peer", "2001:db8:1:3::1"}}).status, 401);  // another /64
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                   {{"x-forwarded-for", "7.7.7.7"}}).status, 401);
  }
  for (const char* loopback : {"127.0.0.1", "::1", "::ffff:127.0.0.1"}) {  // local tests: never
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                     {{":peer", loopback}}).status, 401) << loopback;
    }
  }
  EXPECT_EQ(Post("/sign-in/email", R"({"email":"ada@example.com","password":"wrong"})",
                 {{"x-forwarded-for", "::ffff:7.7.7.7"}}).status, 429);
  // The stored ipAddress is the first x-forwarded-for entry.
  Reply in = Post("/sign-in/email", R"({"email":"ada@example.com","password":"password123"})",
                  {{"x-forwarded-for", "1.2.3.4, 10.0.0.1"}, {"user-agent", "ua-test"}});
  std::optional<Value> session = FindOne("session", "token", *in.json.Find("token"));
  ASSERT_TRUE(session);
  EXPECT_EQ(*session->Find("ipAddress"), Value::String("1.2.3.4"));
  EXPECT_EQ(*session->Find("userAgent"), Value::String("ua-test"));
}

// A verifier as the reference app's provider sees keys: the JWKS from getLatestJwks rows.
class ConvexJwtTest : public BetterAuthTest {
 protected:
  JwtVerifier Verifier(std::string issuer = kSite, std::string audience = "convex") {
    absl::StatusOr<Value> rows = backend_->Action("auth:getLatestJwks");
    EXPECT_OK(rows);
    std::optional<std::string> jwks = BetterAuth::PublicJwksFromEnv(ToCleanJson(*rows));
    EXPECT_TRUE(jwks);
    AuthProvider p;
    p.issuer = issuer;
    p.application_id = audience;
    p.algorithm = "RS256";
    p.jwks = "data:text/plain;charset=utf-8;base64," + absl::Base64Escape(jwks.value_or(""));
    return JwtVerifier({p}, &backend_->clock());
  }
};

TEST_F(ConvexJwtTest, TokensCarryBetterAuthClaimsAndVerify) {
  Reply up = SignUp("ada@example.com");
  Reply t = Get("/convex/token", {{"cookie", up.Cookie("session_token")}});
  ASSERT_EQ(t.status, 200);
  std::string jwt = t.json.Find("token")->string();
  EXPECT_EQ(t.Cookie("convex_jwt"), "better-auth.convex_jwt=" + jwt);
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header, payload;
  ASSERT_TRUE(Base64UrlDecode(parts[0], &header));
  ASSERT_TRUE(Base64UrlDecode(parts[1], &payload));
  absl::StatusOr<Value> rows = backend_->Action("auth:getLatestJwks");
  ASSERT_OK(rows);
  EXPECT_EQ(header, absl::StrCat(R"({"alg":"RS256","kid":")", rows->array()[0].Find("id")->string(), R"("})"));
  ASSERT_OK_AND_ASSIGN(Value claims, ParseConvexJson(payload));
  std::string user_id = up.json.Find("user")->Find("id")->string();
  EXPECT_EQ(*claims.Find("sub"), Value::String(user_id));
  EXPECT_EQ(*claims.Find("iss"), Value::String(kSite));
  EXPECT_EQ(*claims.Find("aud"), Value::String("convex"));
  EXPECT_EQ(claims.Find("exp")->float64() - claims.Find("iat")->float64(), 900);
  EXPECT_EQ(claims.Find("id"), nullptr);
  EXPECT_EQ(claims.Find("image"), nullptr);
  EXPECT_EQ(*claims.Find("name"), Value::String("Ada"));
  std::optional<Value> session = FindOne("session", "token", *up.json.Find("token"));
  EXPECT_EQ(*claims.Find("sessionId"), *session->Find("_id"));

  JwtVerifier verifier = Verifier();
  ASSERT_OK_AND_ASSIGN(Object identity, verifier.Verify(jwt));
  EXPECT_EQ(identity["subject"], Value::String(user_id));
  EXPECT_EQ(identity["tokenIdentifier"], Value::String(absl::StrCat(kSite, "|", user_id)));

  // The private key is stored encrypted, as Better Auth stores it.
  const std::string& stored = rows->array()[0].Find("privateKey")->string();
  ASSERT_OK_AND_ASSIGN(Value literal, ParseConvexJson(stored));
  ASSERT_TRUE(literal.is_string());
  EXPECT_OK(SymmetricDecrypt(kSecret, literal.string()));
  EXPECT_EQ(Get("/convex/token").status, 401);
}

TEST_F(ConvexJwtTest, ForgedTokensAreRejected) {
  Reply up = SignUp("ada@example.com");
  std::string jwt = Get("/convex/token", {{"cookie", up.Cookie("session_token")}}).json.Find("token")->string();
  std::vector<std::string> p = absl::StrSplit(jwt, '.');
  std::string header, payload;
  ASSERT_TRUE(Base64UrlDecode(p[0], &header));
  ASSERT_TRUE(Base64UrlDecode(p[1], &payload));
  auto b64 = [](std::string_view s) { return Base64UrlEncode(s); };
  ASSERT_OK_AND_ASSIGN(Value rows, backend_->Action("auth:getLatestJwks"));
  std::string public_jwk = rows.array()[0].Find("publicKey")->string();
  std::string hs_header = absl::StrReplaceAll(header, {{"RS256", "HS256"}});
  std::string hs_input = absl::StrCat(b64(hs_header), ".", p[1]);
  std::string tampered = absl::StrReplaceAll(payload, {{"\"name\":\"Ada\"", "\"name\":\"Eve\""}});
  std::map<std::string, std::string> forged = {
      {"alg none", absl::StrCat(b64(absl::StrReplaceAll(header, {{"RS256", "none"}})), ".", p[1], ".")},
      {"HS256 keyed with the public key", absl::StrCat(hs_input, ".", b64(HmacSha256(public_jwk, hs_input)))},
      {"unknown kid", absl::StrCat(b64(absl::StrReplaceAll(header, {{"\"kid\":\"", "\"kid\":\"x"}})), ".", p[1], ".", p[2])},
      {"stripped signature", absl::StrCat(p[0], ".", p[1], ".")},
      {"tampered payload", absl::StrCat(p[0], ".", b64(tampered), ".", p[2])},
      {"another secret's key", ""},
  };
  // A token signed by a key this deployment does not publish.
  ASSERT_OK_AND_ASSIGN(JwkPair other, GenerateRsaJwk());
  ASSERT_OK_AND_ASSIGN(forged["another secret's key"], SignJwtRs256(header, payload, other.private_jwk));
  JwtVerifier verifier = Verifier();
  for (const auto& [name, token] : forged) {
    EXPECT_THAT(verifier.Verify(token).status(), ::cvx::testing::StatusHasCode(absl::StatusCode::kUnauthenticated))
        << name;
  }
  EXPECT_FALSE(Verifier("http://127.0.0.1:9999").Verify(jwt).ok());        // wrong iss
  EXPECT_FALSE(Verifier(kSite, "other-app").Verify(jwt).ok());             // wrong aud
  EXPECT_OK(Verifier().Verify(jwt));
  ASSERT_OK(backend_->AdvanceTime(absl::Minutes(16)));
  EXPECT_FALSE(Verifier().Verify(jwt).ok());                                // expired
}

TEST_F(ConvexJwtTest, LatestJwksIsStableAndRotateKeysReplacesIt) {
  ASSERT_OK_AND_ASSIGN(Value first, backend_->Action("auth:getLatestJwks"));
  ASSERT_OK_AND_ASSIGN(Value again, backend_->Action("auth:getLatestJwks"));
  ASSERT_EQ(first.array().size(), 1u);
  const Value& row = first.array()[0];
  for (const char* f : {"id", "publicKey", "privateKey", "createdAt", "alg"}) EXPECT_NE(row.Find(f), nullptr) << f;
  EXPECT_EQ(*row.Find("alg"), Value::String("RS256"));
  EXPECT_EQ(*again.array()[0].Find("id"), *row.Find("id"));
  ASSERT_OK_AND_ASSIGN(Value rotated, backend_->Action("auth:rotateKeys"));
  EXPECT_NE(*rotated.array()[0].Find("id"), *row.Find("id"));
  EXPECT_EQ(Count("jwks"), 1);
  Reply jwks = Get("/convex/jwks");
  EXPECT_THAT(jwks.body, MatchesRegex(R"(\{"keys":\[\{"alg":"RS256","kty":"RSA","n":"[A-Za-z0-9_-]+","e":"AQAB","kid":"[a-z0-9]+"\}\]\})"));
  EXPECT_EQ(*BetterAuth::PublicJwksFromEnv(jwks.body), jwks.body);  // {keys} passes through
  EXPECT_EQ(BetterAuth::PublicJwksFromEnv("not json"), std::nullopt);
}

TEST_F(BetterAuthTest, InternalApiMatchesCreateApi) {
  ASSERT_OK_AND_ASSIGN(Value created,
                       backend_->Mutation("auth:create",
                                          {{"input", Value::FromObject({{"model", Value::String("verification")},
                                                                        {"data", Value::FromObject({
                                                                             {"identifier", Value::String("i")},
                                                                             {"value", Value::String("v")},
                                                                             {"expiresAt", Value::String("2026-01-01T00:00:00.000Z")},
                                                                             {"createdAt", Value::Float64(1)},
                                                                             {"updatedAt", Value::Float64(1)}})}})}}));
  EXPECT_NE(created.Find("_id"), nullptr);  // Convex documents, as createApi returns
  EXPECT_NE(created.Find("_creationTime"), nullptr);
  EXPECT_EQ(*created.Find("expiresAt"), Value::Float64(1767225600000.0));
  Value where = Value::FromArray({Value::FromObject({{"field", Value::String("identifier")}, {"value", Value::String("i")}})});
  ASSERT_OK_AND_ASSIGN(Value updated,
                       backend_->Mutation("auth:updateOne",
                                          {{"input", Value::FromObject({{"model", Value::String("verification")},
                                                                        {"where", where},
                                                                        {"update", Value::FromObject({{"value", Value::String("w")}})}})}}));
  EXPECT_EQ(*updated.Find("value"), Value::String("w"));
  ASSERT_OK_AND_ASSIGN(Value page, backend_->Query("auth:findMany",
                                                   {{"model", Value::String("verification")},
                                                    {"paginationOpts", Value::FromObject({{"numItems", Value::Float64(10)},
                                                                                          {"cursor", Value::Null()}})}}));
  EXPECT_EQ(page.Find("page")->array().size(), 1u);
  EXPECT_EQ(*page.Find("isDone"), Value::Boolean(true));
  ASSERT_OK_AND_ASSIGN(Value deleted, backend_->Mutation("auth:deleteMany",
                                                         {{"input", Value::FromObject({{"model", Value::String("verification")},
                                                                                       {"where", where}})},
                                                          {"paginationOpts", Value::FromObject({{"numItems", Value::Float64(10)},
                                                                                                {"cursor", Value::Null()}})}}));
  EXPECT_EQ(*deleted.Find("count"), Value::Float64(1));
  EXPECT_EQ(deleted.Find("ids")->array()[0], *created.Find("_id"));
  EXPECT_EQ(Count("verification"), 0);
  // Internal: a public caller cannot reach them.
  CallOptions public_call;
  ASSERT_OK_AND_ASSIGN(FunctionResult r, backend_->runner().Run("auth:findMany",
                                                                Value::FromObject({{"model", Value::String("user")}}),
                                                                public_call));
  EXPECT_FALSE(r.ok());
}

TEST_F(BetterAuthTest, HelpersSeeOnlyLiveSessions) {
  Reply up = SignUp("ada@example.com");
  std::optional<Value> session = FindOne("session", "token", *up.json.Find("token"));
  ASSERT_TRUE(session);
  auto caller = backend_->WithIdentity({{"subject", *up.json.Find("user")->Find("id")},
                                        {"sessionId", *session->Find("_id")}});
  ASSERT_OK_AND_ASSIGN(Value me, caller.Query("me:session"));
  EXPECT_EQ(*me.Find("_id"), *session->Find("_id"));
  ASSERT_OK_AND_ASSIGN(Value org, caller.Query("me:organization"));
  EXPECT_EQ(*org.Find("name"), Value::String("Ada's Workspace"));
  EXPECT_EQ(BetterAuth::GetHeaders(*session)["authorization"], "Bearer " + up.json.Find("token")->string());
  ASSERT_OK(backend_->AdvanceTime(absl::Hours(24 * 8)));
  ASSERT_OK_AND_ASSIGN(Value expired, caller.Query("me:session"));
  EXPECT_TRUE(expired.is_null());
}

TEST_F(BetterAuthTest, SeedBeforeDeleteRemovesThePersonalOrganization) {
  Reply up = SignUp("ada@example.com");
  std::string user_id = up.json.Find("user")->Find("id")->string();
  ASSERT_EQ(Count("organization"), 1);
  ASSERT_EQ(Count("member"), 1);
  ASSERT_OK(backend_->Mutation(
      "auth:deleteOne",
      {{"input", Value::FromObject({{"model", Value::String("user")},
                                    {"where", Value::FromArray({Value::FromObject(
                                                  {{"field", Value::String("id")},
                                                   {"value", Value::String(user_id)}})})}})}}));
  EXPECT_EQ(Count("user"), 0);
  EXPECT_EQ(Count("organization"), 0);
  EXPECT_EQ(Count("member"), 0);
  std::optional<UserIdentity> identity = Object{{"subject", Value::String(user_id)}};
  EXPECT_EQ(BetterAuth::GetAuthUserId(Auth(&identity)), user_id);
  std::optional<UserIdentity> nobody;
  EXPECT_EQ(BetterAuth::GetAuthUserId(Auth(&nobody)), std::nullopt);
}

// delete-user (when enabled) and CORS for trusted origins, on an app of their own.
class ConfiguredAuthTest : public ::testing::Test {
 protected:
  ConfiguredAuthTest() {
    BetterAuthOptions options;
    options.delete_user_enabled = true;
    options.cors = true;
    options.trusted_origins = {"http://localhost:3000", "https://*.example.dev*"};
    auth_ = std::make_shared<BetterAuth>(options);
    SchemaDefinition schema;
    auth_->AddTables(schema);
    app_.SetSchema(std::move(schema));
    auth_->Register(app_);
    backend_ = std::make_unique<TestBackend>(app_, Options());
  }
  HttpActionResponse Call(std::string method, std::string path, std::string body,
                          std::map<std::string, std::string> headers) {
    HttpActionRequest req;
    req.method = std::move(method);
    req.url = req.path = std::move(path);
    req.body = std::move(body);
    if (!req.body.empty()) headers["content-type"] = "application/json";
    req.headers = std::move(headers);
    return backend_->runner().RunHttpAction(req, std::nullopt);
  }
  std::shared_ptr<BetterAuth> auth_;
  App app_;
  std::unique_ptr<TestBackend> backend_;
};

TEST_F(ConfiguredAuthTest, DeleteUserChecksThePasswordAndClearsEverything) {
  HttpActionResponse up = Call("POST", "/api/auth/sign-up/email",
                               R"({"name":"Ada","email":"ada@example.com","password":"password123"})", {});
  ASSERT_EQ(up.status, 200);
  std::string cookie = up.set_cookies[0].substr(0, up.set_cookies[0].find(';'));
  std::map<std::string, std::string> h{{"cookie", cookie}, {"origin", "http://localhost:3000"}};
  HttpActionResponse wrong = Call("POST", "/api/auth/delete-user", R"({"password":"nope-nope"})", h);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.body, R"({"code":"INVALID_PASSWORD","message":"Invalid password"})");
  HttpActionResponse ok = Call("POST", "/api/auth/delete-user", R"({"password":"password123"})", h);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"success":true,"message":"User deleted"})");
  EXPECT_EQ(ok.set_cookies.size(), 4u);
  for (const char* table : {"user", "account", "session"}) {
    ASSERT_OK_AND_ASSIGN(Value rows, backend_->Query("auth:findMany", {{"model", Value::String(table)}}));
    EXPECT_TRUE(rows.Find("page")->array().empty()) << table;
  }
}

TEST_F(ConfiguredAuthTest, CorsForTrustedOriginsOnly) {
  HttpActionResponse pre = Call("OPTIONS", "/api/auth/sign-in/email", "",
                                {{"origin", "http://localhost:3000"},
                                 {"access-control-request-method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.headers["access-control-allow-origin"], "http://localhost:3000");
  EXPECT_EQ(pre.headers["access-control-allow-credentials"], "true");
  EXPECT_EQ(pre.headers["access-control-allow-headers"], "Content-Type,Better-Auth-Cookie,Authorization");
  EXPECT_EQ(pre.headers["access-control-expose-headers"], "Set-Better-Auth-Cookie");
  HttpActionResponse wildcard = Call("GET", "/api/auth/ok", "", {{"origin", "https://app.example.dev"}});
  EXPECT_EQ(wildcard.headers["access-control-allow-origin"], "https://app.example.dev");
  HttpActionResponse evil = Call("OPTIONS", "/api/auth/sign-in/email", "", {{"origin", "http://evil.test"}});
  EXPECT_EQ(evil.headers.count("access-control-allow-origin"), 0u);
  HttpActionResponse get = Call("GET", "/api/auth/ok", "", {{"origin", "http://evil.test"}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.headers.count("access-control-allow-origin"), 0u);
}

// Atomicity: a trigger that fails inside sign-up leaves no user, account or session.
TEST(BetterAuthAtomicity, AFailingTriggerRollsBackTheWholeSignUp) {
  for (const char* failing : {"user", "session"}) {
    App app;
    Triggers triggers;
    triggers["user"].on_create = [](MutationCtx& ctx, const Value& user) -> absl::Status {
      return ctx.db()
          .Insert("organization", {{"name", Value::String("W")},
                                   {"slug", Value::String("p-" + user.Find("_id")->string())},
                                   {"createdAt", Value::Float64(0)}})
          .status();
    };
    if (std::string(failing) == "user") {
      triggers["user"].before_create = [](MutationCtx&, Object) -> absl::StatusOr<std::optional<Object>> {
        return absl::FailedPreconditionError("no users today");
      };
    } else {
      triggers["session"].on_create = [](MutationCtx&, const Value&) -> absl::Status {
        return absl::FailedPreconditionError("no sessions today");
      };
    }
    auto auth = std::make_shared<BetterAuth>(BetterAuthOptions{}, std::move(triggers));
    SchemaDefinition schema;
    auth->AddTables(schema);
    app.SetSchema(std::move(schema));
    auth->Register(app);
    TestBackend backend(app, Options());
    HttpActionRequest req;
    req.method = "POST";
    req.url = req.path = "/api/auth/sign-up/email";
    req.headers["content-type"] = "application/json";
    req.body = R"({"name":"Ada","email":"ada@example.com","password":"password123"})";
    HttpActionResponse r = backend.runner().RunHttpAction(req, std::nullopt);
    if (std::string(failing) == "user") {
      EXPECT_EQ(r.status, 422);
      EXPECT_EQ(r.body, R"({"code":"FAILED_TO_CREATE_USER","message":"Failed to create user","details":{}})");
    } else {
      EXPECT_EQ(r.status, 500);
      EXPECT_EQ(r.body, "");
    }
    EXPECT_TRUE(r.set_cookies.empty());
    for (const char* table : {"user", "account", "session", "organization"}) {
      ASSERT_OK_AND_ASSIGN(Value rows, backend.Query("auth:findMany", {{"model", Value::String(table)}}));
      EXPECT_TRUE(rows.Find("page")->array().empty()) << failing << " " << table;
    }
  }
}

}  // namespace
}  // namespace cvx::auth
