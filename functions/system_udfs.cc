#include "functions/system_udfs.h"

#include <algorithm>

#include "engine/base/status_macros.h"
#include "functions/app.h"
#include "functions/context.h"
#include "functions/function_path.h"
#include "functions/query.h"

namespace cvx {
namespace {

// The newest `limit` rows of a system table.
absl::StatusOr<std::vector<Value>> Newest(QueryCtx& ctx, const char* table, size_t limit) {
  return ctx.db().System().Query(table).Order(Order::kDesc).Take(limit);
}

absl::StatusOr<std::vector<Value>> EnvironmentVariables(QueryCtx& ctx) {
  CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, ctx.db().System().Query(kEnvironmentTable).Collect());
  std::sort(rows.begin(), rows.end(), [](const Value& a, const Value& b) {
    return a.Find("name")->string() < b.Find("name")->string();
  });
  return rows;
}

App BuildSystemApp() {
  App app;
  app.InternalQuery("_system/cli/queryEnvironmentVariables", v::Object({}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, EnvironmentVariables(ctx));
                      return Value::FromArray(Array(rows.begin(), rows.end()));
                    });
  app.InternalQuery("_system/cli/queryEnvironmentVariables:get", v::Object({{"name", v::String()}}),
                    [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                      CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, EnvironmentVariables(ctx));
                      for (const Value& row : rows) {
                        if (*row.Find("name") == args.at("name")) return row;
                      }
                      return Value::Null();
                    });
  // Every user table in one page (a deployment has far fewer than numItems tables).
  app.InternalQuery("_system/cli/tables", v::Object({{"paginationOpts", PaginationOptsValidator()}}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      Array page;
                      for (const std::string& name : ctx.db().transaction()->TableNames()) {
                        if (name.empty() || name[0] == '_') continue;
                        page.push_back(Value::FromObject({{"name", Value::String(name)}}));
                      }
                      return Value::FromObject({{"page", Value::FromArray(std::move(page))},
                                                {"isDone", Value::Boolean(true)},
                                                {"continueCursor", Value::String("")}});
                    });
  app.InternalQuery(
      "_system/cli/tableData",
      v::Object({{"table", v::String()},
                 {"order", v::Optional(v::Union({v::Literal(Value::String("asc")),
                                                 v::Literal(Value::String("desc"))}))},
                 {"paginationOpts", PaginationOptsValidator()}}),
      [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
        const std::string& table = args.at("table").string();
        if (table.empty() || table[0] == '_') {
          return Value::FromObject({{"page", Value::FromArray({})},
                                    {"isDone", Value::Boolean(true)},
                                    {"continueCursor", Value::String("")}});
        }
        auto order = args.find("order");
        bool desc = order == args.end() || order->second.string() == "desc";
        return ctx.db()
            .Query(table)
            .Order(desc ? Order::kDesc : Order::kAsc)
            .Paginate(args.at("paginationOpts"));
      });
  app.InternalQuery("_system/cli/exports:getLatest", v::Object({}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, Newest(ctx, kExportsTable, 1));
                      return rows.empty() ? Value::Null() : rows.front();
                    });
  app.InternalQuery("_system/cli/queryImport", v::Object({{"importId", v::String()}}),
                    [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                      std::optional<std::string> id = ctx.db().System().NormalizeId(
                          kSnapshotImportsTable, args.at("importId").string());
                      if (!id) return Value::Null();
                      CVX_ASSIGN_OR_RETURN(std::optional<Value> row, ctx.db().System().Get(*id));
                      return row.value_or(Value::Null());
                    });
  app.InternalQuery("_system/cli/queryImport:list", v::Object({}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      CVX_ASSIGN_OR_RETURN(std::vector<Value> rows, Newest(ctx, kSnapshotImportsTable, 20));
                      return Value::FromArray(Array(rows.begin(), rows.end()));
                    });
  app.InternalQuery("_system/cli/convexUrl:cloudUrl", v::Object({}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      std::optional<std::string> url = ctx.Env("CONVEX_CLOUD_URL");
                      return url ? Value::String(*url) : Value::Null();
                    });
  // `npx convex function-spec`: every function of the app the call runs in, C++ and pushed.
  app.InternalQuery("_system/cli/modules:apiSpec",
                    v::Object({{"componentId", v::Optional(v::Union({v::String(), v::Null()}))}}),
                    [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
                      Array specs;
                      if (ctx.app() == nullptr) return Value::FromArray(std::move(specs));
                      Value any = Value::FromObject({{"type", Value::String("any")}});
                      for (const auto& [path, fn] : ctx.app()->functions()) {
                        specs.push_back(Value::FromObject(
                            {{"identifier", Value::String(FunctionPathWithJs(path))},
                             {"functionType", Value::String(FunctionTypeName(fn.type))},
                             {"visibility", Value::FromObject({{"kind", Value::String(
                                                fn.visibility == Visibility::kPublic ? "public" : "internal")}})},
                             {"args", fn.args ? fn.args->ToJson() : any},
                             {"returns", fn.returns ? fn.returns->ToJson() : any}}));
                      }
                      for (const auto& [method, route] : ctx.app()->http().Routes()) {
                        specs.push_back(Value::FromObject({{"functionType", Value::String("HttpAction")},
                                                           {"method", Value::String(method)},
                                                           {"path", Value::String(route)}}));
                      }
                      return Value::FromArray(std::move(specs));
                    });
  return app;
}

}  // namespace

const RegisteredFunction* FindSystemFunction(std::string_view canonical_path) {
  static const App* system = new App(BuildSystemApp());
  return system->Find(canonical_path);
}

}  // namespace cvx
