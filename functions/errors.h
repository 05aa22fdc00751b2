// File: functions/errors.h
//
// How handlers fail. A handler returns absl::StatusOr<Value>; an error Status becomes a
// function error (Convex's `{"status":"error", "errorMessage": ...}`):
//   - ConvexError(data): like `throw new ConvexError(data)`: the result carries errorData,
//     and the message is "Uncaught ConvexError: <data as string or JSON>".
//   - any other error Status: like `throw new Error(message)`: "Uncaught Error: <message>".
// Both roll back the mutation's writes.

#ifndef CVX_FUNCTIONS_ERRORS_H_
#define CVX_FUNCTIONS_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/value/value.h"

namespace cvx {

// A Status carrying `data` (tag "ConvexError").
[[nodiscard]] absl::Status ConvexError(const Value& data);

// The data of a ConvexError status, or nullopt.
std::optional<Value> ConvexErrorData(const absl::Status& status);

// A JavaScript function's failure with Convex's text as it is ("Uncaught TypeError: x\n
// at ...", "Function execution timed out ..."): the runner shows it verbatim, with the
// ConvexError data when there is some (tag "UncaughtJsError").
[[nodiscard]] absl::Status UncaughtJsError(std::string_view message, std::optional<Value> data);
bool IsUncaughtJsError(const absl::Status& status);

}  // namespace cvx

#endif  // CVX_FUNCTIONS_ERRORS_H_
