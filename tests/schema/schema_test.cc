// Schema definitions: Validate() rejections, CheckDocument() on writes, and ApplySchema()
// against a real memory database (index creation, backfill, rebuild, drop, refusal with
// nothing changed).

#include "schema/schema.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "engine/value/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tests/testing/values.h"

namespace cvx {
namespace {

using ::cvx::testing::Arr;
using ::cvx::testing::F;
using ::cvx::testing::I;
using ::cvx::testing::Obj;
using ::cvx::testing::OpenTestDb;
using ::cvx::testing::StatusIs;
using ::cvx::testing::Str;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> NumberedFields(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(absl::StrCat("f", i));
  return out;
}

SchemaDefinition MessagesSchema() {
  return DefineSchema().Table(
      "messages", DefineTable({{"channel", v::String()}, {"body", v::String()}})
                      .Index("by_channel", {"channel"}));
}

// ---------------------------------------------------------------------------------------
// Validate()

TEST(SchemaValidateTest, AcceptsAWellFormedSchema) {
  SchemaDefinition schema =
      DefineSchema()
          .Table("messages", DefineTable({{"channel", v::String()}, {"body", v::String()}})
                                 .Index("by_channel", {"channel"})
                                 .Index("by_channel_body", {"channel", "body"}))
          .Table("anything", DefineTable(v::Any()))
          .Table("events", DefineTable(v::Union({v::Object({{"a", v::Int64()}}),
                                                 v::Object({{"b", v::Int64()}})}))
                               .Index("by_nested", {"a.b"}))
          .Table("wide", DefineTable(v::Any()).Index("by_all", NumberedFields(16)));
  EXPECT_OK(schema.Validate());
  EXPECT_OK(DefineSchema().Validate());
}

TEST(SchemaValidateTest, RejectsBadTableNames) {
  for (const std::string& name : std::vector<std::string>{"bad-name", "_x", "1abc", "",
                                                            std::string(65, 'a')}) {
    SchemaDefinition schema = DefineSchema().Table(name, DefineTable({{"a", v::String()}}));
    EXPECT_THAT(schema.Validate(),
                StatusIs(absl::StatusCode::kInvalidArgument, "InvalidTableName"))
        << "table name \"" << name << "\"";
  }
  absl::Status s = DefineSchema().Table("bad-name", DefineTable(v::Any())).Validate();
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"bad-name\""));
}

TEST(SchemaValidateTest, RejectsNonObjectDocumentValidators) {
  for (const Validator& doc : {v::String(), v::Array(v::Any()), v::Null(),
                               v::Record(v::String(), v::Any()),
                               v::Union({v::Object({{"a", v::String()}}), v::String()})}) {
    SchemaDefinition schema = DefineSchema().Table("t", TableDefinition(doc));
    EXPECT_THAT(schema.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, "InvalidSchema"))
        << doc.ToString();
  }
  absl::Status s = DefineSchema().Table("t", DefineTable(v::String())).Validate();
  EXPECT_THAT(std::string(s.message()), HasSubstr("Found v.string()"));
}

