// functions_bench: the function runtime against the raw engine doing the same work, in the
// same run (issue #3). Two workloads, 1 thread, durability process:
//   lookup: a query doing one indexed lookup (withIndex eq + first) vs Begin + Scan(limit 1)
//   insert: a mutation doing one insert vs Begin + Insert + Commit
// The runtime adds path resolution, argument validation, contexts, schema checks, limits
// and result building. Target: at most 1.5x the raw engine's cost.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "bench/bench_util.h"
#include "engine/base/status_macros.h"
#include "functions/runner.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT

App MakeApp() {
  App app;
  app.SetSchema(DefineSchema().Table(
      "accounts", DefineTable({{"owner", v::String()}, {"balance", v::Int64()}})
                      .Index("by_owner", {"owner"})));
  app.Query("bench:lookup", v::Object({{"owner", v::String()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(
                  std::optional<Value> doc,
                  ctx.db()
                      .Query("accounts")
                      .WithIndex("by_owner", [&](IndexRangeBuilder& q) { q.Eq("owner", args.at("owner")); })
                      .First());
              return doc.value_or(Value::Null());
            });
  app.Mutation("bench:insert", v::Object({{"owner", v::String()}, {"balance", v::Int64()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("accounts", args));
                 return Value::String(id);
               });
  return app;
}

void Row(const char* name, const Result& ours, const Result& raw) {
  std::printf("| %s | %s | %s / %s | %s | %s / %s | %.2fx |\n", name, Fmt(ours.ops_per_sec).c_str(),
              Fmt(ours.p50_us).c_str(), Fmt(ours.p99_us).c_str(), Fmt(raw.ops_per_sec).c_str(),
              Fmt(raw.p50_us).c_str(), Fmt(raw.p99_us).c_str(), raw.ops_per_sec / ours.ops_per_sec);
}

void Run(const std::string& dir) {
  std::filesystem::remove_all(dir);
  DatabaseOptions options;
  options.path = dir;
  auto opened = Database::Open(options);
  if (!opened.ok()) Die("open");
  std::unique_ptr<Database> db = std::move(opened).value();
  App app = MakeApp();
  if (!ApplySchema(*db, app.schema()).ok()) Die("schema");
  Runner runner(&app, db.get());
  constexpr int kOwners = 10000;
  for (int batch = 0; batch < 10; ++batch) {
    auto txn = db->Begin();
    for (int i = 0; i < kOwners / 10; ++i) {
      int n = batch * (kOwners / 10) + i;
      if (!txn->Insert("accounts", {{"owner", Value::String("owner-" + std::to_string(n))},
                                    {"balance", Value::Int64(n)}})
               .ok()) {
        Die("load");
      }
    }
    if (!txn->Commit().ok()) Die("load commit");
  }
  std::mt19937 rng(7);
  Result ours_lookup = RunTimed(1, [&](int) {
    Value args = Value::FromObject({{"owner", Value::String("owner-" + std::to_string(rng() % kOwners))}});
    auto r = runner.Run("bench:lookup", args);
    if (!r.ok() || !r->ok() || r->value->is_null()) Die("lookup");
  });
  Result raw_lookup = RunTimed(1, [&](int) {
    auto txn = db->Begin();
    ScanRequest req;
    req.table = "accounts";
    req.index = "by_owner";
    req.range.eq.push_back(Value::String("owner-" + std::to_string(rng() % kOwners)));
    req.limit = 1;
    auto r = txn->Scan(req);
    if (!r.ok() || r->documents.empty()) Die("raw lookup");
    Value doc = r->documents[0].ToValue();  // the runtime returns the document as a value
    (void)doc;
  });
  int64_t n = 0;
  Result ours_insert = RunTimed(1, [&](int) {
    Value args = Value::FromObject({{"owner", Value::String("new-" + std::to_string(n))},
                                    {"balance", Value::Int64(n)}});
    ++n;
    auto r = runner.Run("bench:insert", args);
    if (!r.ok() || !r->ok()) Die("insert");
  });
  Result raw_insert = RunTimed(1, [&](int) {
    auto txn = db->Begin();
    if (!txn->Insert("accounts", {{"owner", Value::String("raw-" + std::to_string(n))},
                                  {"balance", Value::Int64(n)}})
             .ok()) {
      Die("raw insert");
    }
    ++n;
    if (!txn->Commit().ok()) Die("raw commit");
  });
  std::printf("## Function runtime (functions_bench, %.1f s per cell, 1 thread, process mode)\n\n",
              g_seconds);
  std::printf("| case | runtime calls/s | p50 / p99 µs | raw engine ops/s | p50 / p99 µs | cost ratio |\n");
  std::printf("|---|---|---|---|---|---|\n");
  Row("query: one indexed lookup", ours_lookup, raw_lookup);
  Row("mutation: one insert", ours_insert, raw_insert);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  cvx::bench::ParseArgs(argc, argv);
  cvx::Run(std::filesystem::temp_directory_path().string() + "/cvx-functions-bench-" +
           std::to_string(getpid()));
  return 0;
}
