// Snapshot import's table numbering (tools/snapshot.h): tables take the numbers their IDs
// carry, as Convex's import does, so references survive an import into a database whose
// tables were numbered differently; a conflicting import writes nothing.

#include "tools/snapshot.h"

#include <fstream>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

#include "engine/base/file.h"
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

// Every document of `table`, in _creationTime order (empty when the scan fails).
std::vector<Document> Rows(Transaction& txn, const std::string& table) {
  ScanRequest all;
  all.table = table;
  all.index = "by_creation_time";
  absl::StatusOr<ScanResult> rows = txn.Scan(all);
  EXPECT_OK(rows.status());
  return rows.ok() ? rows->documents : std::vector<Document>();
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
  EXPECT_TRUE(absl::StrContains(result.status().message(), "import with `npx convex import --replace-all`"));
  EXPECT_EQ(db->LatestTs(), ts);  // nothing committed
  EXPECT_EQ(NumberOf(*db, "user"), std::nullopt);
  // Empty, "other" has no IDs to keep: it steps aside to another number.
  auto empty = db->Begin();
  for (const Document& d : Rows(*empty, "other")) ASSERT_OK(empty->Delete(d.id));
  ASSERT_OK(empty->Commit());
  ASSERT_OK(ImportSnapshot(*db, Schema(), source.zip, {}).status());
  EXPECT_EQ(NumberOf(*db, "messages"), 10002u);
  std::optional<uint32_t> other = NumberOf(*db, "other");
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(*other, 10002u);
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
  EXPECT_EQ(Rows(*txn, "notes").size(), 0u);
  EXPECT_EQ(Rows(*txn, "user").size(), 1u);
  ExpectReferenceSurvived(*txn, source);
}

// Hand-made ZIPs in the layouts Convex's exports have had (tests/fixtures/snapshots/make_fixtures.py).
std::string Fixture(const std::string& name) { return std::string(CVX_FIXTURES) + "/snapshots/" + name; }

// An export from before Convex's "uniform" format: clean JSON turned back with the shapes
// and per-document hints of generated_schema.jsonl.
TEST(SnapshotImportTest, LegacyExportsImportWithTheirTypes) {
  SchemaDefinition schema = DefineSchema();
  schema.Table("users", DefineTable({{"age", v::Int64()}, {"avatar", v::Bytes()}, {"name", v::String()},
                                     {"score", v::Float64()}, {"tags", v::Array(v::Union({v::Int64(), v::String()}))}}))
      .Table("posts", DefineTable({{"author", v::Id("users")}, {"likes", v::Int64()}, {"title", v::String()}}));
  auto db = cvx::testing::OpenTestDb();
  ASSERT_OK(ApplySchema(*db, schema));
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, ImportSnapshot(*db, schema, Fixture("legacy.zip"), {}));
  EXPECT_EQ(summary.tables, 2u);  // _scheduled_functions and the empty _storage are skipped
  EXPECT_EQ(summary.documents, 3u);
  EXPECT_EQ(NumberOf(*db, "users"), 10001u);
  EXPECT_EQ(NumberOf(*db, "posts"), 10002u);
  EXPECT_EQ(NumberOf(*db, "_scheduled_functions"), std::nullopt);
  auto txn = db->Begin();
  std::vector<Document> post = Rows(*txn, "posts");
  ASSERT_EQ(post.size(), 1u);
  EXPECT_EQ(post[0].fields.at("likes"), Value::Int64(-3));
  EXPECT_EQ(post[0].creation_time, 1719403200002.0);
  ASSERT_OK_AND_ASSIGN(DocumentId author, DocumentId::Decode(post[0].fields.at("author").string()));
  ASSERT_OK_AND_ASSIGN(std::optional<Document> ada, txn->Get(author));
  ASSERT_TRUE(ada.has_value());
  EXPECT_EQ(ada->creation_time, 1719403200000.25);
  EXPECT_EQ(ada->fields.at("age"), Value::Int64(36));
  EXPECT_EQ(ada->fields.at("avatar"), Value::Bytes(std::string("\x00\x01\x02", 3)));
  EXPECT_EQ(ada->fields.at("score"), Value::Float64(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(ada->fields.at("tags"), Value::FromArray({Value::Int64(7), Value::String("x")}));
  std::vector<Document> users = Rows(*txn, "users");  // in _creationTime order
  ASSERT_EQ(users.size(), 2u);
  const Document& grace = users[1];
  EXPECT_EQ(grace.fields.at("avatar"), Value::Bytes(""));
  EXPECT_EQ(grace.fields.at("score"), Value::Float64(2.5));
  EXPECT_EQ(grace.fields.at("age"), Value::Int64(85));
}

TEST(SnapshotImportTest, EntriesUnderADirectoryImport) {
  auto db = cvx::testing::OpenTestDb();
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, ImportSnapshot(*db, DefineSchema(), Fixture("prefixed.zip"), {}));
  EXPECT_EQ(summary.documents, 1u);
  auto txn = db->Begin();
  std::vector<Document> rows = Rows(*txn, "notes");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields.at("n"), Value::Int64(42));
  EXPECT_EQ(rows[0].fields.at("ratio"), Value::Float64(1.0));
}

