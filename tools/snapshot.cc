#include "tools/snapshot.h"

#include <zip.h>

#include <deque>
#include <filesystem>
#include <set>
#include <limits>
#include <cmath>
#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/text.h"
#include "engine/transaction.h"
#include "engine/value/document_id.h"
#include "engine/value/json.h"
#include "tools/generated_schema.h"

namespace cvx::tools {
namespace {

constexpr char kReadme[] =
    "# Welcome to your Convex snapshot export!\n"
    "\n"
    "This ZIP file contains a snapshot of the tables in your Convex deployment, written by\n"
    "convexlite in Convex's format: `_tables/documents.jsonl` lists the tables and their\n"
    "numbers, and each `<table>/documents.jsonl` holds one document per line.\n"
    "\n"
    "Import it with `convexlite import` or `npx convex import`.\n";

absl::Status Invalid(std::string message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "InvalidImport", std::move(message));
}

struct ZipDeleter {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using Zip = std::unique_ptr<zip_t, ZipDeleter>;

// Every documents.jsonl of a ZIP, by table, with its decoding.
struct TableFile {
  std::string documents;
  std::optional<std::string> generated_schema;
};

// What an import reads: the tables' files, and the table numbers `_tables` lists.
struct ImportFiles {
  std::map<std::string, TableFile> tables;
  std::map<std::string, uint32_t> numbers;
};

// `_tables/documents.jsonl`: {"name":"<table>","id":<number>} per line.
absl::StatusOr<std::map<std::string, uint32_t>> ParseTableNumbers(const std::string& text) {
  std::map<std::string, uint32_t> numbers;
  std::map<uint32_t, std::string> by_number;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line == "\r") continue;
    absl::StatusOr<Value> row = ParseExportJson(std::string_view(line.data(), line.size()));
    const Value* name = row.ok() ? row->Find("name") : nullptr;
    const Value* id = row.ok() ? row->Find("id") : nullptr;
    double number = id == nullptr ? -1 : id->is_int64() ? static_cast<double>(id->int64())
                                        : id->is_float64() ? id->float64() : -1;
    if (name == nullptr || !name->is_string() || number < 1 || number > 4294967295.0 ||
        number != static_cast<double>(static_cast<uint32_t>(number))) {
      return Invalid(absl::StrCat("_tables/documents.jsonl: malformed line: ", line));
    }
    auto n = static_cast<uint32_t>(number);
    if (auto [it, fresh] = by_number.emplace(n, name->string()); !fresh) {
      return MakeError(absl::StatusCode::kInvalidArgument, "InvalidId",
                       absl::StrCat("conflict between `", it->second, "` and `", name->string(),
                                    "` with number ", n));
    }
    numbers[name->string()] = n;
  }
  return numbers;
}

absl::StatusOr<std::string> ReadEntry(zip_t* z, zip_uint64_t index) {
  zip_stat_t st;
  if (zip_stat_index(z, index, 0, &st) != 0) return Invalid("cannot read the ZIP directory");
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen_index(z, index, 0), zip_fclose);
  if (!f) return Invalid(absl::StrCat("cannot open ", st.name, " in the ZIP"));
  std::string out(st.size, '\0');
  zip_int64_t n = zip_fread(f.get(), out.data(), out.size());
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) {
    return Invalid(absl::StrCat("cannot read ", st.name, " in the ZIP"));
  }
  return out;
}

bool HasRows(const std::string& jsonl) {
  return jsonl.find_first_not_of(" \t\r\n") != std::string::npos;
}

