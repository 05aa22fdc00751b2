// File: engine/base/status_macros.h
//
// Early-return helpers for absl::Status / absl::StatusOr, as abseil's internal macros do
// (Debian's abseil 20220623 ships none). Use them at every fallible call in a function that
// itself returns Status or StatusOr.
//
//   CVX_RETURN_IF_ERROR(txn.Delete(id));
//   CVX_ASSIGN_OR_RETURN(Value v, ParseConvexJson(text));

#ifndef CVX_ENGINE_BASE_STATUS_MACROS_H_
#define CVX_ENGINE_BASE_STATUS_MACROS_H_

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cvx {

// Debian's abseil is built with its own string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0).
// AV() converts a std::string_view for the absl APIs that need one.
inline absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view SV(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace cvx

#define CVX_STATUS_CONCAT_INNER_(a, b) a##b
#define CVX_STATUS_CONCAT_(a, b) CVX_STATUS_CONCAT_INNER_(a, b)

#define CVX_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    ::absl::Status cvx_status_ = (expr);               \
    if (!cvx_status_.ok()) return cvx_status_;         \
  } while (0)

#define CVX_ASSIGN_OR_RETURN(lhs, expr) \
  CVX_ASSIGN_OR_RETURN_IMPL_(CVX_STATUS_CONCAT_(cvx_statusor_, __LINE__), lhs, expr)

#define CVX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#endif  // CVX_ENGINE_BASE_STATUS_MACROS_H_
