// File: tests/testing/retry.h
//
// Runs `body` in a fresh transaction and commits, retrying the whole thing while it fails
// with kAborted (an OCC conflict), as the function runner does. Counts retries.

#ifndef CVX_TESTS_TESTING_RETRY_H_
#define CVX_TESTS_TESTING_RETRY_H_

#include <atomic>
#include <functional>

#include "absl/status/status.h"
#include "engine/database.h"

namespace cvx::testing {

inline absl::Status RunWithRetries(Database& db, const std::function<absl::Status(Transaction&)>& body,
                                   std::atomic<int>* retries = nullptr, int max_attempts = 1000) {
  absl::Status status;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto txn = db.Begin();
    status = body(*txn);
    if (status.ok()) status = txn->Commit();
    if (status.code() != absl::StatusCode::kAborted) return status;
    if (retries != nullptr) retries->fetch_add(1);
  }
  return status;
}

}  // namespace cvx::testing

#endif  // CVX_TESTS_TESTING_RETRY_H_
