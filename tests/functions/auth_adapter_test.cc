// The Better Auth adapter (functions/auth/adapter.h) on the real runtime (memory RocksDB):
// generated tables and indexes, every where operator, AND/OR lists against a brute-force
// oracle, index choice, unique checks, ISO dates, sort/limit/offset, trigger order and
// arguments, and atomicity (a throwing trigger leaves no user, account or session).

#include "functions/auth/adapter.h"

#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/app.h"
#include "functions/auth/model.h"
#include "functions/harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/values.h"

namespace cvx::auth {
namespace {

using ::cvx::testing::F;
using ::cvx::testing::StatusHasCode;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using Op = Where::Op;

Where W(std::string field, Value value, Op op = Op::kEq, bool or_connector = false) {
  return Where{std::move(field), std::move(value), op, or_connector};
}

class AdapterTest : public ::testing::Test {
 protected:
  AdapterTest() : models_(Options()) {
    SchemaDefinition schema;
    models_.AddTables(schema);
    app_.SetSchema(std::move(schema));
    backend_ = std::make_unique<TestBackend>(app_);
  }

  static ModelOptions Options() {
    ModelOptions o;
    FieldSpec username;
    username.name = "username";
    username.required = false;
    o.user_fields.push_back(username);
    return o;
  }

  // Runs `body` with an adapter in one mutation transaction.
  absl::Status Run(const std::function<absl::Status(Adapter&)>& body) {
    return backend_->Run([&](MutationCtx& ctx) {
      Adapter adapter(&ctx, &models_, &triggers_);
      return body(adapter);
    });
  }

