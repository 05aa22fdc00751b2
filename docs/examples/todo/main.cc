// A small app built on convexlite as a library: a task list with a schema, public and
// internal functions, a trigger that keeps a counter in the same transaction, a scheduled
// job, an HTTP action, and Better Auth installed locally. main() hands argc/argv to the
// same command surface as the `convexlite` binary, so `todo dev`, `todo run`, `todo env`,
// `todo data`, `todo export` and `todo import` all work on this app.
//
// Build it against an installed convexlite (find_package) or from a checkout
// (add_subdirectory); see CMakeLists.txt and README.md beside this file.

#include <optional>
#include <string>
#include <vector>

#include "engine/base/status_macros.h"
#include "functions/app.h"
#include "functions/auth/better_auth.h"
#include "functions/errors.h"
#include "tools/cli.h"

namespace todo {

using cvx::Object;
using cvx::Value;
namespace v = cvx::v;

// The open-task counter: one row in `stats`, kept by the tasks table's triggers.
absl::Status AddToOpenCount(cvx::DatabaseWriter& db, double delta) {
  CVX_ASSIGN_OR_RETURN(std::optional<Value> row, db.Query("stats").First());
  if (!row) return db.Insert("stats", {{"open", Value::Float64(delta)}}).status();
  return db.Patch(row->Find("_id")->string(),
                  {{"open", Value::Float64(row->Find("open")->float64() + delta)}});
}

void Register(cvx::App& app) {
  // Better Auth with its default tables (user, session, account, verification, jwks).
  auto better_auth = std::make_shared<cvx::auth::BetterAuth>();
  cvx::SchemaDefinition schema = cvx::DefineSchema();
  better_auth->AddTables(schema);
  schema
      .Table("tasks", cvx::DefineTable({{"text", v::String()}, {"done", v::Boolean()}})
                          .Index("by_done", {"done"}))
      .Table("stats", cvx::DefineTable({{"open", v::Float64()}}))
      .Table("reminders", cvx::DefineTable({{"task", v::Id("tasks")}, {"at", v::Float64()}}));
  app.SetSchema(std::move(schema));
  better_auth->Register(app);
  app.Retain(better_auth);
  cvx::AuthProvider provider;
  provider.type = cvx::AuthProvider::Type::kCustomJwt;
  provider.issuer = "${CONVEX_SITE_URL}";
  provider.jwks = "${better-auth-jwks:JWKS}";
  provider.algorithm = "RS256";
  provider.application_id = "convex";
  app.AddAuthProvider(std::move(provider));

  // Triggers run inside the writing mutation's transaction: the counter can never drift.
  cvx::TableTriggers& tasks = app.triggers().For("tasks");
  tasks.on_create = [](cvx::DatabaseWriter& db, const Value& doc) -> absl::Status {
    return doc.Find("done")->boolean() ? absl::OkStatus() : AddToOpenCount(db, 1);
  };
  tasks.on_update = [](cvx::DatabaseWriter& db, const Value& now, const Value& before) -> absl::Status {
    bool was = before.Find("done")->boolean(), is = now.Find("done")->boolean();
    return was == is ? absl::OkStatus() : AddToOpenCount(db, is ? -1 : 1);
  };
  tasks.on_delete = [](cvx::DatabaseWriter& db, const Value& doc) -> absl::Status {
    return doc.Find("done")->boolean() ? absl::OkStatus() : AddToOpenCount(db, -1);
  };

  app.Mutation("tasks:add", v::Object({{"text", v::String()}}),
               [](cvx::MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 if (args.at("text").string().empty()) {
                   return cvx::ConvexError(Value::FromObject({{"code", Value::String("EMPTY_TEXT")}}));
                 }
                 CVX_ASSIGN_OR_RETURN(std::string id,
                                      ctx.db().Insert("tasks", {{"text", args.at("text")},
                                                                {"done", Value::Boolean(false)}}));
                 return Value::String(id);
               });
  app.Mutation("tasks:setDone", v::Object({{"id", v::Id("tasks")}, {"done", v::Boolean()}}),
               [](cvx::MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Patch(args.at("id").string(), {{"done", args.at("done")}}));
                 return Value::Null();
               });
  app.Mutation("tasks:remove", v::Object({{"id", v::Id("tasks")}}),
               [](cvx::MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Delete(args.at("id").string()));
                 return Value::Null();
               });
  app.Query("tasks:list", v::Object({{"done", v::Optional(v::Boolean())}}),
            [](cvx::QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              cvx::Query query = ctx.db().Query("tasks");
              if (auto done = args.find("done"); done != args.end()) {
                query.WithIndex("by_done", [&](cvx::IndexRangeBuilder& q) { q.Eq("done", done->second); });
              }
              CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, query.Collect());
              return Value::FromArray(cvx::Array(docs.begin(), docs.end()));
            });
  app.Query("tasks:openCount", v::Object({}), [](cvx::QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> row, ctx.db().Query("stats").First());
    return row ? *row->Find("open") : Value::Float64(0);
  });

  // A reminder, scheduled from a mutation and written by an internal mutation.
  app.Mutation("tasks:remindIn", v::Object({{"id", v::Id("tasks")}, {"delayMs", v::Float64()}}),
               [](cvx::MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string job,
                                      ctx.scheduler().RunAfter(args.at("delayMs").float64(),
                                                               "tasks:remind", {{"id", args.at("id")}}));
                 return Value::String(job);
               });
  app.InternalMutation("tasks:remind", v::Object({{"id", v::Id("tasks")}}),
                       [](cvx::MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                         CVX_RETURN_IF_ERROR(ctx.db()
                                                 .Insert("reminders", {{"task", args.at("id")},
                                                                       {"at", Value::Float64(ctx.Now())}})
                                                 .status());
                         return Value::Null();
                       });

  // GET /count on the site port: the open count as text, read in a query.
  app.http().Route("GET", "/count",
                   [](cvx::ActionCtx& ctx, const cvx::HttpActionRequest&)
                       -> absl::StatusOr<cvx::HttpActionResponse> {
                     CVX_ASSIGN_OR_RETURN(Value count, ctx.RunQuery("tasks:openCount", {}));
                     cvx::HttpActionResponse r;
                     r.headers["content-type"] = "text/plain";
                     r.body = std::to_string(static_cast<int64_t>(count.float64()));
                     return r;
                   });
}

}  // namespace todo

int main(int argc, char** argv) {
  cvx::App app;
  todo::Register(app);
  return cvx::tools::Main(app, argc, argv);
}
