// File: functions/js/pipe_io.h
//
// The byte format of the pipes between the engine and JavaScript (Node workers,
// runtime/worker.mjs, and the convexlite-test package, functions/js/test_engine.h):
//
//   frame = length:u32 little-endian, body:length bytes of UTF-8 JSON (one object)
//
// Thread safety: the functions are stateless; callers serialize writes to one fd.

#ifndef CVX_FUNCTIONS_JS_PIPE_IO_H_
#define CVX_FUNCTIONS_JS_PIPE_IO_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "boost/json.hpp"
#include "engine/value/value.h"

namespace cvx::js {

// The `err` member of a reply frame on either wire: {message, data?}, where `data` (a
// ConvexError's value) is Convex JSON parsed into the frame, not text.
boost::json::object ErrorJson(std::string_view message, const std::optional<Value>& data);

// `body` with its length prefix.
std::string EncodeFrame(std::string_view body);
// The length in a frame's 4-byte header.
uint32_t FrameLength(const char header[4]);

// Writes all of `bytes` (retrying on EINTR); kUnavailable naming errno when the pipe
// breaks.
[[nodiscard]] absl::Status WriteAll(int fd, std::string_view bytes);
// Polls `fd` without sleeping for up to `spin` until it is readable: when the answer
// usually comes within microseconds, this saves a sleep and a wake-up, a round trip's
// largest cost. True when readable.
bool SpinUntilReadable(int fd, absl::Duration spin);
// Reads exactly `size` bytes (retrying on EINTR); false at EOF or on an error.
bool ReadAll(int fd, char* out, size_t size);

// Frames read from a pipe in as few reads as it takes: one read takes whatever is there
// (several frames when the writer is ahead), and frames are then handed out of the buffer
// without a system call. Not thread-safe: one reader at a time.
class FrameBuffer {
 public:
  // The next whole frame's body, valid until the next call; false when none is buffered.
  bool Next(std::string* body);
  // One read of what `fd` has (blocking if it has nothing); false at EOF or on an error.
  bool Fill(int fd);

 private:
  std::string bytes_;
  size_t start_ = 0;  // bytes_[0, start_) were handed out
  char chunk_[16384];
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_PIPE_IO_H_