TEST(SchemaValidateTest, RejectsBadIndexNames) {
  auto with_indexes = [](std::vector<IndexDefinition> indexes) {
    TableDefinition table = DefineTable({{"a", v::String()}, {"b", v::String()}});
    for (IndexDefinition& i : indexes) table.Index(i.name, i.fields);
    return DefineSchema().Table("t", table);
  };
  EXPECT_THAT(with_indexes({{"by_a", {"a"}}, {"by_a", {"b"}}}).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexName"));
  for (const char* name : {"by_id", "by_creation_time", "_idx", "bad-idx", ""}) {
    EXPECT_THAT(with_indexes({{name, {"a"}}}).Validate(),
                StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexName"))
        << "index name \"" << name << "\"";
  }
}

TEST(SchemaValidateTest, RejectsBadIndexFields) {
  auto one_index = [](std::vector<std::string> fields) {
    return DefineSchema().Table("t", DefineTable(v::Any()).Index("by_x", std::move(fields)));
  };
  EXPECT_THAT(one_index({"_creationTime"}).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
  EXPECT_THAT(one_index({"a", "_id"}).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
  EXPECT_THAT(one_index(NumberedFields(17)).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
  EXPECT_THAT(one_index({}).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexFields"));
  EXPECT_OK(one_index(NumberedFields(16)).Validate());
}

TEST(SchemaValidateTest, RejectsTooManyIndexes) {
  auto with_n = [](size_t n) {
    TableDefinition table = DefineTable(v::Any());
    for (size_t i = 0; i < n; ++i) table.Index(absl::StrCat("by_f", i), {absl::StrCat("f", i)});
    return DefineSchema().Table("t", table);
  };
  EXPECT_OK(with_n(64).Validate());
  EXPECT_THAT(with_n(65).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, "TooManyIndexes"));
}

// ---------------------------------------------------------------------------------------
// CheckDocument()

TEST(CheckDocumentTest, ValidDocumentPasses) {
  EXPECT_OK(MessagesSchema().CheckDocument(
      "messages", Obj({{"channel", Str("c")}, {"body", Str("hi")}}), TableNameResolver()));
}

TEST(CheckDocumentTest, InvalidDocumentIsASchemaEnforcementError) {
  absl::Status s = MessagesSchema().CheckDocument("messages", Obj({{"channel", Str("c")}}),
                                                  TableNameResolver());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
  EXPECT_THAT(std::string(s.message()),
              StartsWith("Failed to insert or update a document in table \"messages\" because "
                         "it does not match the schema: "));
  EXPECT_EQ(std::string(s.message()),
            "Failed to insert or update a document in table \"messages\" because it does not "
            "match the schema: Object is missing the required field `body`. Consider wrapping "
            "the field validator in `v.optional(...)` if this is expected.\n\n"
            "Object: {channel: \"c\"}\nValidator: v.object({body: v.string(), channel: "
            "v.string()})");

  absl::Status wrong_type = MessagesSchema().CheckDocument(
      "messages", Obj({{"channel", I(1)}, {"body", Str("b")}}), TableNameResolver());
  EXPECT_THAT(wrong_type, StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
  EXPECT_EQ(std::string(wrong_type.message()),
            "Failed to insert or update a document in table \"messages\" because it does not "
            "match the schema: Value does not match validator.\nPath: .channel\nValue: 1\n"
            "Validator: v.string()");
}

TEST(CheckDocumentTest, TablesNotInTheSchemaPassUnlessStrict) {
  Value doc = Obj({{"anything", Arr({I(1)})}});
  EXPECT_OK(MessagesSchema().CheckDocument("other", doc, TableNameResolver()));
  SchemaDefinition strict = MessagesSchema().StrictTables(true);
  EXPECT_TRUE(strict.strict_tables());
  absl::Status s = strict.CheckDocument("other", doc, TableNameResolver());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "TableNotInSchema"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"other\""));
  // Declared tables are still checked normally under strict tables.
  EXPECT_OK(strict.CheckDocument("messages", Obj({{"channel", Str("c")}, {"body", Str("b")}}),
                                 TableNameResolver()));
  EXPECT_THAT(strict.CheckDocument("messages", Obj({}), TableNameResolver()),
              StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
}

TEST(CheckDocumentTest, SchemaValidationOffSkipsChecks) {
  SchemaDefinition schema = MessagesSchema().SchemaValidation(false);
  EXPECT_FALSE(schema.schema_validation());
  EXPECT_TRUE(MessagesSchema().schema_validation());
  EXPECT_OK(schema.CheckDocument("messages", Obj({{"x", F(1)}}), TableNameResolver()));
}

TEST(CheckDocumentTest, UnionOfObjectsDocumentValidator) {
  Validator text = v::Object({{"kind", v::Literal(Str("text"))}, {"body", v::String()}});
  Validator image = v::Object({{"kind", v::Literal(Str("image"))}, {"url", v::String()}});
  SchemaDefinition schema = DefineSchema().Table("items", DefineTable(v::Union({text, image})));
  ASSERT_OK(schema.Validate());
  EXPECT_OK(schema.CheckDocument("items", Obj({{"kind", Str("text")}, {"body", Str("b")}}),
                                 TableNameResolver()));
  EXPECT_OK(schema.CheckDocument("items", Obj({{"kind", Str("image")}, {"url", Str("u")}}),
                                 TableNameResolver()));
  absl::Status s = schema.CheckDocument("items", Obj({{"kind", Str("text")}, {"url", Str("u")}}),
                                        TableNameResolver());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
  EXPECT_EQ(std::string(s.message()),
            "Failed to insert or update a document in table \"items\" because it does not match "
            "the schema: Value does not match validator.\n\nValue: {kind: \"text\", url: \"u\"}\n"
            "Validator: v.union(v.object({body: v.string(), kind: v.literal(\"text\")}), "
            "v.object({kind: v.literal(\"image\"), url: v.string()}))");
}

TEST(CheckDocumentTest, AnyDocumentValidatorAcceptsEverything) {
  SchemaDefinition schema = DefineSchema().Table("t", DefineTable(v::Any()));
  EXPECT_OK(schema.CheckDocument("t", Obj({{"x", Arr({Value::Null()})}}), TableNameResolver()));
  EXPECT_OK(schema.CheckDocument("t", Obj({}), TableNameResolver()));
}

TEST(CheckDocumentTest, IdFieldsUseTheResolver) {
  auto db = OpenTestDb();
  ASSERT_NE(db, nullptr);
  auto txn = db->Begin();
  ASSERT_OK_AND_ASSIGN(DocumentId user, txn->Insert("users", {{"n", I(1)}}));
  ASSERT_OK_AND_ASSIGN(DocumentId post, txn->Insert("posts", {{"n", I(2)}}));
  TableNameResolver resolver = [t = txn.get()](uint32_t n) { return t->TableName(n); };
  SchemaDefinition schema =
      DefineSchema().Table("messages", DefineTable({{"author", v::Id("users")}}));
  EXPECT_OK(schema.CheckDocument("messages", Obj({{"author", Str(user.Encode())}}), resolver));
  absl::Status s = schema.CheckDocument("messages", Obj({{"author", Str(post.Encode())}}), resolver);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "SchemaEnforcementError"));
  EXPECT_EQ(std::string(s.message()),
            absl::StrCat("Failed to insert or update a document in table \"messages\" because it "
                         "does not match the schema: Found ID \"",
                         post.Encode(),
                         "\" from table `posts`, which does not match the table name in validator "
                         "`v.id(\"users\")`.Path: .author"));
}

// ---------------------------------------------------------------------------------------
// ApplySchema() on a real memory database.

class ApplySchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb();
    ASSERT_NE(db_, nullptr);
  }

  absl::StatusOr<DocumentId> InsertOne(const std::string& table, Object fields) {
    auto txn = db_->Begin();
    CVX_ASSIGN_OR_RETURN(DocumentId id, txn->Insert(table, std::move(fields)));
    CVX_RETURN_IF_ERROR(txn->Commit());
    return id;
  }

  absl::StatusOr<std::vector<Document>> ScanIndex(const std::string& table,
                                                  const std::string& index,
                                                  IndexRange range = {}) {
    auto txn = db_->Begin();
    ScanRequest req;
    req.table = table;
    req.index = index;
    req.range = std::move(range);
    CVX_ASSIGN_OR_RETURN(ScanResult r, txn->Scan(req));
    if (!r.done) return absl::InternalError("scan without limit did not finish");
    return std::move(r.documents);
  }

  // The string values of `field` of `docs`, in order.
  static std::vector<std::string> Strings(const std::vector<Document>& docs,
                                          const std::string& field) {
    std::vector<std::string> out;
    for (const Document& d : docs) {
      auto it = d.fields.find(field);
      out.push_back(it != d.fields.end() && it->second.is_string() ? it->second.string()
                                                                     : "<missing>");
    }
    return out;
  }

  std::unique_ptr<Database> db_;
};

TEST_F(ApplySchemaTest, CreatesDeclaredTablesWithTheirIndexes) {
  SchemaDefinition schema =
      MessagesSchema().Table("users", DefineTable({{"name", v::String()}}).Index("by_name", {"name"}));
  ASSERT_OK(ApplySchema(*db_, schema));
  EXPECT_THAT(db_->TableNames(), ElementsAre(kSchemaValidatorsTable, "messages", "users"));

  ASSERT_OK_AND_ASSIGN(std::vector<Document> empty, ScanIndex("messages", "by_channel"));
  EXPECT_TRUE(empty.empty());
  ASSERT_OK_AND_ASSIGN(empty, ScanIndex("users", "by_name"));
  EXPECT_TRUE(empty.empty());

  // New documents are kept in index order.
  auto txn = db_->Begin();
  for (const char* channel : {"b", "a", "c", "a"}) {
    ASSERT_OK(txn->Insert("messages", {{"channel", Str(channel)}, {"body", Str("x")}}).status());
  }
  ASSERT_OK(txn->Commit());
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("messages", "by_channel"));
  EXPECT_THAT(Strings(docs, "channel"), ElementsAre("a", "a", "b", "c"));
  IndexRange only_b;
  only_b.eq.push_back(Str("b"));
  ASSERT_OK_AND_ASSIGN(docs, ScanIndex("messages", "by_channel", only_b));
  EXPECT_THAT(Strings(docs, "channel"), ElementsAre("b"));
}

