// functions/js/pipe_io.h: frames written to a real pipe come back whole, however the
// writes and reads split them.
#include "functions/js/pipe_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cvx::js {
namespace {

TEST(FrameBufferTest, FramesComeBackWholeAcrossSplitWrites) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::vector<std::string> bodies = {"{}", std::string(40000, 'x'), "{\"t\":\"done\"}", std::string(70000, 'y'), ""};
  std::string bytes;
  for (const std::string& b : bodies) bytes += EncodeFrame(b);
  // The writer splits the stream at awkward places (inside headers and bodies).
  std::thread writer([&] {
    size_t offset = 0;
    for (size_t step : {1u, 3u, 5u, 17u, 4096u, 65536u}) {
      size_t n = std::min(step, bytes.size() - offset);
      ASSERT_TRUE(WriteAll(fds[1], std::string_view(bytes).substr(offset, n)).ok());
      offset += n;
    }
    ASSERT_TRUE(WriteAll(fds[1], std::string_view(bytes).substr(offset)).ok());
    ::close(fds[1]);
  });
  FrameBuffer buffer;
  std::vector<std::string> got;
  std::string body;
  while (got.size() < bodies.size()) {
    if (buffer.Next(&body)) {
      got.push_back(body);
      continue;
    }
    ASSERT_TRUE(buffer.Fill(fds[0]));
  }
  writer.join();
  EXPECT_EQ(got, bodies);
  EXPECT_FALSE(buffer.Next(&body));
  EXPECT_FALSE(buffer.Fill(fds[0]));  // EOF
  ::close(fds[0]);
}

TEST(FrameBufferTest, AnIncompleteFrameIsNotHandedOut) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::string frame = EncodeFrame("{\"a\":1}");
  ASSERT_TRUE(WriteAll(fds[1], std::string_view(frame).substr(0, frame.size() - 1)).ok());
  ::close(fds[1]);
  FrameBuffer buffer;
  std::string body;
  ASSERT_TRUE(buffer.Fill(fds[0]));
  EXPECT_FALSE(buffer.Next(&body));
  EXPECT_FALSE(buffer.Fill(fds[0]));  // the writer is gone: the half frame never completes
  EXPECT_FALSE(buffer.Next(&body));
  ::close(fds[0]);
}

}  // namespace
}  // namespace cvx::js
