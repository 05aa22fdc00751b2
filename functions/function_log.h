// File: functions/function_log.h
//
// The log of function executions that `npx convex logs` and the log tail of `npx convex
// dev` read (GET /api/stream_function_logs, http/push_api.h): one entry per run, with its
// console lines and error, kept in a bounded ring. Entries carry strictly increasing
// timestamps, which double as the CLI's cursor.
//
// Thread safety: all methods may be called concurrently.

#ifndef CVX_FUNCTIONS_FUNCTION_LOG_H_
#define CVX_FUNCTIONS_FUNCTION_LOG_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <condition_variable>
#include <mutex>
#include "absl/time/time.h"

namespace cvx {

// What one execution used, as Convex's function logs report it (usageStats).
struct FunctionUsage {
  size_t read_bytes = 0, write_bytes = 0, read_documents = 0;
  size_t syscalls = 0;  // syscalls a JavaScript function made (convexlite's own field)
};

struct FunctionExecution {
  std::string identifier;  // "messages.js:send", or "GET /hello" for HTTP actions
  std::string udf_type;    // "Query" | "Mutation" | "Action" | "HttpAction"
  double timestamp_ms = 0;  // when it finished (unique and increasing; set by Append)
  double execution_ms = 0;
  std::vector<std::string> log_lines;  // "[LOG] 'text'"
  std::optional<std::string> error;
  FunctionUsage usage;
};

class FunctionLog {
 public:
  explicit FunctionLog(size_t capacity = 10000) : capacity_(capacity) {}

  void Append(FunctionExecution execution);
  // The entries newer than `cursor_ms`, waiting up to `wait` for one when there are none;
  // `*new_cursor` is the newest timestamp returned (or the head when none).
  std::vector<FunctionExecution> After(double cursor_ms, absl::Duration wait, double* new_cursor);
  // Ends every wait in After, now and later (a server shutting down must not hold its
  // long polls open).
  void Close();
  // Called after each Append, outside the lock (the dev server prints log lines with it).
  // Set it before the log is used.
  void SetListener(std::function<void(const FunctionExecution&)> listener);

 private:
  const size_t capacity_;
  std::mutex mu_;  // guards entries_ and last_ts_
  std::condition_variable appended_;
  std::deque<FunctionExecution> entries_;
  double last_ts_ = 0;
  bool closed_ = false;
  std::function<void(const FunctionExecution&)> listener_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_FUNCTION_LOG_H_