TEST_F(ApplySchemaTest, ApplyingTheSameSchemaTwiceIsHarmless) {
  ASSERT_OK(ApplySchema(*db_, MessagesSchema()));
  ASSERT_OK(InsertOne("messages", {{"channel", Str("z")}, {"body", Str("b")}}).status());
  ASSERT_OK(InsertOne("messages", {{"channel", Str("y")}, {"body", Str("b")}}).status());
  ASSERT_OK(ApplySchema(*db_, MessagesSchema()));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("messages", "by_channel"));
  EXPECT_THAT(Strings(docs, "channel"), ElementsAre("y", "z"));
}

TEST_F(ApplySchemaTest, OnlyChangedValidatorsRecheckTheData) {
  ASSERT_OK(ApplySchema(*db_, MessagesSchema()));
  // A document written around the schema (raw engine), as if it predated the check: an
  // unchanged validator does not rescan, so start-up never reads every document.
  ASSERT_OK(InsertOne("messages", {{"channel", Str("c")}}).status());
  EXPECT_OK(ApplySchema(*db_, MessagesSchema()));
  // A changed validator is checked against every document again.
  SchemaDefinition changed = DefineSchema().Table(
      "messages", DefineTable({{"channel", v::String()}, {"body", v::String()}, {"n", v::Optional(v::Float64())}})
                      .Index("by_channel", {"channel"}));
  EXPECT_THAT(ApplySchema(*db_, changed),
              StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
  // Turning validation off forgets the check; turning it on again rechecks.
  SchemaDefinition off = MessagesSchema();
  off.SchemaValidation(false);
  ASSERT_OK(ApplySchema(*db_, off));
  EXPECT_THAT(ApplySchema(*db_, MessagesSchema()),
              StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
}

TEST_F(ApplySchemaTest, BackfillsANewIndexOverExistingDocuments) {
  for (const char* channel : {"m", "c", "x", "a"}) {
    ASSERT_OK(InsertOne("messages", {{"channel", Str(channel)}, {"body", Str("b")}}).status());
  }
  EXPECT_THAT(ScanIndex("messages", "by_channel"),
              StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  ASSERT_OK(ApplySchema(*db_, MessagesSchema()));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("messages", "by_channel"));
  EXPECT_THAT(Strings(docs, "channel"), ElementsAre("a", "c", "m", "x"));
  // Writes after the backfill keep the index current.
  ASSERT_OK(InsertOne("messages", {{"channel", Str("b")}, {"body", Str("b")}}).status());
  ASSERT_OK_AND_ASSIGN(docs, ScanIndex("messages", "by_channel"));
  EXPECT_THAT(Strings(docs, "channel"), ElementsAre("a", "b", "c", "m", "x"));
}

TEST_F(ApplySchemaTest, RebuildsAnIndexWhoseFieldsChanged) {
  SchemaDefinition on_a =
      DefineSchema().Table("t", DefineTable(v::Any()).Index("by_key", {"a"}));
  SchemaDefinition on_b =
      DefineSchema().Table("t", DefineTable(v::Any()).Index("by_key", {"b"}));
  ASSERT_OK(ApplySchema(*db_, on_a));
  ASSERT_OK(InsertOne("t", {{"a", Str("1")}, {"b", Str("z")}, {"tag", Str("first")}}).status());
  ASSERT_OK(InsertOne("t", {{"a", Str("2")}, {"b", Str("y")}, {"tag", Str("second")}}).status());
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("t", "by_key"));
  EXPECT_THAT(Strings(docs, "tag"), ElementsAre("first", "second"));
  ASSERT_OK(ApplySchema(*db_, on_b));
  ASSERT_OK_AND_ASSIGN(docs, ScanIndex("t", "by_key"));
  EXPECT_THAT(Strings(docs, "tag"), ElementsAre("second", "first"));
  IndexRange eq_y;
  eq_y.eq.push_back(Str("y"));
  ASSERT_OK_AND_ASSIGN(docs, ScanIndex("t", "by_key", eq_y));
  EXPECT_THAT(Strings(docs, "tag"), ElementsAre("second"));
}

TEST_F(ApplySchemaTest, DropsRemovedIndexes) {
  ASSERT_OK(ApplySchema(*db_, MessagesSchema()));
  ASSERT_OK(InsertOne("messages", {{"channel", Str("c")}, {"body", Str("b")}}).status());
  ASSERT_OK(ApplySchema(
      *db_, DefineSchema().Table("messages", DefineTable({{"channel", v::String()},
                                                          {"body", v::String()}}))));
  EXPECT_THAT(ScanIndex("messages", "by_channel"),
              StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("messages", "by_creation_time"));
  EXPECT_EQ(docs.size(), 1u);
}

TEST_F(ApplySchemaTest, RefusesASchemaThatExistingDocumentsViolateAndChangesNothing) {
  SchemaDefinition old_schema =
      DefineSchema().Table("t", DefineTable({{"a", v::Any()}}).Index("by_a", {"a"}));
  ASSERT_OK(ApplySchema(*db_, old_schema));
  ASSERT_OK_AND_ASSIGN(DocumentId good, InsertOne("t", {{"a", Str("x")}}));
  ASSERT_OK_AND_ASSIGN(DocumentId bad, InsertOne("t", {{"a", F(1)}}));

  SchemaDefinition new_schema =
      DefineSchema()
          .Table("t", DefineTable({{"a", v::String()}}).Index("by_a_new", {"a"}))
          .Table("brand_new", DefineTable({{"z", v::String()}}).Index("by_z", {"z"}));
  absl::Status s = ApplySchema(*db_, new_schema);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
  std::string message(s.message());
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("Document with ID \"", bad.Encode(),
                                     "\" in table \"t\" does not match the schema:")));
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("Document with ID \"", bad.Encode(),
                                     "\" in table \"t\" does not match the schema: Value does not "
                                     "match validator.\nPath: .a\nValue: 1.0\n"
                                     "Validator: v.string()")));
  EXPECT_THAT(message, ::testing::Not(HasSubstr(good.Encode())));

  // Nothing changed: the old index still works, the new ones and the new table do not exist.
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("t", "by_a"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, bad);  // float64 sorts before string
  EXPECT_EQ(docs[1].id, good);
  EXPECT_THAT(ScanIndex("t", "by_a_new"), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  EXPECT_THAT(db_->TableNames(), ElementsAre(kSchemaValidatorsTable, "t"));
  EXPECT_THAT(ScanIndex("brand_new", "by_z"),
              StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  // The old index still follows writes.
  ASSERT_OK(InsertOne("t", {{"a", Str("a")}}).status());
  ASSERT_OK_AND_ASSIGN(docs, ScanIndex("t", "by_a"));
  EXPECT_EQ(docs.size(), 3u);
}

TEST_F(ApplySchemaTest, RefusalLeavesTablesOutsideTheSchemaIndexed) {
  // The refused schema omits table "other"; its index must survive the refusal.
  ASSERT_OK(ApplySchema(
      *db_, DefineSchema()
                .Table("t", DefineTable(v::Any()))
                .Table("other", DefineTable(v::Any()).Index("by_k", {"k"}))));
  ASSERT_OK(InsertOne("t", {{"a", F(1)}}).status());
  ASSERT_OK(InsertOne("other", {{"k", I(1)}}).status());
  absl::Status s =
      ApplySchema(*db_, DefineSchema().Table("t", DefineTable({{"a", v::String()}})));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("other", "by_k"));
  EXPECT_EQ(docs.size(), 1u);
}

