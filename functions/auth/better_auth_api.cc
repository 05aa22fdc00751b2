// BetterAuth::Register: better-auth-convex's createApi (auth:create ... auth:deleteMany),
// the Convex plugin's getLatestJwks / rotateKeys, and registerRoutes (the /api/auth
// routes, CORS, the root openid-configuration redirect).

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/auth/better_auth.h"

namespace cvx::auth {
namespace {

absl::Status BadArgs(std::string message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "BetterAuthAdapterError",
                   std::move(message));
}

absl::StatusOr<std::string> StringField(const Value& obj, std::string_view name) {
  const Value* v = obj.Find(name);
  if (v == nullptr || !v->is_string()) return BadArgs(absl::StrCat("`", AV(name), "` must be a string"));
  return v->string();
}

absl::StatusOr<Object> ObjectField(const Value& obj, std::string_view name) {
  const Value* v = obj.Find(name);
  if (v == nullptr || !v->is_object()) return BadArgs(absl::StrCat("`", AV(name), "` must be an object"));
  return v->object();
}

absl::StatusOr<WhereList> WhereField(const Value& obj) {
  const Value* v = obj.Find("where");
  return v == nullptr ? WhereList{} : WhereListFromValue(*v);
}

// createApi's `{input: {model, where?, ...}}` argument.
struct Input {
  Value in;
  std::string model;
  WhereList where;
};
absl::StatusOr<Input> ReadInput(const Object& args) {
  CVX_ASSIGN_OR_RETURN(Object input, ObjectField(Value::FromObject(args), "input"));
  Input out{Value::FromObject(std::move(input)), "", {}};
  CVX_ASSIGN_OR_RETURN(out.model, StringField(out.in, "model"));
  CVX_ASSIGN_OR_RETURN(out.where, WhereField(out.in));
  return out;
}

// Pages over an already-computed list: the cursor is the offset of the next row.
Value Page(std::vector<Value> rows, const Value* pagination_opts) {
  size_t start = 0, n = rows.size();
  if (pagination_opts != nullptr && pagination_opts->is_object()) {
    if (const Value* c = pagination_opts->Find("cursor"); c && c->is_string()) {
      uint64_t parsed = 0;
      if (absl::SimpleAtoi(c->string(), &parsed)) start = std::min<size_t>(parsed, rows.size());
    }
    if (const Value* k = pagination_opts->Find("numItems"); k && k->is_float64() && k->float64() >= 0) {
      n = static_cast<size_t>(k->float64());
    }
  }
  size_t end = std::min(rows.size(), start + n);
  Array page(std::make_move_iterator(rows.begin() + start), std::make_move_iterator(rows.begin() + end));
  return Value::FromObject({{"page", Value::FromArray(std::move(page))},
                            {"isDone", Value::Boolean(end >= rows.size())},
                            {"continueCursor", Value::String(absl::StrCat(end))}});
}

}  // namespace

