// File: http/cli_api.h
//
// The deployment-management endpoints that the `npx convex` CLI (and `convexlite` with
// --url) drive, admin key only, with the shapes of get-convex/convex-backend's
// local_backend (docs/design/remote-cli.md):
//
//   POST /api/update_environment_variables   {"changes":[{"name":N,"value":V|null}]} -> 200 {}
//   POST /api/export/request/zip             -> 200 {}; writes an _exports row (completed or failed)
//   GET  /api/export/zip/<start_ts>          -> the ZIP (application/zip, attachment)
//   POST /api/import/start_upload            -> {"uploadToken":T}
//   POST /api/import/upload_part?uploadToken=T&partNumber=N   raw bytes -> "<part token>"
//   POST /api/import/finish_upload           {"import":{"format","mode","tableName"?},
//                                             "uploadToken","partTokens":[...]} -> {"importId":id}
//   POST /api/perform_import                 {"importId":id} -> 200 {}
//
// Progress lives in the system tables the `_system/cli/*` queries read
// (functions/system_udfs.h): `_exports` rows {requestor:"snapshotExport", state, start_ts,
// complete_ts, expiration_ts, zip_object_key, format}, `_snapshot_imports` rows
// {state:{state:"waiting_for_confirmation"|"completed"|"failed", ...}, format, mode}.
// Exports and imports run to completion inside the request (a local database is small
// enough); files live under `snapshot_dir`. Errors are Convex's {code, message}.
//
// Thread safety: Handle may be called concurrently.

#ifndef CVX_HTTP_CLI_API_H_
#define CVX_HTTP_CLI_API_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "functions/runner.h"
#include "http/api.h"

namespace cvx {

struct SnapshotHooks {
  // Writes a snapshot ZIP of the database to `path`; returns its snapshot ts.
  std::function<absl::StatusOr<uint64_t>(const std::string& path)> export_zip;
  // What an import does to one table (a row of Convex's "Import change summary").
  struct TableChange {
    std::string table;
    uint64_t created = 0, deleted = 0, existing = 0;
  };
  // Imports `path` (.zip, .jsonl, .json, .csv) with mode "requireEmpty" | "append" |
  // "replace" | "replaceAll" into `table` (non-ZIP files); with `dry_run` checks and counts
  // everything and writes nothing. Returns the change to each table.
  std::function<absl::StatusOr<std::vector<TableChange>>(const std::string& path, const std::string& mode,
                                                         const std::optional<std::string>& table, bool dry_run)>
      import_file;
  std::string dir;  // exports and uploads; empty: the snapshot endpoints answer 501
};

class CliApi {
 public:
  CliApi(Runner* runner, SnapshotHooks hooks);
  // True when `path` is one of the endpoints above (the caller has checked the admin key).
  static bool Handles(std::string_view path);
  HttpResponse Handle(const HttpRequest& request, const std::string& path,
                      const std::map<std::string, std::string>& query);

 private:
  HttpResponse UpdateEnvironment(const HttpRequest& request);
  HttpResponse RequestExport();
  HttpResponse DownloadExport(const std::string& id);
  HttpResponse StartUpload();
  HttpResponse UploadPart(const HttpRequest& request, const std::map<std::string, std::string>& query);
  HttpResponse FinishUpload(const HttpRequest& request);
  HttpResponse PerformImport(const HttpRequest& request);

  Runner* runner_;
  SnapshotHooks hooks_;
};

}  // namespace cvx

#endif  // CVX_HTTP_CLI_API_H_
