// File: functions/function_path.h
//
// Convex function paths (convex-protocol.md §1): "messages:list", "dir/file:fn", and a
// bare "messages" meaning its default export. Canonical form here is "dir/file:fn"
// (no ".js"); Convex's own display form with ".js" ("dir/file.js:fn") appears in some
// error texts and in _scheduled_functions.name.

#ifndef CVX_FUNCTIONS_FUNCTION_PATH_H_
#define CVX_FUNCTIONS_FUNCTION_PATH_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cvx {

// Canonicalizes a udf path: splits on the last ':', a missing function name becomes
// "default", a trailing ".js" on the module is dropped. Errors: kInvalidArgument
// "BadConvexFunctionIdentifier" for an empty module, a bad module path segment or a
// function name that is not an identifier.
[[nodiscard]] absl::StatusOr<std::string> CanonicalizeFunctionPath(std::string_view path);

// "dir/file:fn" -> "dir/file.js:fn".
std::string FunctionPathWithJs(std::string_view canonical);

// "dir/file:default" -> "dir/file"; others unchanged (the form Convex's errors quote).
std::string FunctionPathForDisplay(std::string_view canonical);

}  // namespace cvx

#endif  // CVX_FUNCTIONS_FUNCTION_PATH_H_
