#include "functions/function_log.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace cvx {

void FunctionLog::SetListener(std::function<void(const FunctionExecution&)> listener) {
  listener_ = std::move(listener);
}

void FunctionLog::Append(FunctionExecution execution) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    double now = static_cast<double>(absl::ToUnixMicros(absl::Now())) / 1000.0;
    last_ts_ = std::max(now, last_ts_ + 0.001);
    execution.timestamp_ms = last_ts_;
    entries_.push_back(execution);
    while (entries_.size() > capacity_) entries_.pop_front();
  }
  appended_.notify_all();
  if (listener_) listener_(execution);
}

void FunctionLog::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  appended_.notify_all();
}

std::vector<FunctionExecution> FunctionLog::After(double cursor_ms, absl::Duration wait, double* new_cursor) {
  std::unique_lock<std::mutex> lock(mu_);
  appended_.wait_for(lock, absl::ToChronoNanoseconds(wait),
                     [&] { return closed_ || (!entries_.empty() && entries_.back().timestamp_ms > cursor_ms); });
  std::vector<FunctionExecution> out;
  for (const FunctionExecution& e : entries_) {
    if (e.timestamp_ms > cursor_ms) out.push_back(e);
  }
  *new_cursor = out.empty() ? std::max(cursor_ms, last_ts_) : out.back().timestamp_ms;
  return out;
}

}  // namespace cvx
