// The deployment-management endpoints (http/cli_api.h) without sockets: the happy path of
// an upload and import, then every forged and malformed input: no admin key, path-like
// tokens, unknown parts, foreign import ids, bad modes and formats, bad env names.

#include "http/cli_api.h"

#include <filesystem>

#include "engine/transaction.h"
#include "engine/value/json.h"
#include "functions/system_udfs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/api.h"
#include "tests/http/api_fixture.h"
#include "schema/schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_db.h"
#include "tools/reference_app/reference_app.h"
#include "tools/snapshot.h"

namespace cvx {
namespace {

CallOptions AdminCall() {
  CallOptions options;
  options.allow_internal = true;
  return options;
}

class CliApiTest : public testing::ReferenceApiTest {
 protected:
  void SetUp() override {
    auto hooks = tools::MakeSnapshotHooks(*db_, app_.schema(), dir_.Sub("snapshots"));
    ApiOptions options;
    options.snapshots = hooks;
    Open(std::move(options));
  }
  HttpResponse Call(const std::string& method, const std::string& target, const std::string& body,
                    bool admin = true) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    if (admin) r.headers["authorization"] = "Convex secret-key";
    return api_->Handle(r);
  }
  std::string Code(const HttpResponse& r) {
    absl::StatusOr<Value> v = ParseConvexJson(r.body);
    const Value* code = v.ok() ? v->Find("code") : nullptr;
    return code && code->is_string() ? code->string() : "";
  }
  std::string StartUpload() {
    HttpResponse r = Call("POST", "/api/import/start_upload", "");
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseConvexJson(r.body)->Find("uploadToken")->string();
  }
  // Finishes an upload of `bytes` as one part; the importId, or "" with *response set.
  std::string Upload(const std::string& bytes, const std::string& import_json, HttpResponse* response) {
    std::string token = StartUpload();
    HttpResponse part = Call("POST", "/api/import/upload_part?uploadToken=" + token + "&partNumber=1", bytes);
    EXPECT_EQ(part.status, 200) << part.body;
    *response = Call("POST", "/api/import/finish_upload",
                     "{\"import\":" + import_json + ",\"uploadToken\":\"" + token + "\",\"partTokens\":[" +
                         part.body + "]}");
    absl::StatusOr<Value> v = ParseConvexJson(response->body);
    const Value* id = v.ok() ? v->Find("importId") : nullptr;
    return id ? id->string() : "";
  }
  Value ImportRow(const std::string& id) {
    absl::StatusOr<FunctionResult> r = runner_->Run("_system/cli/queryImport",
                                                    Value::FromObject({{"importId", Value::String(id)}}),
                                                    AdminCall());
    EXPECT_TRUE(r.ok() && r->ok());
    return *r->value;
  }

  testing::TempDir dir_;
};

TEST_F(CliApiTest, UploadFinishPerformImportsAndRecordsCompletion) {
  HttpResponse finish;
  std::string id = Upload("{\"value\":1}\n{\"value\":\"two\"}\n",
                          R"({"format":"jsonLines","mode":"append","tableName":"blobs"})", &finish);
  ASSERT_FALSE(id.empty()) << finish.body;
  Value waiting = *ImportRow(id).Find("state");
  EXPECT_EQ(waiting.Find("state")->string(), "waiting_for_confirmation");
  // Convex's summary; nothing is deleted, so no prompt. Nothing is written before perform.
  EXPECT_EQ(waiting.Find("message_to_confirm")->string(),
            "Import change summary:\n"
            "table | create | delete |\n"
            "-------------------------\n"
            "blobs | 2      | 0 of 0 |\n"
            "Once the import has started, it will run in the background.\n"
            "Interrupting `npx convex import` will not cancel it.");
  EXPECT_EQ(*waiting.Find("require_manual_confirmation"), Value::Boolean(false));
  ScanRequest blobs;
  blobs.table = "blobs";
  blobs.index = "by_id";
  ASSERT_OK_AND_ASSIGN(ScanResult before, db_->Begin()->Scan(blobs));
  EXPECT_TRUE(before.documents.empty());
  HttpResponse performed = Call("POST", "/api/perform_import", "{\"importId\":\"" + id + "\"}");
  ASSERT_EQ(performed.status, 200) << performed.body;
  Value state = *ImportRow(id).Find("state");
  EXPECT_EQ(state.Find("state")->string(), "completed");
  EXPECT_EQ(*state.Find("num_rows_written"), Value::Int64(2));
  // Performing twice is refused; the upload's files are gone.
  EXPECT_EQ(Code(Call("POST", "/api/perform_import", "{\"importId\":\"" + id + "\"}")), "ImportNotWaiting");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("snapshots/uploads")));

  // Replacing deletes: the counts say so (with thousands separators) and the CLI must ask.
  std::string many;
  for (int i = 0; i < 1234; ++i) many += "{\"value\":" + std::to_string(i) + "}\n";
  id = Upload(many, R"({"format":"jsonLines","mode":"append","tableName":"blobs"})", &finish);
  ASSERT_EQ(Call("POST", "/api/perform_import", "{\"importId\":\"" + id + "\"}").status, 200);
  id = Upload("{\"value\":0}\n", R"({"format":"jsonLines","mode":"replace","tableName":"blobs"})", &finish);
  waiting = *ImportRow(id).Find("state");
  EXPECT_EQ(waiting.Find("message_to_confirm")->string(),
            "Import change summary:\n"
            "table | create | delete         |\n"
            "---------------------------------\n"
            "blobs | 1      | 1,236 of 1,236 |\n"
            "Once the import has started, it will run in the background.\n"
            "Interrupting `npx convex import` will not cancel it.");
  EXPECT_EQ(*waiting.Find("require_manual_confirmation"), Value::Boolean(true));
}