  absl::StatusOr<Value> Create(std::string model, Object data) {
    // Distinct _creationTimes, so creation order is the default order.
    EXPECT_OK(backend_->AdvanceTime(absl::Milliseconds(1)));
    absl::StatusOr<Value> out;
    absl::Status s = Run([&](Adapter& a) {
      out = a.Create(model, std::move(data));
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  std::vector<Value> FindMany(std::string model, WhereList where, size_t limit = 1000,
                              std::optional<SortBy> sort = std::nullopt, size_t offset = 0) {
    std::vector<Value> out;
    absl::Status s = Run([&](Adapter& a) {
      CVX_ASSIGN_OR_RETURN(out, a.FindMany(model, where, limit, sort, offset));
      return absl::OkStatus();
    });
    EXPECT_OK(s);
    return out;
  }

  int64_t Count(std::string model, WhereList where = {}) {
    int64_t n = -1;
    EXPECT_OK(Run([&](Adapter& a) {
      CVX_ASSIGN_OR_RETURN(n, a.Count(model, where));
      return absl::OkStatus();
    }));
    return n;
  }

  std::string Index(std::string model, WhereList where) {
    std::string index;
    EXPECT_OK(Run([&](Adapter& a) {
      CVX_ASSIGN_OR_RETURN(index, a.ChosenIndex(model, where));
      return absl::OkStatus();
    }));
    return index;
  }

  Object User(std::string email, std::string name = "Ada") {
    return {{"name", Str(name)}, {"email", Str(email)}, {"createdAt", F(1000)},
            {"updatedAt", F(1000)}};
  }

  Models models_;
  Triggers triggers_;
  App app_;
  std::unique_ptr<TestBackend> backend_;
};

std::vector<std::string> Ids(const std::vector<Value>& docs) {
  std::vector<std::string> ids;
  for (const Value& d : docs) ids.push_back(d.Find("id")->string());
  return ids;
}

TEST_F(AdapterTest, TablesAndIndexesFollowTheGenerator) {
  std::map<std::string, std::vector<std::string>> indexes;
  for (const auto& [name, table] : app_.schema().tables()) {
    for (const IndexDefinition& idx : table.indexes()) indexes[name].push_back(idx.name);
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(indexes["user"], (V{"email_name", "name", "userId"}));
  EXPECT_EQ(indexes["session"], (V{"expiresAt", "expiresAt_userId", "token", "userId"}));
  EXPECT_EQ(indexes["account"],
            (V{"accountId", "accountId_providerId", "providerId_userId", "userId"}));
  EXPECT_EQ(indexes["verification"], (V{"expiresAt", "identifier"}));
  EXPECT_EQ(indexes["jwks"], V{});
  EXPECT_EQ(indexes["organization"], (V{"name", "slug"}));
  EXPECT_EQ(indexes["member"], (V{"organizationId", "userId", "role"}));
  EXPECT_EQ(indexes["invitation"], (V{"organizationId", "email", "role", "status", "inviterId"}));

  const TableDefinition* user = app_.schema().Find("user");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->document().ToString(),
            "v.object({banExpires: v.optional(v.union(v.null(), v.float64())), banReason: "
            "v.optional(v.union(v.null(), v.string())), banned: v.optional(v.union(v.null(), "
            "v.boolean())), createdAt: v.float64(), email: v.string(), emailVerified: "
            "v.boolean(), image: v.optional(v.union(v.null(), v.string())), name: v.string(), "
            "role: v.optional(v.union(v.null(), v.string())), updatedAt: v.float64(), userId: "
            "v.optional(v.union(v.null(), v.string())), username: v.optional(v.union(v.null(), "
            "v.string()))})");
  ModelOptions bare;
  bare.admin = bare.organization = bare.jwt = false;
  Models core(bare);
  EXPECT_EQ(core.all().size(), 4u);
  EXPECT_EQ(core.Find("user")->Field("role"), nullptr);
  EXPECT_EQ(core.Find("session")->Field("activeOrganizationId"), nullptr);
}

TEST_F(AdapterTest, CreateReturnsBetterAuthShapeWithDefaults) {
  ASSERT_OK_AND_ASSIGN(Value user, Create("user", User("ada@example.com")));
  EXPECT_NE(user.Find("id"), nullptr);
  EXPECT_EQ(user.Find("_id"), nullptr);
  EXPECT_EQ(user.Find("_creationTime"), nullptr);
  EXPECT_EQ(*user.Find("emailVerified"), Value::Boolean(false));  // default
  EXPECT_EQ(*user.Find("email"), Str("ada@example.com"));

  // ISO dates on date fields become ms; ids in the data and unknown keys are dropped.
  Object data = User("bob@example.com");
  data["createdAt"] = Str("2026-01-01T00:00:00.250Z");
  data["id"] = Str("client-chosen");
  data["notInSchema"] = F(1);
  ASSERT_OK_AND_ASSIGN(Value bob, Create("user", data));
  EXPECT_EQ(*bob.Find("createdAt"), F(1767225600250.0));
  EXPECT_NE(bob.Find("id")->string(), "client-chosen");
  EXPECT_EQ(bob.Find("notInSchema"), nullptr);

  data = User("c@example.com");
  data["createdAt"] = Str("yesterday");
  EXPECT_THAT(Create("user", data).status(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Create("nosuchmodel", {}).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  // The schema still applies: a required field missing is refused.
  EXPECT_THAT(Create("user", {{"email", Str("x@y.z")}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
  EXPECT_EQ(Count("user"), 2);
}

TEST_F(AdapterTest, SelectKeepsOnlyTheNamedFields) {
  Value out;
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(out, a.Create("user", User("s@example.com"), {"email"}));
    return absl::OkStatus();
  }));
  EXPECT_EQ(out.object().size(), 2u);
  EXPECT_NE(out.Find("id"), nullptr);
  EXPECT_NE(out.Find("email"), nullptr);
}

TEST_F(AdapterTest, UniqueFieldsAreChecked) {
  ASSERT_OK_AND_ASSIGN(Value ada, Create("user", User("ada@example.com")));
  ASSERT_OK_AND_ASSIGN(Value bob, Create("user", User("bob@example.com")));
  absl::Status dup = Create("user", User("ada@example.com", "Other")).status();
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "user email already exists");

  // Updating to another row's value fails; to one's own value succeeds.
  absl::Status upd = Run([&](Adapter& a) {
    return a.UpdateOne("user", {W("id", *bob.Find("id"))}, {{"email", Str("ada@example.com")}})
        .status();
  });
  EXPECT_EQ(upd.message(), "user email already exists");
  EXPECT_OK(Run([&](Adapter& a) {
    return a.UpdateOne("user", {W("id", *ada.Find("id"))}, {{"email", Str("ada@example.com")}})
        .status();
  }));
  EXPECT_EQ(Count("user", {W("email", Str("ada@example.com"))}), 1);
}

TEST_F(AdapterTest, EveryOperator) {
  std::vector<std::string> ids;
  int i = 0;
  for (const char* name : {"alpha", "beta", "gamma", "delta"}) {
    Object u = User(absl::StrCat(name, "@example.com"), name);
    u["createdAt"] = F(100.0 * ++i);
    if (i % 2 == 0) u["image"] = Str(absl::StrCat("img-", name));
    ASSERT_OK_AND_ASSIGN(Value doc, Create("user", u));
    ids.push_back(doc.Find("id")->string());
  }
  auto names = [&](WhereList where) {
    std::vector<std::string> out;
    for (const Value& d : FindMany("user", where)) out.push_back(d.Find("name")->string());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({W("name", Str("beta"))}), V{"beta"});
  EXPECT_EQ(names({W("name", Str("beta"), Op::kNe)}), (V{"alpha", "gamma", "delta"}));
  EXPECT_EQ(names({W("createdAt", F(200), Op::kLt)}), V{"alpha"});
  EXPECT_EQ(names({W("createdAt", F(200), Op::kLte)}), (V{"alpha", "beta"}));
  EXPECT_EQ(names({W("createdAt", F(300), Op::kGt)}), V{"delta"});
  EXPECT_EQ(names({W("createdAt", F(300), Op::kGte)}), (V{"gamma", "delta"}));
  EXPECT_EQ(names({W("name", Value::FromArray({Str("gamma"), Str("alpha"), Str("zeta")}), Op::kIn)}),
            (V{"alpha", "gamma"}));
  EXPECT_EQ(names({W("name", Value::FromArray({Str("gamma"), Str("alpha")}), Op::kNotIn)}),
            (V{"beta", "delta"}));
  EXPECT_EQ(names({W("email", Str("mm"), Op::kContains)}), (V{"gamma"}));
  EXPECT_EQ(names({W("name", Str("de"), Op::kStartsWith)}), V{"delta"});
  EXPECT_EQ(names({W("name", Str("ta"), Op::kEndsWith)}), (V{"beta", "delta"}));
  // A missing field: ne and not_in match it, eq/range/contains do not.
  EXPECT_EQ(names({W("image", Str("img-beta"), Op::kNe)}), (V{"alpha", "gamma", "delta"}));
  EXPECT_EQ(names({W("image", Str("img"), Op::kStartsWith)}), (V{"beta", "delta"}));
  EXPECT_EQ(names({W("image", Str(""), Op::kGte)}), (V{"beta", "delta"}));
  // ids: eq, in, ne, and a string that is not an ID of this table.
  EXPECT_EQ(names({W("id", Str(ids[2]))}), V{"gamma"});
  EXPECT_EQ(names({W("id", Value::FromArray({Str(ids[3]), Str(ids[0])}), Op::kIn)}),
            (V{"alpha", "delta"}));
  EXPECT_EQ(names({W("id", Str(ids[0]), Op::kNe)}), (V{"beta", "gamma", "delta"}));
  EXPECT_EQ(names({W("id", Str("not-an-id"))}), V{});
  // Connectors: (AND...) and (OR...).
  EXPECT_EQ(names({W("name", Str("alpha"), Op::kEq, true), W("name", Str("delta"), Op::kEq, true)}),
            (V{"alpha", "delta"}));
  EXPECT_EQ(names({W("createdAt", F(150), Op::kGt), W("name", Str("alpha"), Op::kEq, true),
                   W("name", Str("delta"), Op::kEq, true)}),
            V{"delta"});
  // Contradictory bounds are fine (filtered exactly).
  EXPECT_EQ(names({W("createdAt", F(100), Op::kGt), W("createdAt", F(300), Op::kGt)}), V{"delta"});
  // Malformed clauses.
  EXPECT_THAT(Run([&](Adapter& a) { return a.FindMany("user", {W("nope", Str("x"))}).status(); }),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Run([&](Adapter& a) {
                return a.FindMany("user", {W("name", Str("x"), Op::kIn)}).status();
              }),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
}

// JS semantics of one clause, written independently of the adapter.
bool Oracle(const Object& row, const Where& w) {
  auto it = row.find(w.field == "id" ? "_id" : w.field);
  const Value* f = it == row.end() ? nullptr : &it->second;
  auto eq = [&](const Value& v) { return f != nullptr && *f == v; };
  auto cmp = [&](auto pred) {
    if (f == nullptr || f->type() != w.value.type()) return false;
    if (f->is_float64()) return pred(f->float64() < w.value.float64() ? -1 : f->float64() > w.value.float64() ? 1 : 0);
    return pred(f->string().compare(w.value.string()));
  };
  switch (w.op) {
    case Op::kEq: return eq(w.value);
    case Op::kNe: return !eq(w.value);
    case Op::kLt: return cmp([](int c) { return c < 0; });
    case Op::kLte: return cmp([](int c) { return c <= 0; });
    case Op::kGt: return cmp([](int c) { return c > 0; });
    case Op::kGte: return cmp([](int c) { return c >= 0; });
    case Op::kIn:
    case Op::kNotIn: {
      bool in = false;
      for (const Value& v : w.value.array()) in = in || eq(v);
      return w.op == Op::kIn ? in : !in;
    }
    case Op::kContains:
      return f && f->is_string() && f->string().find(w.value.string()) != std::string::npos;
    case Op::kStartsWith:
      return f && f->is_string() && f->string().rfind(w.value.string(), 0) == 0;
    case Op::kEndsWith:
      return f && f->is_string() && f->string().size() >= w.value.string().size() &&
             f->string().substr(f->string().size() - w.value.string().size()) == w.value.string();
  }
  return false;
}

TEST_F(AdapterTest, RandomWhereListsMatchABruteForceOracle) {
  std::mt19937 rng(42);
  std::vector<std::string> users = {"u1", "u2", "u3"};
  std::vector<Object> rows;
  for (int i = 0; i < 40; ++i) {
    Object s{{"userId", Str(users[rng() % 3])}, {"token", Str(absl::StrCat("tok", i))},
             {"expiresAt", F(static_cast<double>(rng() % 8))}, {"createdAt", F(i)},
             {"updatedAt", F(i)}};
    if (rng() % 2) s["ipAddress"] = Str(absl::StrCat("10.0.0.", rng() % 4));
    ASSERT_OK_AND_ASSIGN(Value doc, Create("session", s));
    s["_id"] = Str(doc.Find("id")->string());
    rows.push_back(s);
  }
  auto random_clause = [&]() {
    Where w;
    w.or_connector = rng() % 3 == 0;
    switch (rng() % 4) {
      case 0: {
        w.field = "userId";
        w.value = Str(users[rng() % 3]);
        w.op = std::vector<Op>{Op::kEq, Op::kNe, Op::kIn, Op::kNotIn}[rng() % 4];
        if (w.op == Op::kIn || w.op == Op::kNotIn) {
          w.value = Value::FromArray({Str(users[rng() % 3]), Str(users[rng() % 3])});
        }
        break;
      }
      case 1:
        w.field = "expiresAt";
        w.value = F(static_cast<double>(rng() % 8));
        w.op = std::vector<Op>{Op::kEq, Op::kLt, Op::kLte, Op::kGt, Op::kGte, Op::kNe}[rng() % 6];
        break;
      case 2:
        w.field = "ipAddress";
        w.value = Str(absl::StrCat("10.0.0.", rng() % 4));
        w.op = std::vector<Op>{Op::kEq, Op::kNe, Op::kEndsWith, Op::kStartsWith, Op::kContains}[rng() % 5];
        break;
      default:
        w.field = "token";
        w.value = Str(absl::StrCat("tok", rng() % 45));
        w.op = std::vector<Op>{Op::kEq, Op::kGt, Op::kLt}[rng() % 3];
        break;
    }
    return w;
  };
  for (int round = 0; round < 300; ++round) {
    WhereList where;
    size_t n = 1 + rng() % 4;
    for (size_t i = 0; i < n; ++i) where.push_back(random_clause());
    std::vector<std::string> expected;
    for (const Object& row : rows) {
      bool all = true, any_or = false, some = false;
      for (const Where& w : where) {
        if (w.or_connector) {
          any_or = true;
          some = some || Oracle(row, w);
        } else {
          all = all && Oracle(row, w);
        }
      }
      if (all && (!any_or || some)) expected.push_back(row.at("_id").string());
    }
    std::string desc;
    for (const Where& w : where) {
      absl::StrAppend(&desc, w.or_connector ? " OR " : " AND ", w.field, "#",
                      static_cast<int>(w.op));
    }
    EXPECT_THAT(Ids(FindMany("session", where)), UnorderedElementsAreArray(expected)) << desc;
  }
}

TEST_F(AdapterTest, IndexChoiceFollowsFindIndex) {
  EXPECT_EQ(Index("session", {W("token", Str("t"))}), "token");
  EXPECT_EQ(Index("user", {W("email", Str("a@b.c"))}), "email_name");
  EXPECT_EQ(Index("user", {W("name", Str("n")), W("email", Str("a@b.c"))}), "email_name");
  EXPECT_EQ(Index("account", {W("userId", Str("u")), W("providerId", Str("credential"))}),
            "providerId_userId");
  EXPECT_EQ(Index("account", {W("accountId", Str("a")), W("providerId", Str("p"))}),
            "accountId_providerId");
  EXPECT_EQ(Index("verification", {W("identifier", Str("i"))}), "identifier");
  EXPECT_EQ(Index("session", {W("userId", Str("u"))}), "userId");
  EXPECT_EQ(Index("session", {W("userId", Str("u")), W("expiresAt", F(5), Op::kGt)}),
            "userId");
  EXPECT_EQ(Index("session", {W("expiresAt", F(5), Op::kLt)}), "expiresAt");
  EXPECT_EQ(Index("session", {W("id", Str("x"))}), "by_id");
  EXPECT_EQ(Index("jwks", {}), "by_creation_time");
  EXPECT_EQ(Index("session", {W("ipAddress", Str("1.2.3.4"))}), "by_creation_time");
}

TEST_F(AdapterTest, IndexedLookupsKeepTheReadSetSmall) {
  // Two sign-ups touching different emails must not conflict: the email lookup reads one
  // index range, not the table.
  ASSERT_OK(Create("user", User("a@example.com")).status());
  FunctionResult result;
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> u,
                         a.FindOne("user", {W("email", Str("zz@example.com"))}));
    return u ? absl::InternalError("found") : absl::OkStatus();
  }));
  // A concurrent insert of another email while a transaction looked up zz@: no conflict.
  std::unique_ptr<Transaction> txn = backend_->db().Begin();
  ExecutionState state(Limits{}, 0, 1);
  MutationCtx ctx(DatabaseWriter(txn.get(), &state, &app_.schema(), nullptr), Auth(nullptr),
                  &state, &backend_->runner());
  Adapter adapter(&ctx, &models_, &triggers_);
  ASSERT_OK(adapter.FindOne("user", {W("email", Str("zz@example.com"))}).status());
  ASSERT_OK(Create("user", User("other@example.com")).status());
  ASSERT_OK(adapter.Create("user", User("zz@example.com")).status());
  EXPECT_OK(txn->Commit());
}

TEST_F(AdapterTest, IsoDatesInWhereClausesAreConverted) {
  // better-auth 1.4.7 sends `expiresAt lt "<ISO>"`; comparing a string with numbers would
  // match every row (the #206/#216 bug deleted every verification row).
  double now = 1767225600000.0;  // 2026-01-01T00:00:00Z
  for (double expires : {now - 1000, now + 1000, now + 5000}) {
    ASSERT_OK(Create("verification", {{"identifier", Str("i")}, {"value", Str("v")},
                                      {"expiresAt", F(expires)}, {"createdAt", F(0)},
                                      {"updatedAt", F(0)}})
                  .status());
  }
  int64_t deleted = -1;
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(deleted, a.DeleteMany("verification",
                                               {W("expiresAt", Str("2026-01-01T00:00:00.000Z"),
                                                  Op::kLt)}));
    return absl::OkStatus();
  }));
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(Count("verification"), 2);
  EXPECT_EQ(ParseIsoDateMs("2026-01-01T00:00:00Z"), now);
  EXPECT_EQ(ParseIsoDateMs("2026-01-01T01:00:00.5+01:00"), now + 500);
  EXPECT_EQ(ParseIsoDateMs("not a date"), std::nullopt);
}

