// File: tools/snapshot.h
//
// Convex snapshot export and import (docs/design/snapshots.md), on libzip:
//
//   snapshot.zip
//     README.md
//     _tables/documents.jsonl            {"name":"<table>","id":<table number>} per user table
//     <table>/documents.jsonl            one document per line, ToExportJson (keys sorted,
//                                        _id and _creationTime included)
//     <table>/generated_schema.jsonl     "uniform"
//
// Import reads such ZIPs (tables named by the directory holding documents.jsonl; system
// tables and components skipped), and `--table T` with a .jsonl (one document per line),
// .json (an array) or .csv file (a header row; cells that parse as floats become float64,
// others strings, as Convex's CSV import does). Documents keep their _id (and _creationTime when it is a
// float64), and each table gets the number its IDs carry (the one `_tables` lists, else
// its first _id's), as Convex's import does: tables are created or renumbered to match,
// so a snapshot from Convex or from another convexlite imports with every ID and
// reference intact. An ID whose table number still does not match fails
// ("ImportConflict"). The whole import is one transaction, checked against the schema;
// a non-empty table needs kReplace or kAppend.

#ifndef CVX_TOOLS_SNAPSHOT_H_
#define CVX_TOOLS_SNAPSHOT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/database.h"
#include "http/cli_api.h"
#include "schema/schema.h"

namespace cvx::tools {

struct ExportSummary {
  size_t tables = 0;
  size_t documents = 0;
  uint64_t ts = 0;    // the snapshot's timestamp
  std::string path;   // the file written
};
// Where an export of snapshot `ts` goes: `path`, or when `path` is a directory
// `snapshot_<ts>.zip` in it (as `npx convex export --path DIR` names it).
std::string SnapshotPath(const std::string& path, uint64_t ts);

// Writes the ZIP to SnapshotPath(path, ts). kUnavailable when it cannot be written.
[[nodiscard]] absl::StatusOr<ExportSummary> ExportSnapshot(Database& db, const std::string& path);

// Where an import is, for a progress display.
struct ImportProgress {
  std::string table;
  size_t table_done = 0, table_total = 0;  // documents of `table`
  size_t done = 0, total = 0;              // documents of the whole import
  bool table_finished = false;
};
inline constexpr size_t kProgressStep = 1000;

// One line for a terminal: "[#####---------------]  25%  1,000/4,000 documents  users".
std::string ProgressBar(const ImportProgress& p, size_t width = 30);

struct ImportOptions {
  // kReplaceAll is kReplace, and every user table the import does not bring is deleted
  // (emptied when the schema declares it), as Convex's replaceAll.
  enum class Mode { kRequireEmpty, kReplace, kAppend, kReplaceAll } mode = Mode::kRequireEmpty;
  // "requireEmpty" | "replace" | "append" | "replaceAll" (Convex's import modes); false
  // for others.
  [[nodiscard]] bool SetMode(std::string_view name);
  // The Convex name of `mode`.
  const char* ModeName() const;
  std::optional<std::string> table;  // required for .jsonl/.json, refused for .zip
  // Called as documents go in (every kProgressStep of a table, and when it is done).
  std::function<void(const ImportProgress&)> progress;
  // Check and count everything (Convex's confirmation step), write nothing.
  bool dry_run = false;
};
// The Convex import format of `path` by its extension ("zip", "jsonLines", "jsonArray",
// "csv"), checking that --table is given for every format but ZIP. kInvalidArgument
// with the CLI's text otherwise.
[[nodiscard]] absl::StatusOr<std::string> ImportFormat(const std::string& path,
                                                       const ImportOptions& options);

// What an import does to one table (Convex's "Import change summary" row): the server's
// hooks report the same rows.
using TableChange = SnapshotHooks::TableChange;

struct ImportSummary {
  size_t tables = 0;
  size_t documents = 0;
  std::vector<TableChange> changes;  // by table name; with replaceAll every user table
};
// Errors: kInvalidArgument (unknown file type, --table misuse, malformed lines, InvalidId
// for a number listed twice), kFailedPrecondition ("Table X already exists. ...";
// ImportConflict; TableConflict when a number belongs to a table not being imported;
// TableNumberConflict when --append meets a table with another number; schema
// violations). On any error nothing is written.
[[nodiscard]] absl::StatusOr<ImportSummary> ImportSnapshot(Database& db,
                                                           const SchemaDefinition& schema,
                                                           const std::string& path,
                                                           const ImportOptions& options);

// The snapshot endpoints' hooks (http/cli_api.h) on `db`: exports and imports as above,
// files under `dir`. `db` and `schema` must outlive the hooks.
std::shared_ptr<SnapshotHooks> MakeSnapshotHooks(Database& db, const SchemaDefinition& schema,
                                                 std::string dir);

}  // namespace cvx::tools

#endif  // CVX_TOOLS_SNAPSHOT_H_
