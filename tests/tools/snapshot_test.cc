// Snapshot import's table numbering (tools/snapshot.h): tables take the numbers their IDs
// carry, as Convex's import does, so references survive an import into a database whose
// tables were numbered differently; a conflicting import writes nothing.

#include "tools/snapshot.h"

#include <fstream>

#include "absl/strings/match.h"

#include "engine/transaction.h"
#include "gtest/gtest.h"
#include "schema/schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"

namespace cvx::tools {
namespace {

SchemaDefinition Schema() {
  SchemaDefinition schema = DefineSchema();
  schema.Table("user", DefineTable({{"name", v::String()}}))
      .Table("messages", DefineTable({{"author", v::Id("user")}, {"body", v::String()}}));
  return schema;
}

std::optional<uint32_t> NumberOf(Database& db, const std::string& table) {
  auto txn = db.Begin();
  absl::StatusOr<std::optional<uint32_t>> n = txn->TableNumber(table);
  return n.ok() ? *n : std::nullopt;
}

// A source database whose tables were created in another order than the target's schema
// creates them: user = 10001, messages = 10002.
struct Source {
  testing::TempDir dir;
  std::unique_ptr<Database> db = cvx::testing::OpenTestDb();
  DocumentId user, message;
  std::string zip = dir.Sub("snapshot.zip");

  Source() {
    auto txn = db->Begin();
    user = *txn->Insert("user", {{"name", Value::String("Ada")}});
    message = *txn->Insert("messages", {{"author", Value::String(user.Encode())},
                                        {"body", Value::String("hi")}});
    EXPECT_OK(txn->Commit());
    EXPECT_OK(ExportSnapshot(*db, zip).status());
  }
};

// The source's message still points at its author, through the imported table numbers.
void ExpectReferenceSurvived(Transaction& txn, const Source& source) {
  ASSERT_OK_AND_ASSIGN(std::optional<Document> message, txn.Get(source.message));
  ASSERT_TRUE(message.has_value());
  ASSERT_OK_AND_ASSIGN(DocumentId author, DocumentId::Decode(message->fields.at("author").string()));
  ASSERT_OK_AND_ASSIGN(std::optional<Document> user, txn.Get(author));
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->fields.at("name"), Value::String("Ada"));
}

TEST(SnapshotImportTest, TablesTakeTheSnapshotsNumbersSoReferencesSurvive) {
  Source source;
  ASSERT_EQ(NumberOf(*source.db, "user"), 10001u);
  auto db = cvx::testing::OpenTestDb();
  ASSERT_OK(ApplySchema(*db, Schema()));
  // The target numbered them the other way round (or at least not as the source did).
  std::optional<uint32_t> before = NumberOf(*db, "user");
  ASSERT_TRUE(before.has_value());
  if (*before == 10001u) {  // make sure the test needs a renumbering
    auto txn = db->Begin();
    ASSERT_OK(txn->AssignTableNumber("user", 10020));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, ImportSnapshot(*db, Schema(), source.zip, {}));
  EXPECT_EQ(summary.documents, 2u);
  EXPECT_EQ(NumberOf(*db, "user"), 10001u);
  EXPECT_EQ(NumberOf(*db, "messages"), 10002u);
  auto txn = db->Begin();
  ExpectReferenceSurvived(*txn, source);
  // New rows go on in the renumbered tables.
  ASSERT_OK_AND_ASSIGN(DocumentId more, txn->Insert("user", {{"name", Value::String("Grace")}}));
  EXPECT_EQ(more.table_number, 10001u);
}

TEST(SnapshotImportTest, ANumberHeldByATableNotImportedFailsAndWritesNothing) {
  Source source;
  auto db = cvx::testing::OpenTestDb();
  auto setup = db->Begin();
  // "other" holds 10002, which the snapshot's messages table needs.
  ASSERT_OK(setup->AssignTableNumber("other", 10002));
  ASSERT_OK(setup->Insert("other", {{"x", Value::Float64(1)}}).status());
  ASSERT_OK(setup->Commit());
  uint64_t ts = db->LatestTs();
  absl::StatusOr<ImportSummary> result = ImportSnapshot(*db, Schema(), source.zip, {});
  EXPECT_EQ(ErrorTag(result.status()), "TableConflict") << result.status();
  EXPECT_EQ(db->LatestTs(), ts);  // nothing committed
  EXPECT_EQ(NumberOf(*db, "user"), std::nullopt);
}

TEST(SnapshotImportTest, AppendIntoATableWithAnotherNumberIsRefused) {
  Source source;
  auto db = cvx::testing::OpenTestDb();
  auto setup = db->Begin();
  ASSERT_OK(setup->AssignTableNumber("user", 10009));
  ASSERT_OK(setup->Insert("user", {{"name", Value::String("Existing")}}).status());
  ASSERT_OK(setup->Commit());
  ImportOptions append;
  append.mode = ImportOptions::Mode::kAppend;
  absl::StatusOr<ImportSummary> result = ImportSnapshot(*db, Schema(), source.zip, append);
  EXPECT_EQ(ErrorTag(result.status()), "TableNumberConflict") << result.status();
  // --replace empties the table first, so it may move.
  ImportOptions replace;
  replace.mode = ImportOptions::Mode::kReplace;
  ASSERT_OK(ImportSnapshot(*db, Schema(), source.zip, replace).status());
  EXPECT_EQ(NumberOf(*db, "user"), 10001u);
}

// replaceAll (npx convex import --replace-all): tables the import does not bring are
// deleted, or emptied when the schema declares them, and step out of the numbers the
// snapshot needs.
TEST(SnapshotImportTest, ReplaceAllDeletesOtherTablesAndEmptiesSchemaTables) {
  Source source;
  SchemaDefinition schema = Schema();
  schema.Table("notes", DefineTable({{"text", v::String()}}));
  auto db = cvx::testing::OpenTestDb();
  ASSERT_OK(ApplySchema(*db, schema));
  auto setup = db->Begin();
  // notes (in the schema, not in the snapshot) holds 10002, which messages needs.
  if (NumberOf(*db, "notes") != 10002u) {
    if (std::optional<std::string> holder = setup->TableName(10002)) {
      ASSERT_OK(setup->AssignTableNumber(*holder, 10040));
    }
    ASSERT_OK(setup->AssignTableNumber("notes", 10002));
  }
  ASSERT_OK(setup->Insert("notes", {{"text", Value::String("old")}}).status());
  ASSERT_OK(setup->Insert("user", {{"name", Value::String("Old")}}).status());
  ASSERT_OK(setup->AssignTableNumber("scratch", 10050));  // not in the schema
  ASSERT_OK(setup->Insert("scratch", {{"x", Value::Float64(1)}}).status());
  ASSERT_OK(setup->Commit());

  ImportOptions replace;
  replace.mode = ImportOptions::Mode::kReplace;
  EXPECT_EQ(ErrorTag(ImportSnapshot(*db, schema, source.zip, replace).status()), "TableConflict");

  ImportOptions replace_all;
  ASSERT_TRUE(replace_all.SetMode("replaceAll"));
  EXPECT_STREQ(replace_all.ModeName(), "replaceAll");
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, ImportSnapshot(*db, schema, source.zip, replace_all));
  EXPECT_EQ(summary.documents, 2u);
  EXPECT_EQ(NumberOf(*db, "user"), 10001u);
  EXPECT_EQ(NumberOf(*db, "messages"), 10002u);
  EXPECT_EQ(NumberOf(*db, "scratch"), std::nullopt);
  std::optional<uint32_t> notes = NumberOf(*db, "notes");
  ASSERT_TRUE(notes.has_value());
  EXPECT_NE(*notes, 10002u);
  auto txn = db->Begin();
  for (const char* table : {"notes", "user"}) {
    ScanRequest all;
    all.table = table;
    all.index = "by_id";
    ASSERT_OK_AND_ASSIGN(ScanResult rows, txn->Scan(all));
    EXPECT_EQ(rows.documents.size(), std::string(table) == "user" ? 1u : 0u) << table;
  }
  ExpectReferenceSurvived(*txn, source);
}

