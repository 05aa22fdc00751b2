#include "tools/cli.h"

#include "tools/snapshot.h"
#include "tools/target.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "functions/auth/better_auth.h"
#include "functions/auth/crypto.h"
#include "functions/auth/jwt.h"
#include "engine/database.h"
#include "engine/value/json.h"
#include "functions/runner.h"
#include "functions/scheduled_jobs.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "http/api.h"
#include "http/cli_api.h"
#include "http/push_api.h"
#include "functions/js/js_runtime.h"
#include "functions/js/push.h"
#include "functions/js/test_engine.h"
#include "http/fetch.h"
#include "http/server.h"
#include "http/sync_session.h"
#include "boost/asio/thread_pool.hpp"

namespace cvx::tools {
namespace {

constexpr char kDevUsage[] =
    "usage: convexlite dev [--data DIR] [--port 3210] [--site-port 3211] [--admin-key KEY]\n"
    "                      [--durability process|sync|memory] [--secret SECRET]\n"
    "                      [--site-url URL] [--fast-password-hash] [--empty] [--node PATH]\n"
    "                      [--query-time-limit SECONDS] [--action-time-limit SECONDS]\n"
    "\n"
    "Serves the app: the Convex API (/version, /api/...) on --port and HTTP actions at the\n"
    "root of --site-port (and under /http/ on --port). Data lives in --data (default\n"
    "./.convexlite). Stops cleanly on SIGINT/SIGTERM.\n"
    "\n"
    "TypeScript apps: `npx convex dev` / `npx convex deploy` push to this server (self-hosted\n"
    "mode; it prints the two variables to export). --empty serves no built-in functions, only\n"
    "what is pushed. --node picks the Node.js (20 or newer) that analyzes pushed code.\n"
    "The time limits of TypeScript functions are Convex's unless set: 1 s of user time for\n"
    "queries and mutations, 600 s for actions.\n";

constexpr char kUsage[] =
    "usage: convexlite <command> [flags]\n"
    "\n"
    "commands:\n"
    "  dev     serve the app on loopback ports (try `convexlite dev --help`)\n"
    "  run     run a function and print the result\n"
    "  env     set, get, list or remove environment variables\n"
    "  data    list tables, or a table's documents\n"
    "  auth    Better Auth signing keys (jwks, rotate-keys)\n"
    "  export  write a Convex snapshot ZIP\n"
    "  import  import a Convex snapshot ZIP, or a table from .jsonl/.json/.csv\n"
    "  test-engine --requests FIFO --replies FIFO\n"
    "          the engine of the convexlite-test package (tools/convexlite-test)\n"
    "\n"
    "Every command but dev acts on --url URL --admin-key KEY (a running server) or\n"
    "--data DIR (a data directory no server holds); with neither, CONVEXLITE_URL and\n"
    "CONVEXLITE_ADMIN_KEY, else --data ./.convexlite.\n";

// A directory that lives as long as this object (pushed code under --durability memory).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct DevFlags {
  std::string data = "./.convexlite";
  uint16_t port = 3210;
  uint16_t site_port = 3211;
  std::string admin_key;
  Durability durability = Durability::kProcess;
  std::string secret;
  std::string site_url;
  bool fast_password_hash = false;
  bool empty = false;  // no built-in functions: only what `npx convex dev` pushes
  std::string node;    // Node.js for pushed TypeScript; empty: `node` on PATH
  double query_time_limit_s = 1;     // Convex's: 1 s of user time
  double action_time_limit_s = 600;  // Convex's: 10 minutes
};

// The built-in environment (RunnerOptions::builtin_env): CONVEX_SITE_URL, the Better Auth
// secret from --secret or the process's BETTER_AUTH_SECRET (else the deployment's stored
// one), and the fast password hash switch.
// Resolves auth.config fields: "${CONVEX_SITE_URL}", "${env:NAME}", and
// "${better-auth-jwks:NAME}" (the Better Auth Convex plugin's JWKS: a data: URI built from
// the NAME variable holding getLatestJwks output or a {keys} document, else the site's
// /api/auth/convex/jwks URL).
std::string ResolveProviderField(const std::string& field, const std::string& site_url,
                                 const std::function<std::optional<std::string>(const std::string&)>& env) {
  std::string out = absl::StrReplaceAll(field, {{"${CONVEX_SITE_URL}", site_url}});
  for (const char* kind : {"${better-auth-jwks:", "${env:"}) {
    size_t start;
    while ((start = out.find(kind)) != std::string::npos) {
      size_t name_start = start + std::strlen(kind);
      size_t end = out.find('}', name_start);
      if (end == std::string::npos) break;
      std::string name = out.substr(name_start, end - name_start);
      std::optional<std::string> value = env(name);
      std::string replacement = value.value_or("");
      if (std::string_view(kind) == "${better-auth-jwks:") {
        std::optional<std::string> jwks =
            value ? auth::BetterAuth::PublicJwksFromEnv(*value) : std::nullopt;
        replacement = jwks ? "data:text/plain;charset=utf-8;base64," + absl::Base64Escape(*jwks)
                           : site_url + "/api/auth/convex/jwks";
      }
      out.replace(start, end - start + 1, replacement);
    }
  }
  return out;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "convexlite dev: %s (try --help)\n", message.c_str());
  return 2;
}