TEST_F(AdapterTest, SortLimitOffset) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(Create("verification", {{"identifier", Str(i == 4 ? "other" : "id")},
                                      {"value", Str(absl::StrCat("v", i))},
                                      {"expiresAt", F(10 - i)}, {"createdAt", F(i)},
                                      {"updatedAt", F(i)}})
                  .status());
  }
  auto values = [](const std::vector<Value>& docs) {
    std::vector<std::string> out;
    for (const Value& d : docs) out.push_back(d.Find("value")->string());
    return out;
  };
  // findVerificationValue: identifier, createdAt desc, limit 1 -> the newest.
  EXPECT_THAT(values(FindMany("verification", {W("identifier", Str("id"))}, 1,
                              SortBy{"createdAt", true})),
              ElementsAre("v3"));
  EXPECT_THAT(values(FindMany("verification", {}, 2, SortBy{"expiresAt", false})),
              ElementsAre("v4", "v3"));
  EXPECT_THAT(values(FindMany("verification", {}, 2, SortBy{"createdAt", false}, 1)),
              ElementsAre("v1", "v2"));
  EXPECT_THAT(values(FindMany("verification", {}, 100, std::nullopt, 4)), ElementsAre("v4"));
}

TEST_F(AdapterTest, TriggersRunInBetterAuthConvexOrder) {
  std::vector<std::string> events;
  triggers_["user"].before_create = [&](MutationCtx&, Object data)
      -> absl::StatusOr<std::optional<Object>> {
    events.push_back("beforeCreate");
    data["username"] = Str("from-trigger");
    return data;
  };
  triggers_["user"].on_create = [&](MutationCtx& ctx, const Value& doc) -> absl::Status {
    events.push_back(absl::StrCat("onCreate username=", doc.Find("username")->string(),
                                  " has_creationTime=", doc.Find("_creationTime") != nullptr));
    // A patch made here is not in the document Better Auth gets back.
    return ctx.db().Patch(doc.Find("_id")->string(), {{"image", Str("patched")}});
  };
  triggers_["user"].before_update = [&](MutationCtx&, const Value& doc, Object update)
      -> absl::StatusOr<std::optional<Object>> {
    events.push_back(absl::StrCat("beforeUpdate old=", doc.Find("name")->string(),
                                  " fields=", update.size()));
    update["name"] = Str(update.at("name").string() + "!");
    return update;
  };
  triggers_["user"].on_update = [&](MutationCtx&, const Value& n, const Value& o) -> absl::Status {
    events.push_back(absl::StrCat("onUpdate ", o.Find("name")->string(), "->",
                                  n.Find("name")->string()));
    return absl::OkStatus();
  };
  triggers_["user"].before_delete = [&](MutationCtx&, const Value& doc)
      -> absl::StatusOr<std::optional<Value>> {
    events.push_back("beforeDelete");
    Object replaced = doc.object();
    replaced["marker"] = Str("from-beforeDelete");
    return Value::FromObject(replaced);
  };
  triggers_["user"].on_delete = [&](MutationCtx&, const Value& doc) -> absl::Status {
    events.push_back(absl::StrCat("onDelete marker=", doc.Find("marker") ? "yes" : "no"));
    return absl::OkStatus();
  };

  ASSERT_OK_AND_ASSIGN(Value user, Create("user", User("t@example.com", "Tia")));
  EXPECT_EQ(*user.Find("username"), Str("from-trigger"));
  EXPECT_EQ(user.Find("image"), nullptr);  // read before onCreate
  std::vector<Value> stored = FindMany("user", {W("id", *user.Find("id"))});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(*stored[0].Find("image"), Str("patched"));

  Value updated;
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> u,
                         a.UpdateOne("user", {W("email", Str("t@example.com"))},
                                     {{"name", Str("Tiana")}}));
    if (u) updated = *u;
    return absl::OkStatus();
  }));
  EXPECT_EQ(*updated.Find("name"), Str("Tiana!"));
  ASSERT_OK(Run([&](Adapter& a) { return a.DeleteOne("user", {W("id", *user.Find("id"))}); }));
  // Deleting a missing row is a no-op without hooks.
  ASSERT_OK(Run([&](Adapter& a) { return a.DeleteOne("user", {W("id", *user.Find("id"))}); }));
  EXPECT_THAT(events, ElementsAre("beforeCreate", "onCreate username=from-trigger has_creationTime=1",
                                  "beforeUpdate old=Tia fields=1", "onUpdate Tia->Tiana!",
                                  "beforeDelete", "onDelete marker=yes"));
  EXPECT_EQ(Count("user"), 0);
}