// Entries are matched as Convex's parse.rs matches them: `[prefix/]<table>/documents.jsonl`,
// `[prefix/]<table>/generated_schema.jsonl`, `[prefix/]_storage/<id>[.ext]`, with child
// components under `_components/<name>/`. System tables other than `_tables` are skipped.
// convexlite has neither components nor file storage: a snapshot whose component tables
// or `_storage` hold anything is refused rather than imported in part.
absl::StatusOr<ImportFiles> ReadZip(const std::string& path) {
  int error = 0;
  Zip z(zip_open(path.c_str(), ZIP_RDONLY, &error));
  if (!z) return Invalid(absl::StrCat("cannot open ", path, " as a ZIP file"));
  ImportFiles files;
  std::set<std::string> component_tables;
  size_t storage_rows = 0, storage_files = 0;
  zip_int64_t count = zip_get_num_entries(z.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    std::string name = zip_get_name(z.get(), i, 0);
    size_t slash = name.rfind('/');
    std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
    std::string file = name.substr(slash == std::string::npos ? 0 : slash + 1);
    std::string table = dir.substr(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/') + 1);
    bool documents = file == "documents.jsonl";
    bool schema = file == "generated_schema.jsonl";
    if (table == "_storage") {
      if (documents) {
        CVX_ASSIGN_OR_RETURN(std::string content, ReadEntry(z.get(), i));
        if (HasRows(content)) ++storage_rows;
      } else if (!file.empty()) {
        ++storage_files;
      }
      continue;
    }
    if ((!documents && !schema) || table.empty()) continue;
    size_t component = dir.rfind("_components/");
    if (component != std::string::npos && (component == 0 || dir[component - 1] == '/')) {
      if (documents && table != "_tables") {
        CVX_ASSIGN_OR_RETURN(std::string content, ReadEntry(z.get(), i));
        if (HasRows(content)) component_tables.insert(dir.substr(component + 12));
      }
      continue;
    }
    if (table == "_tables" && documents) {
      CVX_ASSIGN_OR_RETURN(std::string content, ReadEntry(z.get(), i));
      CVX_ASSIGN_OR_RETURN(files.numbers, ParseTableNumbers(content));
      continue;
    }
    if (table[0] == '_') continue;  // system tables: not imported, as in Convex
    CVX_ASSIGN_OR_RETURN(std::string content, ReadEntry(z.get(), i));
    if (documents) {
      files.tables[table].documents = std::move(content);
    } else {
      files.tables[table].generated_schema = std::move(content);
    }
  }
  if (!component_tables.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "UnsupportedSnapshot",
                     absl::StrCat("this snapshot holds documents of component tables (",
                                  absl::StrJoin(component_tables, ", "),
                                  "), and convexlite has no components; nothing was imported"));
  }
  if (storage_rows > 0 || storage_files > 0) {
    return MakeError(absl::StatusCode::kInvalidArgument, "UnsupportedSnapshot",
                     absl::StrCat("this snapshot holds file storage (_storage: ", storage_files,
                                  " files), and convexlite has no file storage; export it without "
                                  "--include-file-storage. Nothing was imported"));
  }
  return files;
}

// The documents of one file: lines (or a JSON array), decoded per the table's generated
// schema (tools/generated_schema.h): "uniform", a legacy shape, or none.
absl::StatusOr<std::vector<Value>> Decode(const std::string& name, const TableFile& file,
                                          bool json_array) {
  GeneratedSchema schema;
  if (file.generated_schema) {
    CVX_ASSIGN_OR_RETURN(schema, GeneratedSchema::Parse(*file.generated_schema,
                                                        name + "/generated_schema.jsonl"));
  }
  if (json_array) return schema.DecodeArray(file.documents);
  std::vector<Value> docs;
  size_t row = 0;
  for (absl::string_view line : absl::StrSplit(file.documents, '\n')) {
    if (line.empty() || line == "\r") continue;
    ++row;
    absl::StatusOr<Value> doc = schema.Decode(std::string_view(line.data(), line.size()));
    if (doc.ok() && !doc->is_object()) doc = Invalid("expected object");
    if (!doc.ok()) {
      return MakeError(absl::StatusCode::kInvalidArgument, ErrorTag(doc.status()),
                       absl::StrCat("table ", name, ": Row ", row, " wasn't a valid Convex value: ",
                                    doc.status().message()));
    }
    docs.push_back(std::move(*doc));
  }
  return docs;
}

// --- CSV, as Convex's import reads it (parse.rs parse_csv_import / parse_csv_cell, on the
// csv crate's defaults). Hand-written because no packaged library matches those rules:
//   file   := BOM? record (terminator record)*      terminator := "\r\n" | "\r" | "\n"
//   record := field ("," field)*                     (empty lines are skipped)
//   field  := '"' (char | '""' | newline)* '"' | char*   (a stray quote is kept as text)
// The first record is the header (cells trimmed of spaces); every other record must have
// as many fields. A cell that parses as a float (Rust's f64 grammar: sign, digits, '.',
// exponent, inf/infinity/nan) becomes float64 (non-finite: null), anything else a string.

