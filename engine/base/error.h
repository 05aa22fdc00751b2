// File: engine/base/error.h
//
// Errors in convexlite are absl::Status values carrying a stable short tag, like Convex's
// ErrorMetadata `short_msg` (crates/errors/src/lib.rs): a ScreamingCamel word that tests
// and clients match on, while the message is for people. The tag travels as a Status
// payload so codes, messages and tags survive Annotate().
//
// Code choice follows absl/status/status.h:
//   kInvalidArgument     bad input from a caller (malformed JSON, bad ID, bad range).
//   kAborted             retry the whole transaction (OCC conflict, snapshot too old).
//   kUnavailable         retry just this call (I/O trouble, shutting down).
//   kFailedPrecondition  do not retry until state changes.
//   kNotFound / kAlreadyExists / kResourceExhausted / kInternal / kDataLoss as usual.

#ifndef CVX_ENGINE_BASE_ERROR_H_
#define CVX_ENGINE_BASE_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace cvx {

// Builds a Status with `code`, `message` and the short tag `tag`.
[[nodiscard]] absl::Status MakeError(absl::StatusCode code, std::string_view tag,
                                     std::string_view message);

// Shorthands for the common codes.
[[nodiscard]] absl::Status InvalidArgument(std::string_view tag, std::string_view message);
[[nodiscard]] absl::Status Aborted(std::string_view tag, std::string_view message);
[[nodiscard]] absl::Status Internal(std::string_view tag, std::string_view message);

// The short tag of `status`, or "" when it has none.
std::string ErrorTag(const absl::Status& status);

// Prepends `context: ` to the message; keeps the code and the tag.
[[nodiscard]] absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace cvx

#endif  // CVX_ENGINE_BASE_ERROR_H_