bool ParsePort(const char* text, uint16_t* port) {
  uint32_t v = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &v) || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    unsigned b = rd() & 0xff;
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

constexpr char kRunUsage[] =
    "usage: convexlite run <function> [json-args] [--identity JSON]\n"
    "                      [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Runs a query, mutation or action (internal ones too) and prints the result as Convex\n"
    "JSON (nothing for null), like `npx convex run`: on a running server with its admin key,\n"
    "or directly on a data directory no server holds.\n";

// Prints a function's value as `npx convex run` does when not on a TTY.
void PrintResult(const Value& value) {
  if (!value.is_null()) std::printf("%s\n", ToPrettyConvexJson(value).c_str());
}

// Runs `path` on the target; prints the result or the error. Returns the exit code.
int RunOn(const App& app, const Target& target, const char* command, const std::string& path,
          const Value& args, const std::optional<UserIdentity>& identity) {
  if (target.remote()) {
    absl::StatusOr<Value> value = CallRemote(target, path, args, identity);
    if (!value.ok()) {
      std::fprintf(stderr, "convexlite %s: Failed to run function \"%s\":\n%s\n", command,
                   path.c_str(), std::string(value.status().message()).c_str());
      return 1;
    }
    PrintResult(*value);
    return 0;
  }
  absl::StatusOr<LocalBackend> local = OpenLocal(app, target.data);
  if (!local.ok()) {
    std::fprintf(stderr, "convexlite %s: %s\n", command, std::string(local.status().message()).c_str());
    return 1;
  }
  CallOptions call;
  call.allow_internal = true;
  call.identity = identity;
  absl::StatusOr<FunctionResult> result = local->runner->Run(path, args, call);
  if (result.ok()) {
    for (const std::string& line : result->log_lines) std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (!result.ok() || !result->ok()) {
    std::string message = result.ok() ? result->error->message : std::string(result.status().message());
    std::fprintf(stderr, "convexlite %s: Failed to run function \"%s\":\n%s\n", command, path.c_str(),
                 message.c_str());
    return 1;
  }
  PrintResult(*result->value);
  return 0;
}

int Run(const App& app, int argc, char** argv) {
  Target target;
  std::vector<std::string> words;
  std::optional<UserIdentity> identity;
  auto identity_flag = [&](int* i, int* exit_code) {
    if (std::string_view(argv[*i]) != "--identity") return false;
    const char* text = FlagValue(argc, argv, i);
    absl::StatusOr<Value> parsed = text ? ParseConvexJson(text) : absl::InvalidArgumentError("");
    if (!parsed.ok() || !parsed->is_object()) {
      std::fprintf(stderr, "convexlite run: --identity must be a JSON object\n");
      *exit_code = 2;
      return true;
    }
    Object fields = parsed->object();
    if (!fields.count("issuer")) fields["issuer"] = Value::String("https://convex.test");
    if (!fields.count("tokenIdentifier")) {
      const Value* subject = parsed->Find("subject");
      fields["tokenIdentifier"] = Value::String(
          fields["issuer"].string() + "|" + (subject && subject->is_string() ? subject->string() : ""));
    }
    identity = std::move(fields);
    return true;
  };
  if (std::optional<int> code = ParseCommand(argc, argv, "run", kRunUsage, &target, &words, identity_flag)) {
    return *code;
  }
  if (words.empty() || words.size() > 2) {
    std::fputs(kRunUsage, stderr);
    return 2;
  }
  Value args = Value::FromObject({});
  if (words.size() == 2) {
    absl::StatusOr<Value> parsed = ParseConvexJson(words[1]);
    if (!parsed.ok()) {
      std::fprintf(stderr, "convexlite run: Failed to parse arguments as JSON: \"%s\"\n%s\n",
                   words[1].c_str(), std::string(parsed.status().message()).c_str());
      return 1;
    }
    args = *parsed;
  }
  return RunOn(app, target, "run", words[0], args, identity);
}

constexpr char kAuthUsage[] =
    "usage: convexlite auth jwks | rotate-keys [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Better Auth's signing keys, as the seed's flow uses them:\n"
    "  jwks         the newest key row (created when there is none): auth:getLatestJwks\n"
    "  rotate-keys  replace every key with a new one: auth:rotateKeys\n"
    "Pipe either into `convexlite env set JWKS` for a static JWKS.\n";

int AuthCommand(const App& app, int argc, char** argv) {
  Target target;
  std::vector<std::string> words;
  if (std::optional<int> code = ParseCommand(argc, argv, "auth", kAuthUsage, &target, &words)) {
    return *code;
  }
  if (words.size() != 1 || (words[0] != "jwks" && words[0] != "rotate-keys")) {
    std::fputs(kAuthUsage, stderr);
    return 2;
  }
  return RunOn(app, target, "auth", words[0] == "jwks" ? "auth:getLatestJwks" : "auth:rotateKeys",
               Value::FromObject({}), std::nullopt);
}

constexpr char kExportUsage[] =
    "usage: convexlite export --path FILE.zip|DIR [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Writes every table to a Convex snapshot ZIP (the format of `npx convex export`); given a\n"
    "directory, to snapshot_<ts>.zip in it.\n";

constexpr char kImportUsage[] =
    "usage: convexlite import [--replace | --append | --replace-all] [--table TABLE] FILE\n"
    "                         [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Imports a Convex snapshot ZIP, or one table from a .jsonl, .json or .csv file (--table).\n"
    "Documents keep their _id. A table that already has documents needs --replace (its\n"
    "documents are swapped for the file's, in one transaction) or --append. --replace-all\n"
    "is --replace, and also deletes every table the import does not bring (a table the\n"
    "schema declares is emptied instead). The whole import is one transaction.\n";

// Export on a running server, as `npx convex export` does it: request, read the newest
// _exports row, download the ZIP.
absl::StatusOr<std::string> RemoteExport(const Target& target, std::string path) {
  CVX_ASSIGN_OR_RETURN(AdminReply requested, AdminRequest(target, "POST", "/api/export/request/zip?includeStorage=false"));
  CVX_RETURN_IF_ERROR(requested.Check());
  CVX_ASSIGN_OR_RETURN(Value row, CallRemote(target, "_system/cli/exports:getLatest", Value::FromObject({})));
  const Value* state = row.is_object() ? row.Find("state") : nullptr;
  const Value* ts = row.is_object() ? row.Find("start_ts") : nullptr;
  if (state == nullptr || !state->is_string() || state->string() != "completed" || ts == nullptr ||
      !ts->is_int64()) {
    return absl::UnavailableError("the server's export failed");
  }
  CVX_ASSIGN_OR_RETURN(AdminReply zip, AdminRequest(target, "GET", absl::StrCat("/api/export/zip/", ts->int64())));
  CVX_RETURN_IF_ERROR(zip.Check());
  path = SnapshotPath(path, static_cast<uint64_t>(ts->int64()));
  std::string tmp = path + ".tmp";
  CVX_RETURN_IF_ERROR(WriteFile(tmp, zip.body));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::UnavailableError("cannot write " + path);
  return path;
}

// Import on a running server, as `npx convex import -y` does it: upload in 5 MiB parts,
// finish, confirm, read the _snapshot_imports row.
absl::StatusOr<ImportSummary> RemoteImport(const Target& target, const std::string& file,
                                           const ImportOptions& options) {
  CVX_ASSIGN_OR_RETURN(std::string format, ImportFormat(file, options));
  CVX_ASSIGN_OR_RETURN(const std::string bytes, ReadFile(file));
  CVX_ASSIGN_OR_RETURN(AdminReply started, AdminRequest(target, "POST", "/api/import/start_upload"));
  CVX_RETURN_IF_ERROR(started.Check());
  CVX_ASSIGN_OR_RETURN(Value start, ParseConvexJson(started.body));
  const Value* token = start.Find("uploadToken");
  if (token == nullptr || !token->is_string()) return absl::UnavailableError("unexpected reply from the server");
  constexpr size_t kPart = 5 << 20;
  Array parts;
  for (size_t offset = 0, number = 1; offset < bytes.size() || number == 1; offset += kPart, ++number) {
    CVX_ASSIGN_OR_RETURN(AdminReply part,
                         AdminRequest(target, "POST",
                                      absl::StrCat("/api/import/upload_part?uploadToken=", token->string(),
                                                   "&partNumber=", number),
                                      bytes.substr(offset, kPart), "application/octet-stream"));
    CVX_RETURN_IF_ERROR(part.Check());
    CVX_ASSIGN_OR_RETURN(Value part_token, ParseConvexJson(part.body));
    parts.push_back(std::move(part_token));
  }
  Object import{{"format", Value::String(format)}, {"mode", Value::String(options.ModeName())}};
  if (options.table) import["tableName"] = Value::String(*options.table);
  std::string finish_body = ToConvexJson(Value::FromObject({{"import", Value::FromObject(std::move(import))},
                                                             {"uploadToken", *token},
                                                             {"partTokens", Value::FromArray(std::move(parts))}}));
  CVX_ASSIGN_OR_RETURN(AdminReply finished, AdminRequest(target, "POST", "/api/import/finish_upload", finish_body));
  CVX_RETURN_IF_ERROR(finished.Check());
  CVX_ASSIGN_OR_RETURN(Value finish, ParseConvexJson(finished.body));
  const Value* id = finish.Find("importId");
  if (id == nullptr || !id->is_string()) return absl::UnavailableError("unexpected reply from the server");
  // The server has checked and counted the import (Convex's confirmation step).
  CVX_ASSIGN_OR_RETURN(Value waiting, CallRemote(target, "_system/cli/queryImport", Value::FromObject({{"importId", *id}})));
  const Value* waiting_state = waiting.is_object() ? waiting.Find("state") : nullptr;
  const Value* message = waiting_state ? waiting_state->Find("message_to_confirm") : nullptr;
  if (message == nullptr || !message->is_string()) {
    const Value* error = waiting_state ? waiting_state->Find("error_message") : nullptr;
    return absl::FailedPreconditionError(error && error->is_string() ? error->string() : "the import failed");
  }
  std::fprintf(stderr, "%s\n", message->string().c_str());
  CVX_ASSIGN_OR_RETURN(AdminReply performed,
                       AdminRequest(target, "POST", "/api/perform_import",
                                    ToConvexJson(Value::FromObject({{"importId", *id}}))));
  CVX_RETURN_IF_ERROR(performed.Check());
  CVX_ASSIGN_OR_RETURN(Value row, CallRemote(target, "_system/cli/queryImport", Value::FromObject({{"importId", *id}})));
  const Value* state = row.is_object() ? row.Find("state") : nullptr;
  const Value* kind = state ? state->Find("state") : nullptr;
  if (kind && kind->is_string() && kind->string() == "completed") {
    ImportSummary summary;
    const Value* written = state->Find("num_rows_written");
    summary.documents = written && written->is_int64() ? static_cast<size_t>(written->int64()) : 0;
    return summary;
  }
  const Value* error = state ? state->Find("error_message") : nullptr;
  return absl::FailedPreconditionError(error && error->is_string() ? error->string() : "the import failed");
}

int Export(const App& app, int argc, char** argv) {
  Target target;
  std::vector<std::string> words;
  std::string path;
  auto path_flag = [&](int* i, int* exit_code) {
    if (std::string_view(argv[*i]) != "--path") return false;
    const char* value = FlagValue(argc, argv, i);
    if (value == nullptr) {
      std::fprintf(stderr, "convexlite export: --path needs a file or directory\n");
      *exit_code = 2;
      return true;
    }
    path = value;
    return true;
  };
  if (std::optional<int> code = ParseCommand(argc, argv, "export", kExportUsage, &target, &words, path_flag)) {
    return *code;
  }
  if (path.empty() || !words.empty()) {
    std::fputs(kExportUsage, stderr);
    return 2;
  }
  if (target.remote()) {
    absl::StatusOr<std::string> written = RemoteExport(target, path);
    if (!written.ok()) {
      std::fprintf(stderr, "convexlite export: %s\n", std::string(written.status().message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "Downloaded snapshot export to %s\n", written->c_str());
    return 0;
  }
  absl::Status exists = RequireDataDir(target.data);
  absl::StatusOr<LocalBackend> local = exists.ok() ? OpenLocal(app, target.data)
                                                   : absl::StatusOr<LocalBackend>(exists);
  absl::StatusOr<ExportSummary> summary =
      local.ok() ? ExportSnapshot(*local->db, path) : absl::StatusOr<ExportSummary>(local.status());
  if (!summary.ok()) {
    std::fprintf(stderr, "convexlite export: %s\n", std::string(summary.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "Exported %zu documents from %zu tables to %s\n", summary->documents,
               summary->tables, summary->path.c_str());
  return 0;
}

int Import(const App& app, int argc, char** argv) {
  Target target;
  std::vector<std::string> words;
  ImportOptions options;
  auto import_flag = [&](int* i, int* exit_code) {
    std::string_view arg = argv[*i];
    if (arg == "--replace" || arg == "--append" || arg == "--replace-all") {
      if (options.mode != ImportOptions::Mode::kRequireEmpty) {
        std::fprintf(stderr, "convexlite import: give at most one of --replace, --append and --replace-all\n");
        *exit_code = 2;
      }
      options.mode = arg == "--replace"  ? ImportOptions::Mode::kReplace
                     : arg == "--append" ? ImportOptions::Mode::kAppend
                                         : ImportOptions::Mode::kReplaceAll;
      return true;
    }
    if (arg == "-y" || arg == "--yes") return true;  // never prompts
    if (arg == "--table") {
      const char* value = FlagValue(argc, argv, i);
      if (value == nullptr) {
        std::fprintf(stderr, "convexlite import: --table needs a table name\n");
        *exit_code = 2;
      } else {
        options.table = value;
      }
      return true;
    }
    return false;
  };
  if (std::optional<int> code = ParseCommand(argc, argv, "import", kImportUsage, &target, &words, import_flag)) {
    return *code;
  }
  if (words.size() != 1) {
    std::fputs(kImportUsage, stderr);
    return 2;
  }
  const bool tty = isatty(fileno(stderr));
  // A bar on a terminal; a plain line per table otherwise.
  options.progress = [tty](const ImportProgress& p) {
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", ProgressBar(p).c_str());
    } else if (p.table_finished) {
      std::fprintf(stderr, "Imported %zu documents into %s\n", p.table_total, p.table.c_str());
    }
    std::fflush(stderr);
  };
  absl::StatusOr<ImportSummary> summary;
  if (target.remote()) {
    summary = RemoteImport(target, words[0], options);
  } else {
    absl::StatusOr<LocalBackend> local = OpenLocal(app, target.data);
    summary = local.ok() ? ImportSnapshot(*local->db, app.schema(), words[0], options)
                         : absl::StatusOr<ImportSummary>(local.status());
  }
  if (tty) std::fputs("\n", stderr);
  if (!summary.ok()) {
    std::fprintf(stderr, "convexlite import: Importing data from \"%s\" failed\n%s\n", words[0].c_str(),
                 std::string(summary.status().message()).c_str());
    return 1;
  }
  if (target.remote()) {
    std::fprintf(stderr, "Added %zu documents.\n", summary->documents);
  } else {
    std::fprintf(stderr, "Added %zu documents to %zu tables.\n", summary->documents, summary->tables);
  }
  return 0;
}

constexpr char kEnvUsage[] =
    "usage: convexlite env set NAME [VALUE] | get NAME | list | remove NAME\n"
    "                      [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Environment variables stored in the data directory and readable from handlers\n"
    "(ctx.Env), on a running server (--url URL --admin-key KEY) or on a data directory no\n"
    "server holds (--data DIR).\n";

// `env` on a running server: POST /api/update_environment_variables to change, the
// _system/cli/queryEnvironmentVariables queries to read (as `npx convex env` does).
int RemoteEnv(const Target& target, const std::vector<std::string>& words) {
  const std::string& verb = words[0];
  absl::Status status;
  if (verb == "set" || verb == "remove") {
    Object change{{"name", Value::String(words[1])},
                  {"value", verb == "set" ? Value::String(words[2]) : Value::Null()}};
    std::string body = ToConvexJson(Value::FromObject(
        {{"changes", Value::FromArray({Value::FromObject(std::move(change))})}}));
    absl::StatusOr<AdminReply> reply = AdminRequest(target, "POST", "/api/update_environment_variables", body);
    status = reply.ok() ? reply->Check() : reply.status();
  } else if (verb == "get") {
    absl::StatusOr<Value> row = CallRemote(target, "_system/cli/queryEnvironmentVariables:get",
                                           Value::FromObject({{"name", Value::String(words[1])}}));
    if (row.ok() && row->is_null()) {
      std::fprintf(stderr, "convexlite env: %s is not set\n", words[1].c_str());
      return 1;
    }
    status = row.status();
    if (row.ok()) std::printf("%s\n", row->Find("value")->string().c_str());
  } else {
    absl::StatusOr<Value> rows = CallRemote(target, "_system/cli/queryEnvironmentVariables", Value::FromObject({}));
    status = rows.status();
    if (rows.ok()) {
      for (const Value& row : rows->array()) {
        std::printf("%s=%s\n", row.Find("name")->string().c_str(), row.Find("value")->string().c_str());
      }
    }
  }
  if (!status.ok()) {
    std::fprintf(stderr, "convexlite env: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

int Env(const App& app, int argc, char** argv) {
  Target target;
  std::vector<std::string> words;
  if (std::optional<int> code = ParseCommand(argc, argv, "env", kEnvUsage, &target, &words)) {
    return *code;
  }
  const std::string data = target.data;
  auto usage_error = [] {
    std::fputs(kEnvUsage, stderr);
    return 2;
  };
  if (words.empty()) return usage_error();
  const std::string verb = words[0];  // a copy: words grows below
  if (verb == "set" && words.size() == 2) {
    // `convexlite run auth:getLatestJwks | convexlite env set JWKS`: the value is stdin.
    if (isatty(STDIN_FILENO)) {
      std::fprintf(stderr, "convexlite env: reading the value of %s from stdin (end with Ctrl-D)\n",
                   words[1].c_str());
    }
    std::string value((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    words.push_back(std::move(value));
  }
  if ((verb == "set" && words.size() != 3) || ((verb == "get" || verb == "remove") && words.size() != 2) ||
      (verb == "list" && words.size() != 1) ||
      (verb != "set" && verb != "get" && verb != "remove" && verb != "list")) {
    return usage_error();
  }
  if (target.remote()) return RemoteEnv(target, words);
  if (absl::Status s = verb == "set" ? absl::OkStatus() : RequireDataDir(data); !s.ok()) {
    std::fprintf(stderr, "convexlite env: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  DatabaseOptions options;
  options.path = data;
  auto db = Database::Open(options);
  if (!db.ok()) {
    std::fprintf(stderr, "convexlite env: %s\n", std::string(db.status().message()).c_str());
    return 1;
  }
  Runner runner(&app, db->get());
  absl::Status status;
  if (verb == "set") {
    status = runner.SetEnv(words[1], words[2]);
  } else if (verb == "remove") {
    status = runner.RemoveEnv(words[1]);
  } else if (verb == "get") {
    std::optional<std::string> value = runner.GetEnv(nullptr, words[1]);
    if (!value) {
      std::fprintf(stderr, "convexlite env: %s is not set\n", words[1].c_str());
      return 1;
    }
    std::printf("%s\n", value->c_str());
  } else {
    absl::StatusOr<std::map<std::string, std::string>> all = runner.ListEnv();
    status = all.status();
    if (all.ok()) {
      for (const auto& [name, value] : *all) std::printf("%s=%s\n", name.c_str(), value.c_str());
    }
  }
  if (!status.ok()) {
    std::fprintf(stderr, "convexlite env: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

int Dev(const App& app, int argc, char** argv) {
  DevFlags flags;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kDevUsage, stdout);
      return 0;
    } else if (arg == "--data") {
      const char* v = value();
      if (!v) return UsageError("--data needs a directory");
      flags.data = v;
    } else if (arg == "--port") {
      if (!ParsePort(value(), &flags.port)) return UsageError("--port needs a port number");
    } else if (arg == "--site-port") {
      if (!ParsePort(value(), &flags.site_port)) return UsageError("--site-port needs a port number");
    } else if (arg == "--admin-key") {
      const char* v = value();
      if (!v || !*v) return UsageError("--admin-key needs a key");
      flags.admin_key = v;
    } else if (arg == "--durability") {
      const char* v = value();
      std::string_view mode = v ? v : "";
      if (mode == "process") flags.durability = Durability::kProcess;
      else if (mode == "sync") flags.durability = Durability::kSync;
      else if (mode == "memory") flags.durability = Durability::kMemory;
      else return UsageError("--durability must be process, sync or memory");
    } else if (arg == "--secret") {
      const char* v = value();
      if (!v) return UsageError("--secret needs a value");
      flags.secret = v;
    } else if (arg == "--site-url") {
      const char* v = value();
      if (!v) return UsageError("--site-url needs a URL");
      flags.site_url = v;
    } else if (arg == "--fast-password-hash") {
      flags.fast_password_hash = true;
    } else if (arg == "--empty") {
      flags.empty = true;
    } else if (arg == "--node") {
      const char* v = value();
      if (!v || !*v) return UsageError("--node needs a path");
      flags.node = v;
    } else if (arg == "--query-time-limit" || arg == "--action-time-limit") {
      const char* v = value();
      double seconds = 0;
      if (!v || !absl::SimpleAtod(v, &seconds) || !(seconds > 0) || seconds > 86400) {
        return UsageError(std::string(arg) + " needs a number of seconds");
      }
      (arg == "--query-time-limit" ? flags.query_time_limit_s : flags.action_time_limit_s) = seconds;
    } else {
      return UsageError("unknown flag " + std::string(arg));
    }
  }
  if (flags.admin_key.empty()) flags.admin_key = "convexlite-admin-" + RandomHex(24);

  // Every thread started below inherits this mask; only sigwait sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  DatabaseOptions db_options;
  db_options.path = flags.data;
  db_options.durability = flags.durability;
  auto db = Database::Open(db_options);
  if (!db.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(db.status().message()).c_str());
    return 1;
  }
  // auth.config: providers' "${CONVEX_SITE_URL}" and "${env:NAME}" resolve at use.
  std::atomic<uint16_t> site_port{0};
  std::atomic<uint16_t> api_port{0};
  auto site_url = [&]() {
    return flags.site_url.empty() ? "http://127.0.0.1:" + std::to_string(site_port.load())
                                  : flags.site_url;
  };
  RunnerOptions runner_options;
  runner_options.cursor_key =
      DefaultSecret(flags.data, flags.durability != Durability::kMemory, kCursorKeyFile);
  // Executions for `npx convex logs`, also printed here as the local backend prints them.
  FunctionLog function_log;
  function_log.SetListener([](const FunctionExecution& e) {
    for (const std::string& line : e.log_lines) std::printf("%s %s %s\n", e.udf_type.c_str(), e.identifier.c_str(), line.c_str());
    if (e.error) std::printf("%s %s failed: %s\n", e.udf_type.c_str(), e.identifier.c_str(), e.error->c_str());
    if (!e.log_lines.empty() || e.error) std::fflush(stdout);
  });
  runner_options.function_log = &function_log;
  runner_options.builtin_env =
      BuiltinEnv(site_url, [&api_port] { return "http://127.0.0.1:" + std::to_string(api_port.load()); },
                 flags.secret, DefaultSecret(flags.data, flags.durability != Durability::kMemory),
                 flags.fast_password_hash);
  static const App kEmptyApp;
  const App& base = flags.empty ? kEmptyApp : app;
  Runner runner(&base, db->get(), runner_options);
  // Pushed TypeScript code (functions/js): sources, versions and the worker's JavaScript
  // live beside the database, or in a temporary directory for --durability memory.
  std::string code_root = flags.data + "/functions";
  std::unique_ptr<TempDir> memory_code_root;
  if (flags.durability == Durability::kMemory) {
    memory_code_root = std::make_unique<TempDir>("convexlite-code");
    code_root = memory_code_root->path();
  }
  js::TypeScriptOptions ts_options;
  ts_options.code_root = code_root;
  ts_options.query_mutation_time_limit = absl::Seconds(flags.query_time_limit_s);
  ts_options.action_time_limit = absl::Seconds(flags.action_time_limit_s);
  if (absl::StatusOr<js::NodeRuntime> node = js::NodeRuntime::Find(flags.node); node.ok()) {
    ts_options.node = *node;
  } else if (!flags.node.empty()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(node.status().message()).c_str());
    return 1;
  } else {
    ts_options.node_error = node.status();
  }
  ts_options.environment = [&runner, &site_url, &api_port]() {
    std::map<std::string, std::string> env = runner.ListEnv().value_or(std::map<std::string, std::string>{});
    env["CONVEX_SITE_URL"] = site_url();
    env["CONVEX_CLOUD_URL"] = "http://127.0.0.1:" + std::to_string(api_port.load());
    return env;
  };
  // A finished push re-runs every live subscription (the hub exists once serving starts).
  std::atomic<SyncHub*> live_hub{nullptr};
  ts_options.on_switch = [&live_hub] {
    if (SyncHub* h = live_hub.load()) h->CodeChanged();
  };
  absl::StatusOr<js::TypeScriptSupport> typescript = js::StartTypeScript(&runner, &base, std::move(ts_options));
  if (!typescript.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(typescript.status().message()).c_str());
    return 1;
  }
  std::shared_ptr<js::PushService> push = typescript->push;
  if (absl::Status s = ApplySchema(**db, runner.app()->schema()); !s.ok()) {
    std::fprintf(stderr, "convexlite dev: the schema cannot be applied: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  if (flags.fast_password_hash) {
    std::fprintf(stderr,
                 "convexlite dev: WARNING: --fast-password-hash is on. Passwords are hashed with "
                 "one SHA-256, which is INSECURE; use it for tests only.\n");
  }
  JobExecutor jobs(&runner);
  if (absl::Status s = jobs.Init(); !s.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (absl::Status s = SyncHub::Prepare(**db); !s.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  SyncHub hub(db->get());
  live_hub = &hub;
  boost::asio::thread_pool sync_pool(4);
  auto resolve = [&](const std::string& field) {
    return ResolveProviderField(field, site_url(), [&](const std::string& name) {
      return runner.GetEnv(nullptr, name);
    });
  };
  // JWKS and discovery URLs this server serves (e.g. Better Auth's /api/auth/convex/jwks)
  // are answered in-process; others (an OIDC issuer, a hosted JWKS) over HTTP(S).
  auto fetch = [&](const std::string& url) -> absl::StatusOr<std::string> {
    std::string base = site_url();
    if (!absl::StartsWith(url, base + "/")) return FetchUrl(url);
    HttpRequest request;
    request.method = "GET";
    request.target = url.substr(base.size());
    if (request.target.empty()) request.target = "/";
    HttpResponse response = HandleHttpAction(&runner, request, "");
    if (response.status != 200) return absl::UnavailableError("fetching " + url + " failed");
    return response.body;
  };
  // The providers are the active app's (a push may change auth.config.ts): the verifier is
  // rebuilt when the app changes, and keeps its key cache while it does not.
  std::mutex verifier_mu;
  std::shared_ptr<const App> verifier_app;
  std::shared_ptr<JwtVerifier> verifier;
  auto verify = [&](std::string_view token) -> absl::StatusOr<UserIdentity> {
    std::shared_ptr<JwtVerifier> current;
    {
      std::lock_guard<std::mutex> lock(verifier_mu);
      std::shared_ptr<const App> active = runner.app();
      if (verifier == nullptr || active != verifier_app) {
        verifier = std::make_shared<JwtVerifier>(active->auth_providers(), SystemClock(), fetch, resolve);
        verifier_app = active;
      }
      current = verifier;
    }
    return current->Verify(token);
  };
  ApiOptions api_options;
  api_options.admin_key = flags.admin_key;
  // `npx convex export/import` and `convexlite export/import --url` (http/cli_api.h).
  auto snapshots = MakeSnapshotHooks(**db, app.schema(), flags.data + "/snapshots");
  api_options.snapshots = snapshots;
  auto push_endpoints = std::make_shared<PushEndpoints>();
  push_endpoints->service = push;
  push_endpoints->site_url = site_url;
  push_endpoints->function_log = &function_log;
  push_endpoints->cloud_url = [&api_port] { return "http://127.0.0.1:" + std::to_string(api_port.load()); };
  api_options.push = push_endpoints;
  api_options.verify_token = verify;
  ApiHandler api(&runner, api_options);
  ServerOptions server_options;
  server_options.api_port = flags.port;
  // `npx convex dev` holds one worker in its log long poll.
  server_options.worker_threads = 8;
  server_options.site_port = flags.site_port;
  server_options.api = [&api](const HttpRequest& r) { return api.Handle(r); };
  server_options.site = [&runner, &api_options](const HttpRequest& r) {
    return HandleHttpAction(&runner, r, "", api_options.verify_token);
  };
  // HTTP actions take large and chunked bodies as they come (Convex streams them too).
  server_options.site_streams_body = [](std::string_view) { return true; };
  server_options.api_streams_body = [](std::string_view target) {
    return target == "/http" || target.starts_with("/http/") || target.starts_with("/http?");
  };
  server_options.sync = [&](const HttpRequest& upgrade, std::function<void(std::string)> send,
                            std::function<void(int, std::string)> close) {
    auto session = std::make_shared<SyncSession>(&runner, &hub, &sync_pool, api_options.verify_token,
                                                 flags.admin_key, std::move(send), std::move(close));
    session->SetRequestOrigin(upgrade);
    hub.Add(session);
    return WebSocketCallbacks{[session](std::string text) { session->OnMessage(std::move(text)); },
                              [session] { session->OnClosed(); }};
  };
  Server server(std::move(server_options));
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  site_port = server.site_port();
  api_port = server.api_port();
  jobs.Start();
  std::printf("convexlite dev: serving %s%s\n", flags.data.c_str(),
              flags.durability == Durability::kMemory ? " (in memory)" : "");
  std::printf("  Convex URL:  http://127.0.0.1:%u\n", server.api_port());
  std::printf("  site URL:    http://127.0.0.1:%u\n", server.site_port());
  std::printf("  admin key:   %s\n", flags.admin_key.c_str());
  std::printf("  For `npx convex dev` / `npx convex deploy` in a TypeScript app:\n");
  std::printf("    export CONVEX_SELF_HOSTED_URL=http://127.0.0.1:%u CONVEX_SELF_HOSTED_ADMIN_KEY='%s'\n",
              server.api_port(), flags.admin_key.c_str());
  if (std::shared_ptr<const js::CodeVersion> v = push->active()) {
    std::printf("  pushed code: version %s, %zu functions\n", v->id.c_str(), v->functions.size());
  }
  std::fflush(stdout);

  // Exactly-once records expire after two weeks, as in Convex: at start, then hourly.
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock<std::mutex> lock(maintenance_mu);
    do {
      lock.unlock();
      for (;;) {
        absl::StatusOr<size_t> n = SyncHub::ExpireSessionRequests(**db, kSessionRequestRetention);
        if (!n.ok() || *n < 1000) break;
      }
      lock.lock();
    } while (!maintenance_cv.wait_for(lock, std::chrono::hours(1), [&] { return stopping; }));
  });

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("convexlite dev: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  function_log.Close();  // ends the CLIs' log long polls, which Stop would wait for
  server.Stop();
  live_hub = nullptr;
  jobs.Stop();
  {
    std::lock_guard<std::mutex> lock(maintenance_mu);
    stopping = true;
  }
  maintenance_cv.notify_all();
  maintenance.join();
  sync_pool.join();
  return 0;
}

}  // namespace

// convexlite test-engine --requests FIFO --replies FIFO: opens the requests FIFO for reading
// and the replies FIFO for writing (the convexlite-test package holds the other ends),
// prints "ready", and serves functions/js/test_engine.h until the requests FIFO closes.
int TestEngine(int argc, char** argv) {
  std::string requests, replies;
  for (int i = 0; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--requests") == 0) requests = argv[i + 1];
    else if (std::strcmp(argv[i], "--replies") == 0) replies = argv[i + 1];
  }
  if (requests.empty() || replies.empty() || argc % 2 != 0) {
    std::fputs("usage: convexlite test-engine --requests FIFO --replies FIFO\n", stderr);
    return 2;
  }
  int in = ::open(requests.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    std::fprintf(stderr, "convexlite test-engine: cannot open %s: %s\n", requests.c_str(), std::strerror(errno));
    return 1;
  }
  int out = ::open(replies.c_str(), O_WRONLY | O_CLOEXEC);
  if (out < 0) {
    std::fprintf(stderr, "convexlite test-engine: cannot open %s: %s\n", replies.c_str(), std::strerror(errno));
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  absl::Status served = js::ServeTestEngine(in, out);
  if (!served.ok()) {
    std::fprintf(stderr, "convexlite test-engine: %s\n", std::string(served.message()).c_str());
    return 1;
  }
  return 0;
}

int Main(const App& app, int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0) {
    std::printf("convexlite %s\n", CVX_VERSION);
    return 0;
  }
  if (std::strcmp(argv[1], "dev") == 0) return Dev(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "env") == 0) return Env(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "run") == 0) return Run(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "data") == 0) return Data(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "auth") == 0) return AuthCommand(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "export") == 0) return Export(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "import") == 0) return Import(app, argc - 2, argv + 2);
  if (std::strcmp(argv[1], "test-engine") == 0) return TestEngine(argc - 2, argv + 2);
  std::fprintf(stderr, "convexlite: unknown command %s (try --help)\n", argv[1]);
  return 2;
}

}  // namespace cvx::tools