TEST_F(ApplySchemaTest, ReportsAtMostTenOffendingDocuments) {
  auto txn = db_->Begin();
  for (int i = 0; i < 15; ++i) ASSERT_OK(txn->Insert("t", {{"a", I(i)}}).status());
  for (int i = 0; i < 3; ++i) ASSERT_OK(txn->Insert("t", {{"a", Str("ok")}}).status());
  ASSERT_OK(txn->Commit());
  absl::Status s = ApplySchema(*db_, DefineSchema().Table("t", DefineTable({{"a", v::String()}})));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
  std::string message(s.message());
  size_t count = 0;
  for (size_t pos = message.find("Document with ID"); pos != std::string::npos;
       pos = message.find("Document with ID", pos + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 10u) << message;
}

TEST_F(ApplySchemaTest, SchemaValidationOffAppliesDespiteViolations) {
  ASSERT_OK(InsertOne("t", {{"a", F(1)}}).status());
  SchemaDefinition schema = DefineSchema()
                                .Table("t", DefineTable({{"a", v::String()}}).Index("by_a", {"a"}))
                                .SchemaValidation(false);
  ASSERT_OK(ApplySchema(*db_, schema));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> docs, ScanIndex("t", "by_a"));
  EXPECT_EQ(docs.size(), 1u);
}