// Rust's f64::from_str grammar, whole string.
std::optional<double> ParseRustFloat(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::string rest = absl::AsciiStrToLower(s.substr(i));
  if (rest == "inf" || rest == "infinity" || rest == "nan") {
    return std::numeric_limits<double>::quiet_NaN();  // non-finite: Convex stores null
  }
  size_t digits = 0, j = i;
  while (j < s.size() && absl::ascii_isdigit(s[j])) ++j, ++digits;
  if (j < s.size() && s[j] == '.') {
    ++j;
    while (j < s.size() && absl::ascii_isdigit(s[j])) ++j, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    ++j;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    size_t exponent = 0;
    while (j < s.size() && absl::ascii_isdigit(s[j])) ++j, ++exponent;
    if (exponent == 0) return std::nullopt;
  }
  if (j != s.size()) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

absl::StatusOr<std::vector<Value>> ParseCsv(const std::string& text, const SchemaDefinition& schema,
                                            const std::string& table) {
  std::vector<std::pair<size_t, std::vector<std::string>>> records;  // (line, fields)
  size_t i = absl::StartsWith(text, "\xEF\xBB\xBF") ? 3 : 0;
  size_t line = 1;
  while (i < text.size()) {
    if (text[i] == '\r' || text[i] == '\n') {  // an empty line
      i += text.compare(i, 2, "\r\n") == 0 ? 2 : 1;
      ++line;
      continue;
    }
    size_t start_line = line;
    std::vector<std::string> fields(1);
    bool quoted = false, after_quote = false;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (quoted) {
        if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
          fields.back().push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = false;
          after_quote = true;
        } else {
          if (c == '\n') ++line;
          fields.back().push_back(c);
        }
      } else if (c == ',') {
        fields.emplace_back();
        after_quote = false;
      } else if (c == '\r' || c == '\n') {
        break;
      } else if (c == '"' && fields.back().empty() && !after_quote) {
        quoted = true;
      } else {
        fields.back().push_back(c);
      }
    }
    if (i < text.size()) {
      i += text.compare(i, 2, "\r\n") == 0 ? 2 : 1;
      ++line;
    }
    records.emplace_back(start_line, std::move(fields));
  }
  if (records.empty()) return std::vector<Value>();
  std::vector<std::string> header;
  for (std::string name : records[0].second) {
    size_t b = name.find_first_not_of(' '), e = name.find_last_not_of(' ');
    name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
    std::string why;
    if (absl::StartsWith(name, "$")) why = absl::StrCat("Field name ", name, " starts with '$', which is reserved.");
    if (name.size() > 1024) why = absl::StrCat("Field name ", name.substr(0, 32), "... is longer than 1024 characters.");
    for (char c : name) {
      if (static_cast<unsigned char>(c) >= 0x80 || absl::ascii_iscntrl(c)) {
        why = absl::StrCat("Field name ", name, " has invalid character: only non-control ASCII is allowed.");
      }
    }
    if (!why.empty()) {
      return Invalid(absl::StrCat("CSV header \"", name, "\" isn't a valid field name: ", why));
    }
    header.push_back(std::move(name));
  }
  // Optional top-level fields of the table's schema: an empty cell omits them.
  std::set<std::string> optional;
  if (const TableDefinition* def = schema.Find(table);
      def != nullptr && def->document().kind() == Validator::Kind::kObject) {
    for (const auto& [name, field] : def->document().fields()) {
      if (field.optional()) optional.insert(name);
    }
  }
  std::vector<Value> docs;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& [row_line, cells] = records[r];
    if (cells.size() != header.size()) {
      return Invalid(absl::StrCat("CSV row ", row_line, " doesn't have all of the fields in the header"));
    }
    Object doc;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (cells[c].empty() && optional.count(header[c])) continue;
      std::optional<double> number = ParseRustFloat(cells[c]);
      doc[header[c]] = !number                ? Value::String(cells[c])
                       : std::isfinite(*number) ? Value::Float64(*number)
                                                : Value::Null();
    }
    docs.push_back(Value::FromObject(std::move(doc)));
  }
  return docs;
}

// Empties `table` as the mode asks: requireEmpty refuses a non-empty table, replace (and
// replaceAll) deletes its rows, append keeps them. Returns the documents it had.
absl::StatusOr<size_t> PrepareTable(Transaction& txn, const std::string& table, ImportOptions::Mode mode) {
  ScanRequest all;
  all.table = table;
  all.index = "by_id";
  if (mode == ImportOptions::Mode::kRequireEmpty) all.limit = 1;
  CVX_ASSIGN_OR_RETURN(ScanResult existing, txn.Scan(all));
  if (existing.documents.empty() || mode == ImportOptions::Mode::kAppend) return existing.documents.size();
  if (mode == ImportOptions::Mode::kRequireEmpty) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "ImportTableExists",
                     absl::StrCat("Table ", table, " already exists. Please choose a new table "
                                  "name or use replace/append modes."));
  }
  for (const Document& d : existing.documents) CVX_RETURN_IF_ERROR(txn.Delete(d.id));
  return existing.documents.size();
}

