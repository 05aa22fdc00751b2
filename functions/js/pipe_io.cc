#include "functions/js/pipe_io.h"

#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/value/json.h"

namespace cvx::js {

boost::json::object ErrorJson(std::string_view message, const std::optional<Value>& data) {
  boost::json::object err{{"message", std::string(message)}};
  if (data) {
    boost::system::error_code ec;
    err["data"] = boost::json::parse(ToConvexJson(*data), ec);
  }
  return err;
}

std::string EncodeFrame(std::string_view body) {
  std::string frame(4, '\0');
  uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  frame.append(body);
  return frame;
}

uint32_t FrameLength(const char header[4]) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(header[i])) << (8 * i);
  return n;
}

absl::Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool SpinUntilReadable(int fd, absl::Duration spin) {
  absl::Time until = absl::Now() + spin;
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    if (::poll(&p, 1, 0) != 0) return true;
    if (absl::Now() >= until) return false;
    // The writer may be waiting for this very core (woken onto it, as the scheduler
    // likes to place a wakee beside its waker): let it run.
    ::sched_yield();
  }
}

bool ReadAll(int fd, char* out, size_t size) {
  while (size > 0) {
    ssize_t n = ::read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool FrameBuffer::Next(std::string* body) {
  size_t available = bytes_.size() - start_;
  if (available < 4) return false;
  uint32_t size = FrameLength(bytes_.data() + start_);
  if (available - 4 < size) return false;
  body->assign(bytes_, start_ + 4, size);
  start_ += 4 + size;
  if (start_ == bytes_.size()) bytes_.clear(), start_ = 0;
  return true;
}

bool FrameBuffer::Fill(int fd) {
  if (start_ > 0) bytes_.erase(0, start_), start_ = 0;
  ssize_t n;
  do {
    n = ::read(fd, chunk_, sizeof chunk_);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  bytes_.append(chunk_, static_cast<size_t>(n));
  return true;
}

}  // namespace cvx::js