TEST_F(CliApiTest, AFailingImportIsRecordedAndWritesNothing) {
  HttpResponse finish;
  std::string id = Upload("{\"nope\":1}\n", R"({"format":"jsonLines","mode":"append","tableName":"blobs"})", &finish);
  ASSERT_FALSE(id.empty()) << finish.body;
  // The confirmation step checks the whole import: it fails there, as Convex's does.
  Value state = *ImportRow(id).Find("state");
  EXPECT_EQ(state.Find("state")->string(), "failed");
  EXPECT_THAT(state.Find("error_message")->string(), ::testing::StartsWith("Hit an error while importing:\n"));
  EXPECT_THAT(state.Find("error_message")->string(), ::testing::HasSubstr("does not match the schema"));
  EXPECT_EQ(Code(Call("POST", "/api/perform_import", "{\"importId\":\"" + id + "\"}")), "ImportNotWaiting");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("snapshots/uploads")));
  ScanRequest blobs;
  blobs.table = "blobs";
  blobs.index = "by_id";
  ASSERT_OK_AND_ASSIGN(ScanResult rows, db_->Begin()->Scan(blobs));
  EXPECT_TRUE(rows.documents.empty());
}

TEST_F(CliApiTest, EveryEndpointNeedsTheAdminKey) {
  for (const char* target : {"/api/update_environment_variables", "/api/export/request/zip",
                             "/api/import/start_upload", "/api/perform_import"}) {
    HttpResponse r = Call("POST", target, "{}", /*admin=*/false);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_EQ(Code(r), "Unauthorized");
  }
  HttpRequest forged;
  forged.method = "GET";
  forged.target = "/api/export/zip/1";
  forged.headers["authorization"] = "Convex not-the-key";
  EXPECT_EQ(api_->Handle(forged).status, 401);
  absl::StatusOr<FunctionResult> system = runner_->Run("_system/cli/queryEnvironmentVariables", Value::FromObject({}));
  EXPECT_EQ(system.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CliApiTest, PathLikeAndUnknownTokensAreRefused) {
  std::string token = StartUpload();
  for (const std::string& bad : {std::string("../../etc"), std::string("ABCDEF0123456789ABCDEF0123456789"),
                                 token + "x", std::string("")}) {
    HttpResponse r = Call("POST", "/api/import/upload_part?uploadToken=" + bad + "&partNumber=1", "x");
    EXPECT_EQ(Code(r), "InvalidUpload") << bad;
  }
  // A well-formed token nobody started.
  EXPECT_EQ(Code(Call("POST", "/api/import/upload_part?uploadToken=0123456789abcdef0123456789abcdef&partNumber=1", "x")),
            "InvalidUpload");
  for (const char* number : {"0", "10001", "-1", "1e2", "x"}) {
    EXPECT_EQ(Code(Call("POST", std::string("/api/import/upload_part?uploadToken=") + token + "&partNumber=" + number, "x")),
              "InvalidUpload")
        << number;
  }
  for (const char* part : {"\"../../secret\"", "\"part1/../x\"", "\"part99\"", "1", "\"partx\""}) {
    HttpResponse r = Call("POST", "/api/import/finish_upload",
                          std::string(R"({"import":{"format":"jsonLines","mode":"append","tableName":"blobs"},"uploadToken":")") +
                              token + "\",\"partTokens\":[" + part + "]}");
    EXPECT_EQ(Code(r), "InvalidUpload") << part;
  }
  EXPECT_EQ(Code(Call("GET", "/api/export/zip/..%2F..%2Fetc", "")), "InvalidExportId");
  EXPECT_EQ(Code(Call("GET", "/api/export/zip/12345", "")), "ExportNotFound");
}

TEST_F(CliApiTest, MalformedImportRequestsAndForeignIdsAreRefused) {
  HttpResponse r;
  EXPECT_TRUE(Upload("x", R"({"format":"parquet","mode":"append","tableName":"blobs"})", &r).empty());
  EXPECT_EQ(Code(r), "UnsupportedImportFormat");
  EXPECT_TRUE(Upload("x", R"({"format":"jsonLines","mode":"ReplaceAll","tableName":"blobs"})", &r).empty());
  EXPECT_EQ(Code(r), "UnsupportedImportMode");
  EXPECT_TRUE(Upload("x", R"({"format":"jsonLines","mode":"append","tableName":"blobs","componentPath":"auth"})", &r)
                  .empty());
  EXPECT_EQ(Code(r), "UnsupportedImport");
  EXPECT_TRUE(Upload("x", R"({"format":"jsonLines","mode":"append"})", &r).empty());
  EXPECT_EQ(Code(r), "InvalidImport");
  EXPECT_TRUE(Upload("x", R"({"format":"zip","mode":"append","tableName":"blobs"})", &r).empty());
  EXPECT_EQ(Code(r), "InvalidImport");
  EXPECT_EQ(Code(Call("POST", "/api/import/finish_upload", "not json")), "BadJsonBody");
  // An id of another table (a user document) is not an import.
  absl::StatusOr<FunctionResult> blob = runner_->Run("values:store", Value::FromObject({{"value", Value::Float64(1)}}));
  ASSERT_TRUE(blob.ok() && blob->ok());
  EXPECT_EQ(Code(Call("POST", "/api/perform_import", "{\"importId\":" + ToConvexJson(*blob->value) + "}")),
            "ImportNotFound");
  EXPECT_EQ(Code(Call("POST", "/api/perform_import", R"({"importId":"garbage"})")), "ImportNotFound");
}

TEST_F(CliApiTest, EnvironmentChangesAreCheckedBeforeAnyIsApplied) {
  HttpResponse r = Call("POST", "/api/update_environment_variables",
                        R"({"changes":[{"name":"GOOD","value":"1"},{"name":"bad-name","value":"2"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "InvalidEnvVarName");
  EXPECT_EQ(runner_->GetEnv(nullptr, "GOOD"), std::nullopt);  // nothing applied
  EXPECT_EQ(Code(Call("POST", "/api/update_environment_variables",
                      "{\"changes\":[{\"name\":\"BIG\",\"value\":\"" + std::string(8193, 'x') + "\"}]}")),
            "EnvVarValueTooLarge");
  EXPECT_EQ(Code(Call("POST", "/api/update_environment_variables", R"({"changes":[{"name":"A","value":3}]})")),
            "BadJsonBody");
  ASSERT_EQ(Call("POST", "/api/update_environment_variables",
                 R"({"changes":[{"name":"GOOD","value":"1"},{"name":"OTHER","value":"2"}]})").status, 200);
  ASSERT_EQ(Call("POST", "/api/update_environment_variables", R"({"changes":[{"name":"OTHER","value":null}]})").status,
            200);
  EXPECT_EQ(runner_->GetEnv(nullptr, "GOOD"), "1");
  EXPECT_EQ(runner_->GetEnv(nullptr, "OTHER"), std::nullopt);
}

TEST_F(CliApiTest, ExportWritesACompletedRowAndServesTheZip) {
  ASSERT_EQ(Call("POST", "/api/export/request/zip?includeStorage=false", "").status, 200);
  absl::StatusOr<FunctionResult> latest = runner_->Run("_system/cli/exports:getLatest", Value::FromObject({}),
                                                       AdminCall());
  ASSERT_TRUE(latest.ok() && latest->ok());
  const Value& row = *latest->value;
  EXPECT_EQ(row.Find("state")->string(), "completed");
  ASSERT_TRUE(row.Find("start_ts")->is_int64());
  HttpResponse zip = Call("GET", "/api/export/zip/" + std::to_string(row.Find("start_ts")->int64()), "");
  EXPECT_EQ(zip.status, 200);
  EXPECT_EQ(zip.headers["content-type"], "application/zip");
  EXPECT_EQ(zip.body.substr(0, 2), "PK");
}

}  // namespace
}  // namespace cvx