// Gives each imported table the number its IDs need (Convex's assign_table_numbers): the
// number `_tables` lists, else the table number of its first document's _id; tables with
// neither keep theirs. Tables that move go to numbers above every number in use first, so
// two tables may swap numbers. A table not imported that holds a wanted number moves out
// of its way when it is empty (no ID of it exists to break), which with `free_holders`
// (replaceAll, which has emptied them) they all are; a non-empty one is a TableConflict.
absl::Status AssignTableNumbers(Database& db, Transaction& txn, const ImportFiles& files,
                                const std::map<std::string, std::vector<Value>>& docs,
                                bool free_holders) {
  std::map<std::string, uint32_t> wanted;
  for (const auto& [table, rows] : docs) {
    if (auto it = files.numbers.find(table); it != files.numbers.end()) {
      wanted[table] = it->second;
      continue;
    }
    const Value* id = rows.empty() ? nullptr : rows.front().Find("_id");
    if (id == nullptr || !id->is_string()) continue;
    absl::StatusOr<DocumentId> parsed = DocumentId::Decode(id->string());
    if (parsed.ok()) wanted[table] = parsed->table_number;
  }
  uint32_t spare = kFirstUserTableNumber;
  for (const std::string& name : db.TableNames()) {
    CVX_ASSIGN_OR_RETURN(std::optional<uint32_t> n, txn.TableNumber(name));
    if (n) spare = std::max(spare, *n + 1);
  }
  for (const auto& [table, n] : wanted) spare = std::max(spare, n + 1);
  std::vector<std::pair<std::string, uint32_t>> moves;
  for (const auto& [table, n] : wanted) {
    std::optional<std::string> holder = txn.TableName(n);
    if (holder && !docs.count(*holder)) {
      bool empty = free_holders;
      if (!empty) {
        ScanRequest any;
        any.table = *holder;
        any.index = "by_id";
        any.limit = 1;
        CVX_ASSIGN_OR_RETURN(ScanResult rows, txn.Scan(any));
        empty = rows.documents.empty();
      }
      if (empty) CVX_RETURN_IF_ERROR(txn.AssignTableNumber(*holder, spare++));
    }
    CVX_ASSIGN_OR_RETURN(std::optional<uint32_t> current, txn.TableNumber(table));
    if (current == n) continue;
    if (current) CVX_RETURN_IF_ERROR(txn.AssignTableNumber(table, spare++));
    moves.emplace_back(table, n);
  }
  for (const auto& [table, n] : moves) {
    absl::Status s = txn.AssignTableNumber(table, n);
    if (ErrorTag(s) == "TableConflict") {
      return MakeError(s.code(), "TableConflict",
                       absl::StrCat(s.message(), ". To delete all existing tables, import with "
                                                 "`npx convex import --replace-all`."));
    }
    CVX_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

absl::Status InsertDocuments(Transaction& txn, const SchemaDefinition& schema,
                             const std::string& table, const std::vector<Value>& docs,
                             const std::function<void(size_t)>& progress) {
  TableNameResolver resolver = [&txn](uint32_t n) { return txn.TableName(n); };
  size_t done = 0;
  for (const Value& doc : docs) {
    if (progress && done > 0 && done % kProgressStep == 0) progress(done);
    ++done;
    Object fields = doc.object();
    std::optional<Value> id = fields.count("_id") ? std::optional<Value>(fields["_id"]) : std::nullopt;
    std::optional<Value> created =
        fields.count("_creationTime") ? std::optional<Value>(fields["_creationTime"]) : std::nullopt;
    fields.erase("_id");
    fields.erase("_creationTime");
    CVX_RETURN_IF_ERROR(schema.CheckDocument(table, Value::FromObject(fields), resolver));
    if (id && id->is_string()) {
      CVX_ASSIGN_OR_RETURN(DocumentId parsed, DocumentId::Decode(id->string()));
      double creation = created && created->is_float64() ? created->float64() : 0;
      if (creation == 0) {
        creation = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()) / 1000.0;
      }
      CVX_RETURN_IF_ERROR(txn.InsertWithId(table, parsed, creation, std::move(fields)));
    } else {
      CVX_RETURN_IF_ERROR(txn.Insert(table, std::move(fields)).status());
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ProgressBar(const ImportProgress& p, size_t width) {
  size_t filled = p.total == 0 ? width : p.done * width / p.total;
  size_t percent = p.total == 0 ? 100 : p.done * 100 / p.total;
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '-'), "] ",
                      std::string(percent < 10 ? 2 : percent < 100 ? 1 : 0, ' '), percent, "%  ",
                      WithCommas(p.done), "/", WithCommas(p.total), " documents  ", p.table);
}

bool ImportOptions::SetMode(std::string_view name) {
  if (name == "requireEmpty") mode = Mode::kRequireEmpty;
  else if (name == "replace") mode = Mode::kReplace;
  else if (name == "append") mode = Mode::kAppend;
  else if (name == "replaceAll") mode = Mode::kReplaceAll;
  else return false;
  return true;
}

const char* ImportOptions::ModeName() const {
  switch (mode) {
    case Mode::kRequireEmpty: return "requireEmpty";
    case Mode::kReplace: return "replace";
    case Mode::kAppend: return "append";
    case Mode::kReplaceAll: return "replaceAll";
  }
  return "requireEmpty";
}

std::string SnapshotPath(const std::string& path, uint64_t ts) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  return (std::filesystem::path(path) / absl::StrCat("snapshot_", ts, ".zip")).string();
}

absl::StatusOr<ExportSummary> ExportSnapshot(Database& db, const std::string& path) {
  auto txn = db.Begin();
  std::vector<std::pair<uint32_t, std::string>> tables;
  for (const std::string& name : db.TableNames()) {
    if (name.empty() || name[0] == '_') continue;
    CVX_ASSIGN_OR_RETURN(std::optional<uint32_t> number, txn->TableNumber(name));
    if (number) tables.emplace_back(*number, name);
  }
  std::sort(tables.begin(), tables.end());
  std::deque<std::string> buffers;  // alive until zip_close
  std::vector<std::pair<std::string, const std::string*>> entries;
  buffers.push_back(kReadme);
  entries.emplace_back("README.md", &buffers.back());
  std::string table_list;
  for (const auto& [number, name] : tables) {
    std::string line = "{\"name\":";
    AppendJsonString(name, &line);
    absl::StrAppend(&line, ",\"id\":", number, "}\n");
    table_list += line;
  }
  buffers.push_back(std::move(table_list));
  entries.emplace_back("_tables/documents.jsonl", &buffers.back());
  ExportSummary summary;
  summary.ts = txn->begin_ts();
  for (const auto& [number, name] : tables) {
    ScanRequest all;
    all.table = name;
    all.index = "by_id";
    CVX_ASSIGN_OR_RETURN(ScanResult docs, txn->Scan(all));
    std::string lines;
    for (const Document& d : docs.documents) {
      lines += ToExportJson(d.ToValue());
      lines.push_back('\n');
    }
    summary.documents += docs.documents.size();
    ++summary.tables;
    buffers.push_back(std::move(lines));
    entries.emplace_back(name + "/documents.jsonl", &buffers.back());
    buffers.push_back("\"uniform\"\n");
    entries.emplace_back(name + "/generated_schema.jsonl", &buffers.back());
  }
  summary.path = SnapshotPath(path, summary.ts);
  std::string tmp = summary.path + ".tmp";
  int error = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (z == nullptr) return absl::UnavailableError(absl::StrCat("cannot create ", path));
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(z, data->data(), data->size(), 0);
    zip_int64_t index = src ? zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (src) zip_source_free(src);
      zip_discard(z);
      return absl::InternalError(absl::StrCat("cannot add ", name, " to ", path));
    }
    zip_set_file_compression(z, index, ZIP_CM_DEFLATE, 0);
    zip_file_set_external_attributes(z, index, 0, ZIP_OPSYS_UNIX, 0100644u << 16);
  }
  if (zip_close(z) != 0) {
    zip_discard(z);
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  if (std::rename(tmp.c_str(), summary.path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", summary.path));
  }
  return summary;
}

absl::StatusOr<std::string> ImportFormat(const std::string& path, const ImportOptions& options) {
  std::string format = absl::EndsWith(path, ".zip")     ? "zip"
                       : absl::EndsWith(path, ".jsonl") ? "jsonLines"
                       : absl::EndsWith(path, ".json")  ? "jsonArray"
                       : absl::EndsWith(path, ".csv")   ? "csv"
                                                        : "";
  if (format.empty()) {
    return Invalid(absl::StrCat("cannot import ", path,
                                ": the file must be a .zip snapshot, or .jsonl / .json / .csv with --table"));
  }
  if (format == "zip" && options.table) return Invalid("--table cannot be used with a ZIP snapshot");
  if (format != "zip" && !options.table) {
    return Invalid("--table is required to import a .jsonl, .json or .csv file");
  }
  return format;
}

absl::StatusOr<ImportSummary> ImportSnapshot(Database& db, const SchemaDefinition& schema,
                                             const std::string& path,
                                             const ImportOptions& options) {
  CVX_ASSIGN_OR_RETURN(std::string format, ImportFormat(path, options));
  ImportFiles files;
  if (format == "zip") {
    CVX_ASSIGN_OR_RETURN(files, ReadZip(path));
  } else {
    absl::StatusOr<std::string> content = ReadFile(path);
    if (!content.ok()) return Invalid(std::string(content.status().message()));
    files.tables[*options.table].documents = std::move(*content);
  }
  std::map<std::string, std::vector<Value>> docs;
  for (const auto& [table, file] : files.tables) {
    if (format == "csv") {
      CVX_ASSIGN_OR_RETURN(docs[table], ParseCsv(file.documents, schema, table));
    } else {
      CVX_ASSIGN_OR_RETURN(docs[table], Decode(table, file, format == "jsonArray"));
    }
  }
  // One transaction: a refused or failing import changes nothing.
  auto txn = db.Begin();
  const bool replace_all = options.mode == ImportOptions::Mode::kReplaceAll;
  const bool deletes = replace_all || options.mode == ImportOptions::Mode::kReplace;
  std::map<std::string, TableChange> changes;
  for (const auto& [table, rows] : docs) {
    CVX_ASSIGN_OR_RETURN(size_t existing, PrepareTable(*txn, table, options.mode));
    changes[table] = TableChange{table, rows.size(), deletes ? existing : 0, existing};
  }
  if (replace_all) {
    for (const std::string& table : txn->TableNames()) {
      if (table[0] == '_' || docs.count(table)) continue;
      CVX_ASSIGN_OR_RETURN(size_t existing, PrepareTable(*txn, table, options.mode));
      changes[table] = TableChange{table, 0, existing, existing};
      if (schema.Find(table) == nullptr) CVX_RETURN_IF_ERROR(txn->DeleteTable(table));
    }
  }
  CVX_RETURN_IF_ERROR(AssignTableNumbers(db, *txn, files, docs, replace_all));
  ImportSummary summary;
  ImportProgress progress;
  for (const auto& [table, rows] : docs) progress.total += rows.size();
  auto report = [&](size_t table_done, bool finished) {
    if (!options.progress || options.dry_run) return;
    progress.table_done = table_done;
    progress.done = summary.documents + table_done;
    progress.table_finished = finished;
    options.progress(progress);
  };
  for (const auto& [table, rows] : docs) {
    progress.table = table;
    progress.table_total = rows.size();
    CVX_RETURN_IF_ERROR(InsertDocuments(*txn, schema, table, rows, [&](size_t n) { report(n, false); }));
    report(rows.size(), true);
    summary.documents += rows.size();
    ++summary.tables;
  }
  for (auto& [table, change] : changes) summary.changes.push_back(std::move(change));
  if (!options.dry_run) CVX_RETURN_IF_ERROR(txn->Commit());
  return summary;
}

std::shared_ptr<SnapshotHooks> MakeSnapshotHooks(Database& db, const SchemaDefinition& schema,
                                                 std::string dir) {
  auto hooks = std::make_shared<SnapshotHooks>();
  hooks->dir = std::move(dir);
  hooks->export_zip = [&db](const std::string& path) -> absl::StatusOr<uint64_t> {
    CVX_ASSIGN_OR_RETURN(ExportSummary summary, ExportSnapshot(db, path));
    return summary.ts;
  };
  hooks->import_file = [&db, &schema](const std::string& path, const std::string& mode,
                                      const std::optional<std::string>& table,
                                      bool dry_run) -> absl::StatusOr<std::vector<SnapshotHooks::TableChange>> {
    ImportOptions options;
    if (!options.SetMode(mode)) return Invalid("unknown import mode " + mode);
    options.table = table;
    options.dry_run = dry_run;
    CVX_ASSIGN_OR_RETURN(ImportSummary summary, ImportSnapshot(db, schema, path, options));
    return std::move(summary.changes);
  };
  return hooks;
}

}  // namespace cvx::tools