TEST_F(AdapterTest, UpdateAndDeleteManyRunHooksPerRow) {
  int updates = 0, deletes = 0;
  triggers_["session"].on_update = [&](MutationCtx&, const Value&, const Value&) {
    ++updates;
    return absl::OkStatus();
  };
  triggers_["session"].on_delete = [&](MutationCtx&, const Value&) {
    ++deletes;
    return absl::OkStatus();
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(Create("session", {{"userId", Str(i < 2 ? "u1" : "u2")},
                                 {"token", Str(absl::StrCat("t", i))}, {"expiresAt", F(1)},
                                 {"createdAt", F(1)}, {"updatedAt", F(1)}})
                  .status());
  }
  int64_t n = 0;
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(n, a.UpdateMany("session", {W("userId", Str("u1"))},
                                         {{"expiresAt", F(99)}}));
    return absl::OkStatus();
  }));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(updates, 2);
  EXPECT_EQ(Count("session", {W("expiresAt", F(99))}), 2);
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(n, a.DeleteMany("session", {W("userId", Str("u1"))}));
    return absl::OkStatus();
  }));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(deletes, 2);
  EXPECT_EQ(Count("session"), 1);
  // Updating nothing.
  std::optional<Value> none = Str("sentinel");
  ASSERT_OK(Run([&](Adapter& a) {
    CVX_ASSIGN_OR_RETURN(none, a.UpdateOne("session", {W("token", Str("nope"))},
                                           {{"expiresAt", F(1)}}));
    return absl::OkStatus();
  }));
  EXPECT_EQ(none, std::nullopt);
}