// convexlite has neither components nor file storage: such snapshots are refused whole.
TEST(SnapshotImportTest, ComponentTablesAndFileStorageAreRefusedAndNothingIsWritten) {
  auto db = cvx::testing::OpenTestDb();
  uint64_t ts = db->LatestTs();
  absl::StatusOr<ImportSummary> components = ImportSnapshot(*db, DefineSchema(), Fixture("components.zip"), {});
  EXPECT_EQ(ErrorTag(components.status()), "UnsupportedSnapshot");
  EXPECT_TRUE(absl::StrContains(components.status().message(), "betterAuth/user")) << components.status();
  absl::StatusOr<ImportSummary> storage = ImportSnapshot(*db, DefineSchema(), Fixture("storage.zip"), {});
  EXPECT_EQ(ErrorTag(storage.status()), "UnsupportedSnapshot");
  EXPECT_TRUE(absl::StrContains(storage.status().message(), "_storage: 1 files")) << storage.status();
  EXPECT_EQ(db->LatestTs(), ts);
  EXPECT_EQ(NumberOf(*db, "notes"), std::nullopt);
}

// The progress of an import: every kProgressStep documents and at each table's end; the
// terminal bar drawn from it.
TEST(SnapshotImportTest, ProgressIsReportedAsDocumentsGoIn) {
  testing::TempDir dir;
  std::string path = dir.Sub("rows.jsonl");
  std::string lines;
  for (int i = 0; i < 2500; ++i) lines += "{\"i\":" + std::to_string(i) + "}\n";
  ASSERT_OK(WriteFile(path, lines));
  auto db = cvx::testing::OpenTestDb();
  ImportOptions options;
  options.table = "rows";
  std::vector<std::string> events;
  options.progress = [&](const ImportProgress& p) {
    events.push_back(absl::StrCat(p.table, " ", p.table_done, "/", p.table_total, " ", p.done, "/", p.total,
                                  p.table_finished ? " done" : ""));
  };
  ASSERT_OK(ImportSnapshot(*db, DefineSchema(), path, options).status());
  EXPECT_EQ(events, (std::vector<std::string>{"rows 1000/2500 1000/2500", "rows 2000/2500 2000/2500",
                                              "rows 2500/2500 2500/2500 done"}));
  ImportProgress p;
  p.table = "users";
  p.done = 1000;
  p.total = 4000;
  EXPECT_EQ(ProgressBar(p), "[#######-----------------------]  25%  1,000/4,000 documents  users");
  p.done = 4000;
  EXPECT_EQ(ProgressBar(p, 4), "[####] 100%  4,000/4,000 documents  users");
  // A dry run (Convex's confirmation step) reports nothing and writes nothing.
  events.clear();
  options.dry_run = true;
  options.mode = ImportOptions::Mode::kReplace;
  ASSERT_OK_AND_ASSIGN(ImportSummary plan, ImportSnapshot(*db, DefineSchema(), path, options));
  EXPECT_TRUE(events.empty());
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_EQ(plan.changes[0].created, 2500u);
  EXPECT_EQ(plan.changes[0].deleted, 2500u);
  EXPECT_EQ(plan.changes[0].existing, 2500u);
  auto txn = db->Begin();
  EXPECT_EQ(Rows(*txn, "rows").size(), 2500u);
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
  std::vector<Document> rows = Rows(*txn, "rows");
  ASSERT_EQ(rows.size(), 3u);
  const Object& first = rows[0].fields;
  EXPECT_EQ(first.at("a"), Value::Float64(1));
  EXPECT_EQ(first.at("b"), Value::String("x"));
  EXPECT_EQ(first.at("c"), Value::String("quoted, with \"quotes\"\nand a newline"));
  const Object& second = rows[1].fields;
  EXPECT_EQ(second.at("a"), Value::Float64(-2500));
  EXPECT_EQ(second.at("b"), Value::String("true"));  // no booleans
  EXPECT_EQ(second.count("c"), 0u);                   // empty + optional in the schema: omitted
  const Object& third = rows[2].fields;
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
