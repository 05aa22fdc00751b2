#include "http/push_api.h"

#include <brotli/decode.h>

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"

namespace cvx {
namespace {

HttpResponse JsonBody(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

// A user error as the CLI expects it: 400 {code, message}, whatever the Status code.
HttpResponse PushError(const absl::Status& status) {
  absl::Status as_400 = status;
  if (HttpStatusFor(status) != 400 && HttpStatusFor(status) < 500) {
    as_400 = MakeError(absl::StatusCode::kInvalidArgument, ErrorTag(status),
                       std::string_view(status.message().data(), status.message().size()));
  }
  return SystemErrorResponse(as_400);
}

}  // namespace

absl::StatusOr<std::string> BrotliDecode(std::string_view compressed, size_t limit) {
  BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  if (state == nullptr) return absl::ResourceExhaustedError("cannot create a brotli decoder");
  std::string out;
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(compressed.data());
  size_t available_in = compressed.size();
  BrotliDecoderResult result = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
  while (result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
    uint8_t buf[1 << 16];
    uint8_t* next_out = buf;
    size_t available_out = sizeof buf;
    result = BrotliDecoderDecompressStream(state, &available_in, &next_in, &available_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - available_out);
    if (out.size() > limit) {
      BrotliDecoderDestroyInstance(state);
      return InvalidArgument("InvalidBrotli", absl::StrCat("The decompressed push is larger than ", limit, " bytes"));
    }
  }
  BrotliDecoderDestroyInstance(state);
  if (result != BROTLI_DECODER_RESULT_SUCCESS || available_in != 0) {
    return InvalidArgument("InvalidBrotli", "The request body is not valid brotli data");
  }
  return out;
}

bool PushApi::Handles(std::string_view path) {
  return path == "/api/v1/get_canonical_urls" || path == "/api/stream_function_logs" ||
         path == "/api/get_config_hashes" || absl::StartsWith(AV(path), "/api/deploy2/");
}

HttpResponse PushApi::Handle(const HttpRequest& request, const std::string& path,
                             const std::map<std::string, std::string>& query) {
  if (path == "/api/v1/get_canonical_urls") {
    Object urls{{"convexCloudUrl", Value::String(endpoints_.cloud_url ? endpoints_.cloud_url() : "")},
                {"convexSiteUrl", Value::String(endpoints_.site_url ? endpoints_.site_url() : "")}};
    return JsonBody(ToConvexJson(Value::FromObject(std::move(urls))));
  }
  if (path == "/api/stream_function_logs") {
    double cursor = 0;
    auto it = query.find("cursor");
    if (it != query.end()) (void)absl::SimpleAtod(it->second, &cursor);
    double new_cursor = cursor;
    std::vector<FunctionExecution> entries;
    if (endpoints_.function_log != nullptr) {
      // The CLI's first poll (cursor 0) only learns the head; later ones wait for news.
      entries = endpoints_.function_log->After(cursor, cursor > 0 ? endpoints_.log_poll : absl::ZeroDuration(),
                                               &new_cursor);
    } else if (cursor > 0) {
      std::this_thread::sleep_for(absl::ToChronoNanoseconds(endpoints_.log_poll));
    }
    if (new_cursor == 0) new_cursor = absl::ToUnixMillis(absl::Now());
    Array out;
    for (const FunctionExecution& e : entries) {
      Array lines;
      for (const std::string& line : e.log_lines) {
        std::string level = "LOG", message = line;
        if (line.size() > 2 && line[0] == '[') {
          size_t close = line.find("] ");
          if (close != std::string::npos) {
            level = line.substr(1, close - 1);
            message = line.substr(close + 2);
          }
        }
        lines.push_back(Value::FromObject({{"messages", Value::FromArray({Value::String(message)})},
                                           {"level", Value::String(level)},
                                           {"timestamp", Value::Float64(std::floor(e.timestamp_ms))},
                                           {"isTruncated", Value::Boolean(false)}}));
      }
      Object usage{{"databaseReadBytes", Value::Float64(static_cast<double>(e.usage.read_bytes))},
                   {"databaseWriteBytes", Value::Float64(static_cast<double>(e.usage.write_bytes))},
                   {"databaseReadDocuments", Value::Float64(static_cast<double>(e.usage.read_documents))},
                   {"storageReadBytes", Value::Float64(0)},
                   {"storageWriteBytes", Value::Float64(0)}, {"vectorIndexReadBytes", Value::Float64(0)},
                   {"vectorIndexWriteBytes", Value::Float64(0)}, {"memoryUsedMb", Value::Float64(0)}};
      out.push_back(Value::FromObject({{"kind", Value::String("Completion")},
                                       {"identifier", Value::String(e.identifier)},
                                       {"udfType", Value::String(e.udf_type)},
                                       {"timestamp", Value::Float64(e.timestamp_ms / 1000)},
                                       {"executionTimestamp", Value::Float64((e.timestamp_ms - e.execution_ms) / 1000)},
                                       {"executionTime", Value::Float64(e.execution_ms / 1000)},
                                       {"logLines", Value::FromArray(std::move(lines))},
                                       {"error", e.error ? Value::String(*e.error) : Value::Null()},
                                       {"cachedResult", Value::Boolean(false)},
                                       {"caller", Value::String("")},
                                       {"requestId", Value::String("")},
                                       {"executionId", Value::String("")},
                                       {"usageStats", Value::FromObject(std::move(usage))},
                                       // convexlite's own: syscalls a JavaScript function made.
                                       {"syscalls", Value::Float64(static_cast<double>(e.usage.syscalls))},
                                       {"willRetry", Value::Boolean(false)},
                                       {"identityType", Value::String("unknown")},
                                       {"environment", Value::String("isolate")}}));
    }
    return JsonBody(ToConvexJson(Value::FromObject({{"entries", Value::FromArray(std::move(out))},
                                                    {"newCursor", Value::Float64(new_cursor)}})));
  }
  if (endpoints_.service == nullptr) {
    return PushError(InvalidArgument("NoPushSupport", "This convexlite server does not accept pushes"));
  }
  if (request.method != "POST") {
    return PushError(InvalidArgument("MethodNotAllowed", absl::StrCat(path, " takes POST")));
  }
  std::string decoded;
  std::string_view body = request.body;
  std::string encoding = request.Header("content-encoding");
  if (encoding == "br") {
    absl::StatusOr<std::string> d = BrotliDecode(request.body, endpoints_.max_decompressed_bytes);
    if (!d.ok()) return PushError(d.status());
    decoded = *std::move(d);
    body = decoded;
  } else if (!encoding.empty() && encoding != "identity") {
    return PushError(InvalidArgument("UnsupportedContentEncoding",
                                     absl::StrCat("Content-Encoding ", encoding, " is not supported (use br)")));
  }
  js::PushService& push = *endpoints_.service;
  absl::StatusOr<std::string> result;
  if (path == "/api/get_config_hashes") result = push.ConfigHashes();
  else if (path == "/api/deploy2/start_push") result = push.StartPush(body);
  else if (path == "/api/deploy2/evaluate_push") result = push.EvaluatePush(body);
  else if (path == "/api/deploy2/evaluate_schema") result = push.EvaluateSchema(body);
  else if (path == "/api/deploy2/wait_for_schema") result = push.WaitForSchema(body);
  else if (path == "/api/deploy2/finish_push") result = push.FinishPush(body);
  else if (path == "/api/deploy2/report_push_completed") result = std::string("null");
  else return PushError(MakeError(absl::StatusCode::kNotFound, "NotFound", absl::StrCat("No route for ", path)));
  if (!result.ok()) {
    // Convex prefixes every push-phase error so the CLI's output says where it failed.
    bool push_phase = path != "/api/get_config_hashes" && path != "/api/deploy2/wait_for_schema";
    if (push_phase) {
      return PushError(MakeError(result.status().code(), ErrorTag(result.status()),
                                 absl::StrCat("Hit an error while pushing:\n", result.status().message())));
    }
    return PushError(result.status());
  }
  return JsonBody(*std::move(result));
}

}  // namespace cvx
