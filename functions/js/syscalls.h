// File: functions/js/syscalls.h
//
// The syscalls of a pushed query or mutation (convex-push-protocol.md §4, js-runtime.md),
// served against the C++ context the Runner built for the call, so every read and write
// goes through the same transaction, schema checks, triggers, limits and scheduler as a
// C++ handler's:
//
//   1.0/get {id, isSystem?, table?}            -> doc | null
//   1.0/insert {table, value}                  -> {_id}
//   1.0/shallowMerge {id, value}               -> null   ({"$undefined":null} removes a field)
//   1.0/replace {id, value}, 1.0/remove {id}   -> null
//   1.0/queryStream {query} (sync)             -> {queryId}
//   1.0/queryStreamNext {queryId, batch}       -> {values: [doc...], done}  (batched; see convex_global.mjs)
//   1.0/queryCleanup {queryId} (sync)          -> true
//   1.0/queryPage {query, cursor, endCursor, pageSize, maximumRowsRead?, maximumBytesRead?}
//                                              -> {page, isDone, continueCursor, splitCursor, pageStatus}
//   1.0/count {table}                          -> number
//   1.0/db/normalizeId {table, idString} (sync)-> {id: string | null}
//   1.0/getUserIdentity                        -> identity | null
//   1.0/schedule {name | functionHandle, ts (s), args}, 1.0/cancel_job {id}   (mutations)
//   1.0/runUdf {udfType, name | functionHandle, args}  -> the nested function's value, run in
//                                              this same transaction
//   1.0/createFunctionHandle {name}            -> "function://convexlite#<path>"
//   1.0/getFunctionMetadata, 1.0/getRequestMetadata, 1.0/getTransactionMetrics
//
// Anything else (storage, vector search, ...) fails with "<op> is not supported by
// convexlite yet", never a hang.
//
// Thread safety: one handler per call, used by the thread running that call.

#ifndef CVX_FUNCTIONS_JS_SYSCALLS_H_
#define CVX_FUNCTIONS_JS_SYSCALLS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "functions/context.h"
#include "functions/http_router.h"
#include "functions/js/worker_pool.h"
#include "functions/query.h"

namespace cvx::js {

// "function://convexlite#messages:send" <-> "messages:send".
std::string FunctionHandleFor(std::string_view canonical_path);
std::optional<std::string> PathOfFunctionHandle(std::string_view handle);

class UdfSyscalls : public SyscallHandler {
 public:
  // `function_path` is the running function's canonical path.
  UdfSyscalls(QueryCtx* ctx, std::string function_path);
  UdfSyscalls(MutationCtx* ctx, std::string function_path);
  ~UdfSyscalls() override;

  absl::StatusOr<std::string> Syscall(std::string_view op, std::string_view args_json, bool sync) override;
  // Every op but 1.0/runUdf (which runs a nested function, maybe on the same worker).
  bool MayServeOnAnyThread(std::string_view op) const override { return op != "1.0/runUdf"; }

 private:
  struct Stream;
  DatabaseReader& reader();
  QueryCtx* query_ctx_ = nullptr;
  MutationCtx* mutation_ctx_ = nullptr;
  ExecutionState* state_;
  std::string function_path_;
  std::map<int64_t, std::unique_ptr<Stream>> streams_;
  int64_t next_query_id_ = 1;
};

// The syscalls of a pushed action or HTTP action, against its ActionCtx:
//   1.0/actions/query|mutation|action {name | functionHandle, args}  -> the value (each its own
//                                            transaction, as the same identity)
//   1.0/actions/schedule {name | functionHandle, ts, args} -> job id; 1.0/actions/cancel_job {id}
//   1.0/getUserIdentity, 1.0/createFunctionHandle, 1.0/getFunctionMetadata, 1.0/getRequestMetadata
//   convexlite/requestBody {}               -> {chunk: base64} | {done: true}: the next piece of
//                                              an HTTP action's streamed request body, answered
//                                              when the client has sent it (StartLater)
class ActionSyscalls : public SyscallHandler {
 public:
  // `body` is the streamed request body of an HTTP action, or null.
  ActionSyscalls(ActionCtx* ctx, std::string function_path, HttpRequestBodyStream* body = nullptr)
      : ctx_(ctx), function_path_(std::move(function_path)), body_(body) {}
  absl::StatusOr<std::string> Syscall(std::string_view op, std::string_view args_json, bool sync) override;
  // convexlite/requestBody, when there is a streamed body.
  bool AnswersLater(std::string_view op) const override;
  void StartLater(std::string_view op, std::string_view args_json, Answer answer) override;

 private:
  ActionCtx* ctx_;
  std::string function_path_;
  HttpRequestBodyStream* body_;
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_SYSCALLS_H_