TEST_F(AdapterTest, AThrowingTriggerLeavesNoUserAccountOrSession) {
  // A sign-up's writes in one transaction: user (whose onCreate makes an organization),
  // account, then session, whose onCreate fails.
  triggers_["user"].on_create = [](MutationCtx& ctx, const Value& doc) -> absl::Status {
    return ctx.db()
        .Insert("organization", {{"name", Str("W")}, {"slug", Str("personal-" + doc.Find("_id")->string())},
                                 {"createdAt", F(0)}})
        .status();
  };
  triggers_["session"].on_create = [](MutationCtx&, const Value&) -> absl::Status {
    return absl::FailedPreconditionError("session trigger refused");
  };
  absl::Status s = Run([&](Adapter& a) -> absl::Status {
    CVX_ASSIGN_OR_RETURN(Value user, a.Create("user", User("x@example.com")));
    std::string id = user.Find("id")->string();
    CVX_RETURN_IF_ERROR(a.Create("account", {{"accountId", Str(id)}, {"providerId", Str("credential")},
                                             {"userId", Str(id)}, {"password", Str("h")},
                                             {"createdAt", F(0)}, {"updatedAt", F(0)}})
                            .status());
    return a.Create("session", {{"userId", Str(id)}, {"token", Str("tok")}, {"expiresAt", F(9)},
                                {"createdAt", F(0)}, {"updatedAt", F(0)}})
        .status();
  });
  EXPECT_EQ(s.message(), "session trigger refused");
  for (const char* table : {"user", "account", "session", "organization"}) {
    EXPECT_EQ(Count(table), 0) << table;
  }
}

