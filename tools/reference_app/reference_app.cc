#include "tools/reference_app/reference_app.h"

#include "engine/base/status_macros.h"
#include "functions/errors.h"

namespace cvx {
namespace {

Value ErrorCode(const char* code) { return Value::FromObject({{"code", Value::String(code)}}); }

Validator PaginationOpts() {
  return v::Object({{"numItems", v::Float64()},
                    {"cursor", v::Union({v::String(), v::Null()})},
                    {"endCursor", v::Optional(v::Union({v::String(), v::Null()}))},
                    {"id", v::Optional(v::Float64())},
                    {"maximumRowsRead", v::Optional(v::Float64())},
                    {"maximumBytesRead", v::Optional(v::Float64())}});
}

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
  app.Query("messages:list", v::Object({{"channel", v::String()}, {"paginationOpts", PaginationOpts()}}),
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
  auto session = [](QueryCtx& ctx) -> absl::StatusOr<std::optional<Value>> {
    std::optional<Value> identity = ctx.auth().GetUserIdentity();
    const Value* sid = identity ? identity->Find("sessionId") : nullptr;
    if (!sid || !sid->is_string()) return std::optional<Value>();
    std::optional<std::string> id = ctx.db().NormalizeId("session", sid->string());
    if (!id) return std::optional<Value>();
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, ctx.db().Get(*id));
    if (!doc) return doc;
    const Value* expires = doc->Find("expiresAt");
    if (expires && expires->is_float64() && expires->float64() <= ctx.Now()) {
      return std::optional<Value>();
    }
    return doc;
  };
  app.Query("me:session", v::Object({}), [session](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, session(ctx));
    return doc.value_or(Value::Null());
  });
  app.Query("me:organization", v::Object({}),
            [session](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, session(ctx));
              const Value* org = doc ? doc->Find("activeOrganizationId") : nullptr;
              if (!org || !org->is_string()) return Value::Null();
              std::optional<std::string> id = ctx.db().NormalizeId("organization", org->string());
              if (!id) return Value::Null();
              CVX_ASSIGN_OR_RETURN(std::optional<Value> organization, ctx.db().Get(*id));
              return organization.value_or(Value::Null());
            });
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
  SchemaDefinition schema = DefineSchema();
  for (const char* table : {"user", "session", "account", "verification", "jwks", "organization",
                            "member", "invitation"}) {
    schema.Table(table, DefineTable(v::Any()));  // issue #5 gives these Better Auth's shapes
  }
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
  AuthProvider better_auth;
  better_auth.type = AuthProvider::Type::kCustomJwt;
  better_auth.issuer = "${CONVEX_SITE_URL}";
  better_auth.jwks = "data:application/json,${env:JWKS}";
  better_auth.algorithm = "RS256";
  better_auth.application_id = "convex";
  app.AddAuthProvider(std::move(better_auth));
  RegisterValues(app);
  RegisterMessages(app);
  RegisterBank(app);
  RegisterLists(app);
  RegisterMe(app);
  RegisterJobs(app);
  app.http().Route("GET", "/hello",
                   [](ActionCtx&, const HttpActionRequest&) -> absl::StatusOr<HttpActionResponse> {
                     HttpActionResponse r;
                     r.headers["content-type"] = "text/plain";
                     r.body = "hello";
                     return r;
                   });
}

}  // namespace cvx