void BetterAuth::Register(App& app) {
  const Models* models = &models_;
  const Triggers* triggers = &triggers_;

  app.InternalMutation("auth:create", std::nullopt,
                       [models, triggers](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
    Value a = Value::FromObject(args);
    CVX_ASSIGN_OR_RETURN(Object input, ObjectField(a, "input"));
    Value in = Value::FromObject(input);
    CVX_ASSIGN_OR_RETURN(std::string model, StringField(in, "model"));
    CVX_ASSIGN_OR_RETURN(Object data, ObjectField(in, "data"));
    std::vector<std::string> select;
    if (const Value* s = a.Find("select"); s && s->is_array()) {
      for (const Value& f : s->array()) {
        if (f.is_string()) select.push_back(f.string());
      }
    }
    Adapter db(&ctx, models, triggers);
    db.set_convex_shape(true);
    return db.Create(model, std::move(data), select);
  });

  app.InternalQuery("auth:findOne", std::nullopt,
                    [models](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
    Value a = Value::FromObject(args);
    CVX_ASSIGN_OR_RETURN(std::string model, StringField(a, "model"));
    CVX_ASSIGN_OR_RETURN(WhereList where, WhereField(a));
    Adapter db(&ctx, models);
    db.set_convex_shape(true);
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, db.FindOne(model, where));
    return doc.value_or(Value::Null());
  });

  app.InternalQuery("auth:findMany", std::nullopt,
                    [models](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
    Value a = Value::FromObject(args);
    CVX_ASSIGN_OR_RETURN(std::string model, StringField(a, "model"));
    CVX_ASSIGN_OR_RETURN(WhereList where, WhereField(a));
    size_t limit = SIZE_MAX, offset = 0;
    if (const Value* l = a.Find("limit"); l && l->is_float64()) limit = static_cast<size_t>(l->float64());
    if (const Value* o = a.Find("offset"); o && o->is_float64()) offset = static_cast<size_t>(o->float64());
    std::optional<SortBy> sort;
    if (const Value* s = a.Find("sortBy"); s && s->is_object()) {
      CVX_ASSIGN_OR_RETURN(std::string field, StringField(*s, "field"));
      const Value* dir = s->Find("direction");
      sort = SortBy{field, dir && dir->is_string() && dir->string() == "desc"};
    }
    Adapter db(&ctx, models);
    db.set_convex_shape(true);
    CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, db.FindMany(model, where, limit, sort, offset));
    return Page(std::move(rows), a.Find("paginationOpts"));
  });

  app.InternalMutation("auth:updateOne", std::nullopt,
                       [models, triggers](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(Input input, ReadInput(args));
    CVX_ASSIGN_OR_RETURN(Object update, ObjectField(input.in, "update"));
    Adapter db(&ctx, models, triggers);
    db.set_convex_shape(true);
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc,
                         db.UpdateOne(input.model, input.where, std::move(update)));
    return doc.value_or(Value::Null());
  });

  // The many-variants write every matching row in this one transaction (Convex's write
  // limits bound it) and answer with a finished page plus {count, ids}.
  auto many = [models, triggers](bool is_delete) {
    return [models, triggers, is_delete](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
      CVX_ASSIGN_OR_RETURN(Input input, ReadInput(args));
      const std::string& model = input.model;
      const WhereList& where = input.where;
      const Value& in = input.in;
      Adapter db(&ctx, models, triggers);
      db.set_convex_shape(true);
      CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, db.FindMany(model, where, SIZE_MAX));
      Array ids;
      for (const Value& row : rows) ids.push_back(*row.Find("_id"));
      if (is_delete) {
        CVX_RETURN_IF_ERROR(db.DeleteMany(model, where).status());
      } else {
        CVX_ASSIGN_OR_RETURN(Object update, ObjectField(in, "update"));
        CVX_RETURN_IF_ERROR(db.UpdateMany(model, where, std::move(update)).status());
      }
      return Value::FromObject({{"page", Value::FromArray({})},
                                {"isDone", Value::Boolean(true)},
                                {"continueCursor", Value::String("")},
                                {"count", Value::Float64(static_cast<double>(ids.size()))},
                                {"ids", Value::FromArray(std::move(ids))}});
    };
  };
  app.InternalMutation("auth:updateMany", std::nullopt, many(false));
  app.InternalMutation("auth:deleteMany", std::nullopt, many(true));

  app.InternalMutation("auth:deleteOne", std::nullopt,
                       [models, triggers](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(Input input, ReadInput(args));
    Adapter db(&ctx, models, triggers);
    db.set_convex_shape(true);
    CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, db.FindOne(input.model, input.where));
    CVX_RETURN_IF_ERROR(db.DeleteOne(input.model, input.where));
    return doc.value_or(Value::Null());
  });

  auto keys_action = [this](bool rotate) {
    return [this, rotate](ActionCtx& ctx, const Object&) -> absl::StatusOr<Value> {
      CVX_ASSIGN_OR_RETURN(Config config, LoadConfig(ctx));
      return ctx.RunInTransaction(rotate ? "auth:rotateKeys" : "auth:getLatestJwks",
                                  [&](MutationCtx& m) -> absl::StatusOr<Value> {
        if (rotate) {
          Adapter db = MakeAdapter(m);
          CVX_RETURN_IF_ERROR(db.DeleteMany("jwks", {}).status());
        }
        CVX_ASSIGN_OR_RETURN(JwksRow row, LatestJwks(m, config.secret));
        return JwksRowsValue(row);
      });
    };
  };
  app.InternalAction("auth:getLatestJwks", std::nullopt, keys_action(false));
  app.InternalAction("auth:rotateKeys", std::nullopt, keys_action(true));

  // Routes (registerRoutes): GET and POST under base_path, CORS when asked.
  HttpActionHandler handler = [this](ActionCtx& ctx,
                                     const HttpActionRequest& req) -> absl::StatusOr<HttpActionResponse> {
    std::string origin;
    bool cors_ok = false;
    if (options_.cors) {
      auto it = req.headers.find("origin");
      if (it != req.headers.end()) {
        origin = it->second;
        absl::StatusOr<Config> config = LoadConfig(ctx);
        cors_ok = config.ok() && config->Trusted(origin);
      }
    }
    HttpActionResponse response;
    if (req.method == "OPTIONS") {
      response.status = 204;
      if (cors_ok) {
        response.headers["access-control-allow-methods"] = "GET,POST";
        response.headers["access-control-allow-headers"] =
            "Content-Type,Better-Auth-Cookie,Authorization";
        response.headers["access-control-max-age"] = "86400";
      }
    } else {
      CVX_ASSIGN_OR_RETURN(response, Handle(ctx, req));
    }
    if (cors_ok) {
      response.headers["access-control-allow-origin"] = origin;
      response.headers["access-control-allow-credentials"] = "true";
      response.headers["vary"] = "Origin";
      std::string& expose = response.headers["access-control-expose-headers"];
      expose = expose.empty() ? "Set-Better-Auth-Cookie" : expose + ",Set-Better-Auth-Cookie";
    }
    return response;
  };
  std::string prefix = options_.base_path + "/";
  app.http().RoutePrefix("GET", prefix, handler);
  app.http().RoutePrefix("POST", prefix, handler);
  if (options_.cors) app.http().RoutePrefix("OPTIONS", prefix, handler);
  app.http().Route("GET", "/.well-known/openid-configuration",
                   [this](ActionCtx& ctx, const HttpActionRequest&) -> absl::StatusOr<HttpActionResponse> {
    HttpActionResponse r;
    r.status = 302;
    std::string site = ctx.Env("CONVEX_SITE_URL").value_or("");
    r.headers["location"] =
        absl::StrCat(site, options_.base_path, "/convex/.well-known/openid-configuration");
    return r;
  });
}

}  // namespace cvx::auth