// CSV as Convex reads it: header row, float-looking cells as float64, the rest strings.
TEST(SnapshotImportTest, CsvCellsBecomeFloatsOrStringsAsConvexParsesThem) {
  testing::TempDir dir;
  std::string path = dir.Sub("rows.csv");
  {
    std::ofstream out(path, std::ios::binary);
    out << "\xEF\xBB\xBF a ,b,c\r\n"
        << "1,x,\"quoted, with \"\"quotes\"\"\nand a newline\"\r\n"
        << "\n"  // empty lines are skipped
        << "-2.5e3,true,\n"
        << "nan, 1,.5\n";
  }
  SchemaDefinition schema = DefineSchema();
  schema.Table("rows", DefineTable({{"a", v::Any()}, {"b", v::String()}, {"c", v::Optional(v::Any())}}));
  auto db = cvx::testing::OpenTestDb();
  ImportOptions options;
  options.table = "rows";
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, ImportSnapshot(*db, schema, path, options));
  EXPECT_EQ(summary.documents, 3u);
  auto txn = db->Begin();
  ScanRequest all;
  all.table = "rows";
  all.index = "by_creation_time";
  ASSERT_OK_AND_ASSIGN(ScanResult rows, txn->Scan(all));
  ASSERT_EQ(rows.documents.size(), 3u);
  const Object& first = rows.documents[0].fields;
  EXPECT_EQ(first.at("a"), Value::Float64(1));
  EXPECT_EQ(first.at("b"), Value::String("x"));
  EXPECT_EQ(first.at("c"), Value::String("quoted, with \"quotes\"\nand a newline"));
  const Object& second = rows.documents[1].fields;
  EXPECT_EQ(second.at("a"), Value::Float64(-2500));
  EXPECT_EQ(second.at("b"), Value::String("true"));  // no booleans
  EXPECT_EQ(second.count("c"), 0u);                   // empty + optional in the schema: omitted
  const Object& third = rows.documents[2].fields;
  EXPECT_EQ(third.at("a"), Value::Null());            // non-finite floats become null
  EXPECT_EQ(third.at("b"), Value::String(" 1"));      // cells are not trimmed
  EXPECT_EQ(third.at("c"), Value::Float64(0.5));
}

TEST(SnapshotImportTest, CsvErrorsUseConvexsTextsAndWriteNothing) {
  testing::TempDir dir;
  auto db = cvx::testing::OpenTestDb();
  ImportOptions options;
  options.table = "rows";
  auto import = [&](const std::string& text) {
    std::string path = dir.Sub("bad.csv");
    std::ofstream(path, std::ios::binary) << text;
    return ImportSnapshot(*db, DefineSchema(), path, options).status();
  };
  absl::Status ragged = import("a,b\n1,2\n3\n");
  EXPECT_EQ(ragged.message(), "CSV row 3 doesn't have all of the fields in the header");
  absl::Status header = import("$a,b\n1,2\n");
  EXPECT_TRUE(absl::StartsWith(header.message(), "CSV header \"$a\" isn't a valid field name: "))
      << header;
  EXPECT_EQ(db->Begin()->TableName(10001), std::nullopt);
  ImportOptions no_table;
  std::string path = dir.Sub("x.csv");
  std::ofstream(path) << "a\n1\n";
  EXPECT_EQ(ImportSnapshot(*db, DefineSchema(), path, no_table).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cvx::tools
