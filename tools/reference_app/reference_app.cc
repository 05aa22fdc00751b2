#include "tools/reference_app/reference_app.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "functions/auth/better_auth.h"

#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/errors.h"

namespace cvx {
namespace {

Value ErrorCode(const char* code) { return Value::FromObject({{"code", Value::String(code)}}); }

Value ToArray(std::vector<Value> docs) { return Value::FromArray(Array(docs.begin(), docs.end())); }

void RegisterValues(App& app) {
  app.Query("values:echo", v::Object({{"value", v::Any()}}),
            [](QueryCtx&, const Object& args) -> absl::StatusOr<Value> { return args.at("value"); });
  app.Mutation("values:store", v::Object({{"value", v::Any()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("blobs", args));
                 return Value::String(id);
               });
  app.Query("values:load", v::Object({{"id", v::Id("blobs")}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, ctx.db().Get(args.at("id").string()));
              return doc.value_or(Value::Null());
            });
}

void RegisterMessages(App& app) {
  app.Mutation("messages:send", v::Object({{"channel", v::String()}, {"body", v::String()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 std::optional<Value> identity = ctx.auth().GetUserIdentity();
                 const Value* subject = identity ? identity->Find("subject") : nullptr;
                 std::optional<std::string> author =
                     subject && subject->is_string() ? ctx.db().NormalizeId("user", subject->string())
                                                     : std::nullopt;
                 if (!author) return ConvexError(ErrorCode("UNAUTHENTICATED"));
                 Object doc = args;
                 doc["author"] = Value::String(*author);
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("messages", std::move(doc)));
                 return Value::String(id);
               });
  app.Query("messages:list", v::Object({{"channel", v::String()}, {"paginationOpts", PaginationOptsValidator()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              return ctx.db()
                  .Query("messages")
                  .WithIndex("by_channel",
                             [&](IndexRangeBuilder& q) { q.Eq("channel", args.at("channel")); })
                  .Order(Order::kDesc)
                  .Paginate(args.at("paginationOpts"));
            });
}

void RegisterBank(App& app) {
  app.Mutation("bank:open", v::Object({{"owner", v::String()}, {"balance", v::Int64()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("bank_accounts", args));
                 return Value::String(id);
               });
  app.Mutation(
      "bank:transfer",
      v::Object({{"from", v::Id("bank_accounts")}, {"to", v::Id("bank_accounts")}, {"amount", v::Int64()}}),
      [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
        const std::string& from = args.at("from").string();
        const std::string& to = args.at("to").string();
        const int64_t amount = args.at("amount").int64();
        if (from == to) return ConvexError(ErrorCode("SAME_ACCOUNT"));
        if (amount <= 0) return ConvexError(ErrorCode("BAD_AMOUNT"));
        CVX_ASSIGN_OR_RETURN(std::optional<Value> a, ctx.db().Get(from));
        CVX_ASSIGN_OR_RETURN(std::optional<Value> b, ctx.db().Get(to));
        if (!a || !b) return ConvexError(ErrorCode("NO_SUCH_ACCOUNT"));
        const int64_t balance_a = a->Find("balance")->int64();
        const int64_t balance_b = b->Find("balance")->int64();
        if (balance_a < amount) return ConvexError(ErrorCode("INSUFFICIENT_FUNDS"));
        CVX_RETURN_IF_ERROR(ctx.db().Patch(from, {{"balance", Value::Int64(balance_a - amount)}}));
        CVX_RETURN_IF_ERROR(ctx.db().Patch(to, {{"balance", Value::Int64(balance_b + amount)}}));
        return Value::Null();
      });
  app.Query("bank:balance", v::Object({{"id", v::Id("bank_accounts")}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, ctx.db().Get(args.at("id").string()));
              if (!doc) return ConvexError(ErrorCode("NO_SUCH_ACCOUNT"));
              return *doc->Find("balance");
            });
  app.Query("bank:total", v::Object({}), [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, ctx.db().Query("bank_accounts").Collect());
    int64_t total = 0;
    for (const Value& d : docs) total += d.Find("balance")->int64();
    return Value::Int64(total);
  });
}

void RegisterLists(App& app) {
  app.Mutation("lists:append", v::Object({{"key", v::String()}, {"element", v::Int64()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(
                     std::optional<Value> row,
                     ctx.db()
                         .Query("lists")
                         .WithIndex("by_key", [&](IndexRangeBuilder& q) { q.Eq("key", args.at("key")); })
                         .First());
                 if (!row) {
                   CVX_RETURN_IF_ERROR(ctx.db()
                                           .Insert("lists", {{"key", args.at("key")},
                                                             {"elements", Value::FromArray({args.at("element")})}})
                                           .status());
                   return Value::Null();
                 }
                 Array elements = row->Find("elements")->array();
                 elements.push_back(args.at("element"));
                 CVX_RETURN_IF_ERROR(ctx.db().Patch(row->Find("_id")->string(),
                                                    {{"elements", Value::FromArray(std::move(elements))}}));
                 return Value::Null();
               });
  app.Query("lists:read", v::Object({{"key", v::String()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(
                  std::optional<Value> row,
                  ctx.db()
                      .Query("lists")
                      .WithIndex("by_key", [&](IndexRangeBuilder& q) { q.Eq("key", args.at("key")); })
                      .First());
              return row ? *row->Find("elements") : Value::FromArray({});
            });
}

void RegisterMe(App& app) {
  app.Query("me:whoami", v::Object({}), [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    return ctx.auth().GetUserIdentity().value_or(Value::Null());
  });
  // The session named by the token's sessionId claim, if it exists and has not expired.
  app.Query("me:session", v::Object({}), [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc,
                         auth::BetterAuth::GetSession(ctx.db(), ctx.auth(), ctx.Now()));
    return doc.value_or(Value::Null());
  });
  app.Query("me:organization", v::Object({}),
            [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> doc,
                                   auth::BetterAuth::GetSession(ctx.db(), ctx.auth(), ctx.Now()));
              const Value* org = doc ? doc->Find("activeOrganizationId") : nullptr;
              if (!org || !org->is_string()) return Value::Null();
              std::optional<std::string> id = ctx.db().NormalizeId("organization", org->string());
              if (!id) return Value::Null();
              CVX_ASSIGN_OR_RETURN(std::optional<Value> organization, ctx.db().Get(*id));
              return organization.value_or(Value::Null());
            });
}

// The seed's triggers (reference-app.md, "Triggers"): each runs inside the transaction of
// the write that fired it.
auth::Triggers SeedTriggers() {
  auth::Triggers t;
  t["user"].before_create = [](MutationCtx& ctx, Object data) -> absl::StatusOr<std::optional<Object>> {
    std::string username;
    if (const auto it = data.find("username"); it != data.end() && it->second.is_string()) {
      username = std::string(absl::StripAsciiWhitespace(it->second.string()));
    }
    if (username.empty()) {
      if (const auto it = data.find("email"); it != data.end() && it->second.is_string()) {
        username = it->second.string().substr(0, it->second.string().find('@'));
      }
    }
    if (username.empty()) username = absl::StrCat("user-", static_cast<int64_t>(ctx.Now()));
    data["username"] = Value::String(username);
    return data;
  };
  t["user"].on_create = [](MutationCtx& ctx, const Value& user) -> absl::Status {
    const std::string& id = user.Find("_id")->string();
    const Value* name = user.Find("name");
    CVX_ASSIGN_OR_RETURN(
        std::string org,
        ctx.db().Insert("organization",
                        {{"name", Value::String(absl::StrCat(name && name->is_string() ? name->string() : "",
                                                             "'s Workspace"))},
                         {"slug", Value::String("personal-" + id)},
                         {"createdAt", Value::Float64(ctx.Now())}}));
    CVX_RETURN_IF_ERROR(ctx.db()
                            .Insert("member", {{"organizationId", Value::String(org)},
                                               {"userId", Value::String(id)},
                                               {"role", Value::String("owner")},
                                               {"createdAt", Value::Float64(ctx.Now())}})
                            .status());
    return ctx.db().Patch(id, {{"personalOrganizationId", Value::String(org)}});
  };
  t["user"].before_delete = [](MutationCtx& ctx, const Value& user) -> absl::StatusOr<std::optional<Value>> {
    const Value* org = user.Find("personalOrganizationId");
    if (org == nullptr || !org->is_string()) return std::nullopt;
    CVX_ASSIGN_OR_RETURN(std::vector<Value> members,
                         ctx.db()
                             .Query("member")
                             .WithIndex("organizationId",
                                        [&](IndexRangeBuilder& q) { q.Eq("organizationId", *org); })
                             .Collect());
    for (const Value& m : members) CVX_RETURN_IF_ERROR(ctx.db().Delete(m.Find("_id")->string()));
    if (std::optional<std::string> id = ctx.db().NormalizeId("organization", org->string())) {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, ctx.db().Get(*id));
      if (doc) CVX_RETURN_IF_ERROR(ctx.db().Delete(*id));
    }
    return std::nullopt;
  };
  t["session"].on_create = [](MutationCtx& ctx, const Value& session) -> absl::Status {
    const Value* active = session.Find("activeOrganizationId");
    if (active != nullptr && active->is_string()) return absl::OkStatus();
    std::optional<std::string> user_id = ctx.db().NormalizeId("user", session.Find("userId")->string());
    if (!user_id) return absl::OkStatus();
    CVX_ASSIGN_OR_RETURN(std::optional<Value> user, ctx.db().Get(*user_id));
    const Value* org = user ? user->Find("personalOrganizationId") : nullptr;
    if (org == nullptr || !org->is_string()) return absl::OkStatus();
    return ctx.db().Patch(session.Find("_id")->string(), {{"activeOrganizationId", *org}});
  };
  return t;
}

void RegisterJobs(App& app) {
  app.Mutation("jobs:scheduleIn", v::Object({{"delayMs", v::Float64()}, {"value", v::Any()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id,
                                      ctx.scheduler().RunAfter(args.at("delayMs").float64(),
                                                               "jobs:record", {{"value", args.at("value")}}));
                 return Value::String(id);
               });
  app.InternalMutation("jobs:record", v::Object({{"value", v::Any()}}),
                       [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                         CVX_RETURN_IF_ERROR(ctx.db()
                                                 .Insert("jobs", {{"value", args.at("value")},
                                                                  {"ranAt", Value::Float64(ctx.Now())}})
                                                 .status());
                         return Value::Null();
                       });
  app.Query("jobs:list", v::Object({}), [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, ctx.db().Query("jobs").Collect());
    return ToArray(std::move(docs));
  });
}

}  // namespace

void RegisterReferenceApp(App& app) {
  // Better Auth, installed locally with the admin and organization plugins, and the seed's
  // user fields.
  auth::BetterAuthOptions options;
  auth::FieldSpec username;
  username.name = "username";
  username.required = false;
  auth::FieldSpec personal_org;
  personal_org.name = "personalOrganizationId";
  personal_org.type = auth::FieldType::kId;
  personal_org.id_table = "organization";
  personal_org.required = false;
  personal_org.input = false;
  options.models.user_fields = {username, personal_org};
  auto better_auth = std::make_shared<auth::BetterAuth>(options, SeedTriggers());
  SchemaDefinition schema = DefineSchema();
  better_auth->AddTables(schema);
  schema
      .Table("messages", DefineTable({{"channel", v::String()}, {"body", v::String()},
                                      {"author", v::Id("user")}})
                             .Index("by_channel", {"channel"}))
      .Table("bank_accounts",
             DefineTable({{"owner", v::String()}, {"balance", v::Int64()}}).Index("by_owner", {"owner"}))
      .Table("lists", DefineTable({{"key", v::String()}, {"elements", v::Array(v::Int64())}})
                          .Index("by_key", {"key"}))
      .Table("blobs", DefineTable({{"value", v::Any()}}))
      .Table("jobs", DefineTable({{"value", v::Any()}, {"ranAt", v::Float64()}}));
  app.SetSchema(std::move(schema));
  // The Better Auth Convex plugin's provider, as the seed's auth.config.ts declares it: the
  // JWKS comes from the JWKS environment variable (`convexlite run auth:getLatestJwks |
  // convexlite env set JWKS`), the issuer is the site URL.
  better_auth->Register(app);
  app.Retain(better_auth);
  AuthProvider provider;
  provider.type = AuthProvider::Type::kCustomJwt;
  provider.issuer = "${CONVEX_SITE_URL}";
  provider.jwks = "${better-auth-jwks:JWKS}";
  provider.algorithm = "RS256";
  provider.application_id = "convex";
  app.AddAuthProvider(std::move(provider));
  RegisterValues(app);
  RegisterMessages(app);
  RegisterBank(app);
  RegisterLists(app);
  RegisterMe(app);
  RegisterJobs(app);
  // The caller's identity as an HTTP action sees it (Authorization: Bearer <jwt>), or null.
  app.http().Route("GET", "/me",
                   [](ActionCtx& ctx, const HttpActionRequest&) -> absl::StatusOr<HttpActionResponse> {
                     HttpActionResponse r;
                     r.headers["content-type"] = "application/json";
                     r.body = ToConvexJson(ctx.auth().GetUserIdentity().value_or(Value::Null()));
                     return r;
                   });
  // An environment variable as handlers see it, built-in ones included (internal: values
  // may be secrets).
  app.InternalQuery("env:get", v::Object({{"name", v::String()}}),
                    [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                      std::optional<std::string> value = ctx.Env(args.at("name").string());
                      return value ? Value::String(*value) : Value::Null();
                    });
  app.http().Route("GET", "/hello",
                   [](ActionCtx&, const HttpActionRequest&) -> absl::StatusOr<HttpActionResponse> {
                     HttpActionResponse r;
                     r.headers["content-type"] = "text/plain";
                     r.body = "hello";
                     return r;
                   });
}

}  // namespace cvx