TEST_F(ApplySchemaTest, ExistingDocumentsWithIdsAreCheckedAgainstTheirTables) {
  ASSERT_OK_AND_ASSIGN(DocumentId user, InsertOne("users", {{"n", I(1)}}));
  ASSERT_OK_AND_ASSIGN(DocumentId post, InsertOne("posts", {{"n", I(2)}}));
  ASSERT_OK(InsertOne("messages", {{"author", Str(user.Encode())}}).status());
  ASSERT_OK_AND_ASSIGN(DocumentId wrong, InsertOne("messages", {{"author", Str(post.Encode())}}));
  SchemaDefinition schema =
      DefineSchema().Table("messages", DefineTable({{"author", v::Id("users")}}));
  absl::Status s = ApplySchema(*db_, schema);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, "SchemaValidationFailed"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("Document with ID \"", wrong.Encode(),
                                     "\" in table \"messages\" does not match the schema: Found "
                                     "ID \"",
                                     post.Encode(), "\" from table `posts`")));
}

TEST_F(ApplySchemaTest, TablesNotInTheSchemaLoseUserIndexesButKeepDocuments) {
  ASSERT_OK(ApplySchema(*db_, DefineSchema()
                                  .Table("a", DefineTable(v::Any()).Index("by_x", {"x"}))
                                  .Table("b", DefineTable(v::Any()).Index("by_y", {"y"}))));
  ASSERT_OK(InsertOne("a", {{"x", I(1)}}).status());
  ASSERT_OK(InsertOne("b", {{"y", I(1)}}).status());
  ASSERT_OK(InsertOne("b", {{"y", I(2)}}).status());
  // A system table with its own index is not the schema's business.
  ASSERT_OK(InsertOne("_system_x", {{"k", I(1)}}).status());
  ASSERT_OK(db_->SetIndexes("_system_x", {{"by_k", {"k"}}}));

  ASSERT_OK(ApplySchema(*db_, DefineSchema().Table("a", DefineTable(v::Any()).Index("by_x", {"x"}))));
  EXPECT_THAT(ScanIndex("b", "by_y"), StatusIs(absl::StatusCode::kNotFound, "IndexNotFound"));
  ASSERT_OK_AND_ASSIGN(std::vector<Document> b_docs, ScanIndex("b", "by_creation_time"));
  EXPECT_EQ(b_docs.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<Document> a_docs, ScanIndex("a", "by_x"));
  EXPECT_EQ(a_docs.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<Document> sys_docs, ScanIndex("_system_x", "by_k"));
  EXPECT_EQ(sys_docs.size(), 1u);
  EXPECT_THAT(db_->TableNames(), ElementsAre(kSchemaValidatorsTable, "_system_x", "a", "b"));
}

