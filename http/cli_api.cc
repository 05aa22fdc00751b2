#include "http/cli_api.h"

#include <array>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/error.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/text.h"
#include "engine/transaction.h"
#include "engine/value/json.h"
#include "functions/system_udfs.h"
#include "openssl/rand.h"

namespace cvx {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kExportLifetimeNs = 14ull * 24 * 3600 * 1000000000ull;

HttpResponse Ok(std::string body = "{}") {
  HttpResponse r;
  r.status = 200;
  r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

absl::Status Bad(std::string_view tag, std::string_view message) { return InvalidArgument(tag, message); }

std::string RandomToken() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

bool IsToken(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

Value ImportState(Object state) { return Value::FromObject(std::move(state)); }

// Convex's info_message_for_import: a `table | create | delete |` table under
// "Import change summary:", then the fixed trailer.
std::string ConfirmationMessage(const std::vector<SnapshotHooks::TableChange>& changes) {
  std::vector<std::array<std::string, 3>> rows = {{"table", "create", "delete"}};
  for (const auto& c : changes) {
    rows.push_back({c.table, WithCommas(c.created), absl::StrCat(WithCommas(c.deleted), " of ", WithCommas(c.existing))});
  }
  size_t width[3] = {0, 0, 0};
  for (const auto& row : rows) {
    for (int i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::vector<std::string> lines;
  if (!changes.empty()) lines.push_back("Import change summary:");
  for (size_t r = 0; r < rows.size() && !changes.empty(); ++r) {
    std::string line;
    for (int i = 0; i < 3; ++i) {
      absl::StrAppend(&line, rows[r][i], std::string(width[i] - rows[r][i].size(), ' '), i < 2 ? " | " : " |");
    }
    lines.push_back(std::move(line));
    if (r == 0) lines.push_back(std::string(width[0] + 3 + width[1] + 3 + width[2] + 2, '-'));
  }
  lines.push_back("Once the import has started, it will run in the background.\n"
                  "Interrupting `npx convex import` will not cancel it.");
  return absl::StrJoin(lines, "\n");
}

// Convex's wrap_import_err.
Value FailedImport(const absl::Status& s) {
  return ImportState({{"state", Value::String("failed")},
                      {"error_message", Value::String(absl::StrCat("Hit an error while importing:\n", s.message()))}});
}

}  // namespace

CliApi::CliApi(Runner* runner, SnapshotHooks hooks) : runner_(runner), hooks_(std::move(hooks)) {}

bool CliApi::Handles(std::string_view path) {
  return path == "/api/update_environment_variables" || path == "/api/export/request/zip" ||
         path.substr(0, 16) == "/api/export/zip/" || path.substr(0, 12) == "/api/import/" ||
         path == "/api/perform_import";
}

HttpResponse CliApi::Handle(const HttpRequest& request, const std::string& path,
                            const std::map<std::string, std::string>& query) {
  if (absl::StartsWith(path, "/api/export/zip/")) {
    if (request.method != "GET") return SystemErrorResponse(Bad("MethodNotAllowed", "Use GET"));
    return DownloadExport(path.substr(std::string_view("/api/export/zip/").size()));
  }
  if (request.method != "POST") return SystemErrorResponse(Bad("MethodNotAllowed", "Use POST"));
  if (path == "/api/update_environment_variables") return UpdateEnvironment(request);
  if (hooks_.dir.empty() || !hooks_.export_zip || !hooks_.import_file) {
    return SystemErrorResponse(MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                                         "snapshot export and import are not enabled on this server"));
  }
  if (path == "/api/export/request/zip") return RequestExport();
  if (path == "/api/import/start_upload") return StartUpload();
  if (path == "/api/import/upload_part") return UploadPart(request, query);
  if (path == "/api/import/finish_upload") return FinishUpload(request);
  if (path == "/api/perform_import") return PerformImport(request);
  return SystemErrorResponse(
      MakeError(absl::StatusCode::kNotFound, "NotFound", absl::StrCat("No route for ", path)));
}

HttpResponse CliApi::UpdateEnvironment(const HttpRequest& request) {
  absl::StatusOr<Value> body = ParseConvexJson(request.body);
  const Value* changes = body.ok() ? body->Find("changes") : nullptr;
  if (changes == nullptr || !changes->is_array()) {
    return SystemErrorResponse(Bad("BadJsonBody", "expected {\"changes\": [{\"name\": ..., \"value\": ...}]}"));
  }
  // Check every change before applying any.
  for (const Value& change : changes->array()) {
    const Value* name = change.Find("name");
    const Value* value = change.Find("value");
    if (name == nullptr || !name->is_string() ||
        (value != nullptr && !value->is_null() && !value->is_string())) {
      return SystemErrorResponse(Bad("BadJsonBody", "each change needs a string name and a string or null value"));
    }
    if (absl::Status s = Runner::CheckEnvironmentVariable(
            name->string(), value != nullptr && value->is_string() ? value->string() : "");
        !s.ok()) {
      return SystemErrorResponse(s);
    }
  }
  for (const Value& change : changes->array()) {
    const Value* value = change.Find("value");
    const std::string& name = change.Find("name")->string();
    absl::Status s = value != nullptr && value->is_string() ? runner_->SetEnv(name, value->string())
                                                            : runner_->RemoveEnv(name);
    if (!s.ok()) return SystemErrorResponse(s);
  }
  return Ok();
}

HttpResponse CliApi::RequestExport() {
  Database& db = runner_->db();
  fs::path dir = fs::path(hooks_.dir) / "exports";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path tmp = dir / absl::StrCat("pending-", RandomToken(), ".zip");
  uint64_t start = db.LatestTs();
  absl::StatusOr<uint64_t> ts = hooks_.export_zip(tmp.string());
  Object row{{"requestor", Value::String("snapshotExport")}};
  if (!ts.ok()) {
    fs::remove(tmp, ec);
    row["state"] = Value::String("failed");
    row["start_ts"] = Value::Int64(static_cast<int64_t>(start));
    row["failed_ts"] = Value::Int64(static_cast<int64_t>(db.LatestTs()));
  } else {
    // Only the newest export is kept.
    std::string name = absl::StrCat("snapshot_", *ts, ".zip");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (absl::StartsWith(entry.path().filename().string(), "snapshot_")) fs::remove(entry.path(), ec);
    }
    fs::rename(tmp, dir / name, ec);
    if (ec) return SystemErrorResponse(absl::UnavailableError("cannot store the export"));
    row["state"] = Value::String("completed");
    row["start_ts"] = Value::Int64(static_cast<int64_t>(*ts));
    row["complete_ts"] = Value::Int64(static_cast<int64_t>(std::max(*ts, db.LatestTs())));
    row["expiration_ts"] = Value::Int64(static_cast<int64_t>(*ts + kExportLifetimeNs));
    row["zip_object_key"] = Value::String(name);
    row["format"] = Value::FromObject({{"format", Value::String("zip")},
                                       {"include_storage", Value::Boolean(false)}});
  }
  absl::Status s = CommitWithRetries(
      db, [&](Transaction& txn) { return txn.Insert(kExportsTable, row).status(); }, "record the export");
  if (!s.ok()) return SystemErrorResponse(s);
  return Ok();
}

HttpResponse CliApi::DownloadExport(const std::string& id) {
  uint64_t ts = 0;
  if (!absl::SimpleAtoi(id, &ts)) {
    return SystemErrorResponse(Bad("InvalidExportId", absl::StrCat("Invalid export id: ", id)));
  }
  fs::path file = fs::path(hooks_.dir) / "exports" / absl::StrCat("snapshot_", ts, ".zip");
  absl::StatusOr<std::string> bytes = ReadFile(file.string());
  if (hooks_.dir.empty() || !bytes.ok()) {
    return SystemErrorResponse(MakeError(absl::StatusCode::kNotFound, "ExportNotFound",
                                         absl::StrCat("No export with timestamp ", ts)));
  }
  HttpResponse r;
  r.status = 200;
  r.headers["content-type"] = "application/zip";
  r.headers["content-disposition"] = absl::StrCat("attachment; filename=snapshot_convexlite_", ts, ".zip");
  r.headers["cache-control"] = "private, max-age=2592000";
  r.body = std::move(*bytes);
  return r;
}

HttpResponse CliApi::StartUpload() {
  std::string token = RandomToken();
  std::error_code ec;
  fs::create_directories(fs::path(hooks_.dir) / "uploads" / token, ec);
  if (token.empty() || ec) return SystemErrorResponse(absl::UnavailableError("cannot start an upload"));
  return Ok(ToConvexJson(Value::FromObject({{"uploadToken", Value::String(token)}})));
}

HttpResponse CliApi::UploadPart(const HttpRequest& request, const std::map<std::string, std::string>& query) {
  auto token = query.find("uploadToken");
  auto part = query.find("partNumber");
  int number = 0;
  if (token == query.end() || !IsToken(token->second) || part == query.end() ||
      !absl::SimpleAtoi(part->second, &number) || number < 1 || number > 10000) {
    return SystemErrorResponse(Bad("InvalidUpload", "uploadToken and partNumber (1-10000) are required"));
  }
  fs::path dir = fs::path(hooks_.dir) / "uploads" / token->second;
  if (!fs::is_directory(dir)) return SystemErrorResponse(Bad("InvalidUpload", "unknown uploadToken"));
  if (absl::Status s = WriteFile((dir / absl::StrCat("part", number)).string(), request.body); !s.ok()) {
    return SystemErrorResponse(s);
  }
  return Ok(ToConvexJson(Value::String(absl::StrCat("part", number))));
}

HttpResponse CliApi::FinishUpload(const HttpRequest& request) {
  absl::StatusOr<Value> body = ParseConvexJson(request.body);
  const Value* import = body.ok() ? body->Find("import") : nullptr;
  const Value* token = body.ok() ? body->Find("uploadToken") : nullptr;
  const Value* parts = body.ok() ? body->Find("partTokens") : nullptr;
  const Value* format = import ? import->Find("format") : nullptr;
  const Value* mode = import ? import->Find("mode") : nullptr;
  const Value* table = import ? import->Find("tableName") : nullptr;
  if (import == nullptr || token == nullptr || !token->is_string() || !IsToken(token->string()) ||
      parts == nullptr || !parts->is_array() || format == nullptr || !format->is_string() ||
      mode == nullptr || !mode->is_string() || (table != nullptr && !table->is_string())) {
    return SystemErrorResponse(Bad("BadJsonBody", "expected {import: {format, mode, tableName?}, uploadToken, partTokens}"));
  }
  // The request's name, the upload's extension (which the import hook reads), and the
  // name the _snapshot_imports row stores.
  struct Format {
    const char* name;
    const char* extension;
    const char* stored;
  };
  static constexpr Format kFormats[] = {{"zip", ".zip", "zip"},
                                        {"jsonLines", ".jsonl", "jsonl"},
                                        {"jsonArray", ".json", "json_array"},
                                        {"csv", ".csv", "csv"}};
  const Format* known = nullptr;
  for (const Format& f : kFormats) {
    if (format->string() == f.name) known = &f;
  }
  if (known == nullptr) {
    return SystemErrorResponse(Bad("UnsupportedImportFormat",
                                   absl::StrCat("convexlite does not import the format \"", format->string(),
                                                "\" (zip, jsonLines, jsonArray and csv are supported)")));
  }
  // Convex stores "RequireEmpty" for "requireEmpty", and so on.
  if (mode->string() != "requireEmpty" && mode->string() != "append" && mode->string() != "replace" &&
      mode->string() != "replaceAll") {
    return SystemErrorResponse(Bad("UnsupportedImportMode",
                                   absl::StrCat("convexlite does not support the import mode \"", mode->string(),
                                                "\" (requireEmpty, append, replace, replaceAll)")));
  }
  if (const Value* component = import->Find("componentPath");
      component != nullptr && !(component->is_string() && component->string().empty()) && !component->is_null()) {
    return SystemErrorResponse(Bad("UnsupportedImport", "convexlite has no components: import into the root app "
                                                        "(without --component)"));
  }
  if ((format->string() == "zip") == (table != nullptr)) {
    return SystemErrorResponse(Bad("InvalidImport", format->string() == "zip"
                                                        ? "a ZIP import takes no tableName"
                                                        : "tableName is required for this format"));
  }
  fs::path dir = fs::path(hooks_.dir) / "uploads" / token->string();
  std::string bytes;
  for (const Value& part : parts->array()) {
    if (!part.is_string() || !absl::StartsWith(part.string(), "part") || part.string().size() > 9 ||
        part.string().find_first_not_of("0123456789", 4) != std::string::npos) {
      return SystemErrorResponse(Bad("InvalidUpload", "unknown part token"));
    }
    absl::StatusOr<std::string> chunk = ReadFile((dir / part.string()).string());
    if (!chunk.ok()) return SystemErrorResponse(Bad("InvalidUpload", "unknown part token"));
    bytes += *chunk;
  }
  std::string upload = absl::StrCat(token->string(), "/upload", known->extension);
  const std::string upload_path = (dir / absl::StrCat("upload", known->extension)).string();
  if (absl::Status s = WriteFile(upload_path, bytes); !s.ok()) {
    return SystemErrorResponse(s);
  }
  std::string stored_mode = mode->string();
  stored_mode[0] = absl::ascii_toupper(stored_mode[0]);
  Object format_field{{"format", Value::String(known->stored)}};
  if (table) format_field["table"] = *table;
  // Convex's confirmation step: the whole import is checked and counted, nothing written.
  absl::StatusOr<std::vector<SnapshotHooks::TableChange>> plan =
      hooks_.import_file(upload_path, mode->string(),
                         table ? std::optional<std::string>(table->string()) : std::nullopt, /*dry_run=*/true);
  Value state;
  if (!plan.ok()) {
    state = FailedImport(plan.status());
    std::error_code ec;
    fs::remove_all(dir, ec);  // nothing to perform
  } else {
    bool deletes = false;
    for (const auto& change : *plan) deletes = deletes || change.deleted > 0;
    state = ImportState({{"state", Value::String("waiting_for_confirmation")},
                         {"message_to_confirm", Value::String(ConfirmationMessage(*plan))},
                         {"require_manual_confirmation", Value::Boolean(deletes)}});
  }
  Object row{
      {"state", std::move(state)},
      {"format", Value::FromObject(std::move(format_field))},
      {"mode", Value::String(stored_mode)},
      {"requestor", Value::FromObject({{"type", Value::String("snapshotImport")}})},
      {"upload", Value::String(upload)}};  // the file, under <dir>/uploads
  std::string id;
  absl::Status s = CommitWithRetries(runner_->db(), [&](Transaction& txn) -> absl::Status {
    CVX_ASSIGN_OR_RETURN(DocumentId doc, txn.Insert(kSnapshotImportsTable, row));
    id = doc.Encode();
    return absl::OkStatus();
  }, "record the import");
  if (!s.ok()) return SystemErrorResponse(s);
  return Ok(ToConvexJson(Value::FromObject({{"importId", Value::String(id)}})));
}

HttpResponse CliApi::PerformImport(const HttpRequest& request) {
  absl::StatusOr<Value> body = ParseConvexJson(request.body);
  const Value* id_text = body.ok() ? body->Find("importId") : nullptr;
  absl::StatusOr<DocumentId> id = id_text && id_text->is_string() ? DocumentId::Decode(id_text->string())
                                                                  : absl::InvalidArgumentError("");
  Database& db = runner_->db();
  std::optional<Document> row;
  if (id.ok()) {
    auto txn = db.Begin();
    absl::StatusOr<std::optional<Document>> got = txn->Get(*id);
    std::optional<std::string> table = txn->TableName(id->table_number);
    if (got.ok() && table == kSnapshotImportsTable) row = std::move(*got);
  }
  if (!row) return SystemErrorResponse(Bad("ImportNotFound", "no such import"));
  const Value& state = row->fields.at("state");
  if (state.Find("state") == nullptr || state.Find("state")->string() != "waiting_for_confirmation") {
    return SystemErrorResponse(Bad("ImportNotWaiting", "this import is not waiting for confirmation"));
  }
  fs::path file = fs::path(hooks_.dir) / "uploads" / row->fields.at("upload").string();
  const Value* table = row->fields.at("format").Find("table");
  std::string mode = row->fields.at("mode").string();
  mode[0] = absl::ascii_tolower(mode[0]);
  absl::StatusOr<std::vector<SnapshotHooks::TableChange>> changes =
      hooks_.import_file(file.string(), mode, table ? std::optional<std::string>(table->string()) : std::nullopt,
                         /*dry_run=*/false);
  std::error_code ec;
  fs::remove_all(file.parent_path(), ec);
  Object fields = row->fields;
  if (changes.ok()) {
    uint64_t written = 0;
    for (const auto& change : *changes) written += change.created;
    fields["state"] = ImportState({{"state", Value::String("completed")},
                                   {"timestamp", Value::Int64(static_cast<int64_t>(db.LatestTs()))},
                                   {"num_rows_written", Value::Int64(static_cast<int64_t>(written))}});
  } else {
    fields["state"] = FailedImport(changes.status());
  }
  absl::Status s = CommitWithRetries(
      db, [&](Transaction& txn) { return txn.Replace(row->id, fields); }, "record the import");
  if (!s.ok()) return SystemErrorResponse(s);
  return Ok();
}

}  // namespace cvx
