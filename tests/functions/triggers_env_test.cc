// Triggers on update and delete (before* replacing data, on* seeing new and old), patch
// field removal, environment variables, and the bounded OCC retry loop.

#include <atomic>

#include "engine/base/status_macros.h"
#include "functions/harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;

App MakeApp(std::vector<std::string>* events) {
  App app;
  app.SetSchema(DefineSchema()
                    .Table("users", DefineTable({{"name", v::String()},
                                                 {"nick", v::Optional(v::String())}}))
                    .Table("audit", DefineTable({{"event", v::String()}})));
  app.Mutation("users:create", v::Object({{"name", v::String()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_ASSIGN_OR_RETURN(std::string id, ctx.db().Insert("users", args));
                 return Value::String(id);
               });
  app.Mutation("users:rename", v::Object({{"id", v::Id("users")}, {"name", v::String()}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Patch(args.at("id").string(),
                                                    {{"name", args.at("name")}, {"nick", std::nullopt}}));
                 return Value::Null();
               });
  app.Mutation("users:remove", v::Object({{"id", v::Id("users")}}),
               [](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 CVX_RETURN_IF_ERROR(ctx.db().Delete(args.at("id").string()));
                 return Value::Null();
               });
  app.Query("users:get", v::Object({{"id", v::Id("users")}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              CVX_ASSIGN_OR_RETURN(auto doc, ctx.db().Get(args.at("id").string()));
              return doc.value_or(Value::Null());
            });
  app.Query("audit:count", std::nullopt, [](QueryCtx& ctx, const Object&) -> absl::StatusOr<Value> {
    CVX_ASSIGN_OR_RETURN(auto docs, ctx.db().Query("audit").Collect());
    return I(static_cast<int64_t>(docs.size()));
  });
  app.Query("env:get", v::Object({{"name", v::String()}}),
            [](QueryCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
              std::optional<std::string> value = ctx.Env(args.at("name").string());
              return value ? Str(*value) : Value::Null();
            });
  TableTriggers& users = app.triggers().For("users");
  users.before_create = [events](DatabaseWriter&, Object data) -> absl::StatusOr<Object> {
    events->push_back("beforeCreate");
    data["nick"] = Str(data.at("name").string().substr(0, 2));
    return data;
  };
  users.on_create = [events](DatabaseWriter& db, const Value& doc) -> absl::Status {
    events->push_back("onCreate:" + doc.Find("nick")->string());
    return db.Insert("audit", {{"event", Str("created")}}).status();
  };
  users.before_update = [events](DatabaseWriter&, const Value& old_doc,
                                 Object fields) -> absl::StatusOr<Object> {
    events->push_back("beforeUpdate:" + old_doc.Find("name")->string());
    fields["name"] = Str(fields.at("name").string() + "!");
    return fields;
  };
  users.on_update = [events](DatabaseWriter& db, const Value& new_doc,
                             const Value& old_doc) -> absl::Status {
    events->push_back("onUpdate:" + old_doc.Find("name")->string() + "->" +
                      new_doc.Find("name")->string());
    return db.Insert("audit", {{"event", Str("updated")}}).status();
  };
  users.before_delete = [events](DatabaseWriter&, const Value& doc) -> absl::Status {
    events->push_back("beforeDelete:" + doc.Find("name")->string());
    if (doc.Find("name")->string() == "keep!") return absl::FailedPreconditionError("protected");
    return absl::OkStatus();
  };
  users.on_delete = [events](DatabaseWriter& db, const Value&) -> absl::Status {
    events->push_back("onDelete");
    return db.Insert("audit", {{"event", Str("deleted")}}).status();
  };
  return app;
}

TEST(TriggersTest, OrderReplacementAndOldNew) {
  std::vector<std::string> events;
  App app = MakeApp(&events);
  TestBackend t(app);
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("users:create", {{"name", Str("ada")}}));
  ASSERT_OK_AND_ASSIGN(Value doc, t.Query("users:get", {{"id", id}}));
  EXPECT_EQ(doc.Find("nick")->string(), "ad");
  ASSERT_OK(t.Mutation("users:rename", {{"id", id}, {"name", Str("grace")}}).status());
  ASSERT_OK_AND_ASSIGN(doc, t.Query("users:get", {{"id", id}}));
  EXPECT_EQ(doc.Find("name")->string(), "grace!");
  EXPECT_EQ(doc.Find("nick"), nullptr);  // patch with undefined removed the field
  ASSERT_OK(t.Mutation("users:remove", {{"id", id}}).status());
  EXPECT_THAT(events, ::testing::ElementsAre("beforeCreate", "onCreate:ad", "beforeUpdate:ada",
                                             "onUpdate:ada->grace!", "beforeDelete:grace!",
                                             "onDelete"));
  EXPECT_EQ(*t.Query("audit:count"), I(3));
}

TEST(TriggersTest, BeforeDeleteCanRefuseAndNothingPersists) {
  std::vector<std::string> events;
  App app = MakeApp(&events);
  TestBackend t(app);
  ASSERT_OK_AND_ASSIGN(Value id, t.Mutation("users:create", {{"name", Str("x")}}));
  ASSERT_OK(t.Mutation("users:rename", {{"id", id}, {"name", Str("keep")}}).status());
  EXPECT_THAT(t.Mutation("users:remove", {{"id", id}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, "FunctionError"));
  ASSERT_OK_AND_ASSIGN(Value doc, t.Query("users:get", {{"id", id}}));
  EXPECT_FALSE(doc.is_null());
  EXPECT_EQ(*t.Query("audit:count"), I(2));  // create + update only
}

TEST(EnvTest, SetGetListRemove) {
  std::vector<std::string> events;
  App app = MakeApp(&events);
  TestBackend t(app);
  EXPECT_TRUE(t.Query("env:get", {{"name", Str("API_KEY")}})->is_null());
  ASSERT_OK(t.runner().SetEnv("API_KEY", "secret"));
  ASSERT_OK(t.runner().SetEnv("OTHER", "1"));
  ASSERT_OK(t.runner().SetEnv("API_KEY", "rotated"));
  EXPECT_EQ(*t.Query("env:get", {{"name", Str("API_KEY")}}), Str("rotated"));
  ASSERT_OK_AND_ASSIGN(auto all, t.runner().ListEnv());
  EXPECT_EQ(all.size(), 2u);
  ASSERT_OK(t.runner().RemoveEnv("API_KEY"));
  EXPECT_TRUE(t.Query("env:get", {{"name", Str("API_KEY")}})->is_null());
}

TEST(OccTest, RetriesAreBoundedThenConvexError) {
  App app;
  app.SetSchema(DefineSchema().Table("counters", DefineTable({{"n", v::Float64()}})));
  std::atomic<int> attempts{0};
  Database* db_ptr = nullptr;
  app.Mutation("counters:contended", v::Object({{"id", v::Id("counters")}}),
               [&](MutationCtx& ctx, const Object& args) -> absl::StatusOr<Value> {
                 attempts.fetch_add(1);
                 CVX_ASSIGN_OR_RETURN(auto doc, ctx.db().Get(args.at("id").string()));
                 // Someone else changes the document before every commit.
                 auto other = db_ptr->Begin();
                 CVX_ASSIGN_OR_RETURN(DocumentId id, DocumentId::Decode(args.at("id").string()));
                 CVX_RETURN_IF_ERROR(other->Replace(id, {{"n", F(attempts.load())}}));
                 CVX_RETURN_IF_ERROR(other->Commit());
                 CVX_RETURN_IF_ERROR(ctx.db().Patch(args.at("id").string(), {{"n", F(-1)}}));
                 return Value::Null();
               });
  TestBackendOptions options;
  options.runner.occ_initial_backoff = absl::Milliseconds(1);
  TestBackend t(app, options);
  db_ptr = &t.db();
  Value id;
  ASSERT_OK(t.Run([&](MutationCtx& ctx) -> absl::Status {
    CVX_ASSIGN_OR_RETURN(std::string s, ctx.db().Insert("counters", {{"n", F(0)}}));
    id = Str(s);
    return absl::OkStatus();
  }));
  EXPECT_THAT(t.Mutation("counters:contended", {{"id", id}}),
              StatusIs(absl::StatusCode::kAborted, "OptimisticConcurrencyControlFailure"));
  EXPECT_EQ(attempts.load(), 5);  // the first run and 4 retries
}

}  // namespace
}  // namespace cvx