TEST_F(AdapterTest, QueryAdapterCannotWrite) {
  App app;
  // A read-only adapter over a query context.
  ASSERT_OK(Create("user", User("q@example.com")).status());
  std::unique_ptr<Transaction> txn = backend_->db().Begin();
  ExecutionState state(Limits{}, 0, 1);
  QueryCtx qctx(DatabaseReader(txn.get(), &state, &app_.schema(), false), Auth(nullptr), &state);
  Adapter adapter(&qctx, &models_);
  ASSERT_OK_AND_ASSIGN(std::optional<Value> found,
                       adapter.FindOne("user", {W("email", Str("q@example.com"))}));
  EXPECT_TRUE(found.has_value());
  EXPECT_THAT(adapter.Create("user", User("r@example.com")).status(),
              StatusHasCode(absl::StatusCode::kFailedPrecondition));
}

TEST(WhereFromValue, ParsesBetterAuthClauses) {
  ASSERT_OK_AND_ASSIGN(Value json, ParseConvexJson(R"([
      {"field":"email","value":"a@b.c"},
      {"field":"createdAt","value":5,"operator":"lt","connector":"OR","mode":"sensitive"}])"));
  ASSERT_OK_AND_ASSIGN(WhereList where, WhereListFromValue(json));
  ASSERT_EQ(where.size(), 2u);
  EXPECT_EQ(where[0].op, Op::kEq);
  EXPECT_FALSE(where[0].or_connector);
  EXPECT_EQ(where[1].op, Op::kLt);
  EXPECT_TRUE(where[1].or_connector);
  EXPECT_TRUE(WhereListFromValue(Value::Null()).ok());
  for (const char* bad : {R"({"field":"a"})", R"([{"value":1}])", R"([{"field":"a","operator":"like"}])",
                          R"([{"field":"a","connector":"XOR"}])", R"([1])"}) {
    ASSERT_OK_AND_ASSIGN(Value v, ParseConvexJson(bad));
    EXPECT_THAT(WhereListFromValue(v).status(), StatusHasCode(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

}  // namespace
}  // namespace cvx::auth