TEST_F(ApplySchemaTest, InvalidSchemaIsRejectedBeforeTouchingTheDatabase) {
  SchemaDefinition schema =
      DefineSchema()
          .Table("good", DefineTable(v::Any()).Index("by_x", {"x"}))
          .Table("t", DefineTable(v::Any()).Index("by_id", {"x"}));
  EXPECT_THAT(ApplySchema(*db_, schema),
              StatusIs(absl::StatusCode::kInvalidArgument, "InvalidIndexName"));
  EXPECT_TRUE(db_->TableNames().empty());
}

// A pushed schema.js's export() JSON, as the `convex` package writes it.
TEST(SchemaFromJsonTest, ParsesTheConvexPackagesExport) {
  absl::StatusOr<Value> json = ParseConvexJson(R"({"tables":[
    {"tableName":"messages","indexes":[{"indexDescriptor":"by_channel","fields":["channel"]}],
     "stagedDbIndexes":[{"indexDescriptor":"by_author","fields":["author"]}],
     "searchIndexes":[{"indexDescriptor":"search_body","searchField":"body","filterFields":[]}],
     "stagedSearchIndexes":[],"vectorIndexes":[{"indexDescriptor":"by_embedding","vectorField":"e","dimensions":2,"filterFields":[]}],
     "stagedVectorIndexes":[],
     "documentType":{"type":"object","value":{"channel":{"fieldType":{"type":"string"},"optional":false},
                                              "author":{"fieldType":{"type":"string"},"optional":true}}}},
    {"tableName":"free","indexes":[],"documentType":{"type":"any"}}],
    "schemaValidation":false})");
  ASSERT_OK(json);
  ASSERT_OK_AND_ASSIGN(SchemaDefinition schema, SchemaDefinition::FromJson(*json));
  EXPECT_OK(schema.Validate());
  EXPECT_FALSE(schema.schema_validation());
  ASSERT_NE(schema.Find("messages"), nullptr);
  ASSERT_EQ(schema.Find("messages")->indexes().size(), 1u);
  EXPECT_EQ(schema.Find("messages")->indexes()[0].fields, std::vector<std::string>{"channel"});
  ASSERT_EQ(schema.Find("messages")->unserved_indexes().size(), 3u);
  EXPECT_EQ(schema.Find("free")->document().kind(), Validator::Kind::kAny);
}

TEST(SchemaFromJsonTest, RefusesMalformedSchemas) {
  for (const char* bad : {R"([])", R"({"tables":5})", R"({"tables":[{"indexes":[]}]})",
                          R"({"tables":[{"tableName":"a"},{"tableName":"a"}]})",
                          R"({"tables":[{"tableName":"a","indexes":[{"fields":["x"]}]}]})",
                          R"({"tables":[{"tableName":"a","indexes":[{"indexDescriptor":"i","fields":[1]}]}]})",
                          R"({"tables":[{"tableName":"a","documentType":{"type":"nope"}}]})",
                          R"({"tables":[],"schemaValidation":"yes"})"}) {
    absl::StatusOr<Value> json = ParseConvexJson(bad);
    ASSERT_OK(json);
    EXPECT_THAT(SchemaDefinition::FromJson(*json).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, "InvalidSchema")) << bad;
  }
}

}  // namespace
}  // namespace cvx
