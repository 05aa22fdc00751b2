// FetchUrl (http/fetch.h) against the real Beast server on loopback: bodies, redirects,
// statuses, bad schemes, refused connections, a TLS handshake with a plain-HTTP peer, and
// a peer that never answers (timeout).

#include "http/fetch.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "http/server.h"
#include "tests/testing/status_matchers.h"

namespace cvx {
namespace {

using ::cvx::testing::StatusHasCode;

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.api_port = 0;
    options.site_port = 0;
    options.api = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
    options.site = [](const HttpRequest& r) {
      HttpResponse out;
      if (r.target == "/jwks") {
        out.body = R"({"keys":[]})";
      } else if (r.target == "/redirect") {
        out.status = 302;
        out.headers["location"] = "/jwks";
      } else if (r.target == "/loop") {
        out.status = 302;
        out.headers["location"] = "/loop";
      } else {
        out.status = 404;
      }
      return out;
    };
    server_ = std::make_unique<Server>(options);
    ASSERT_OK(server_->Start());
    base_ = "http://127.0.0.1:" + std::to_string(server_->site_port());
  }
  void TearDown() override { server_->Stop(); }
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(FetchTest, BodiesRedirectsAndStatuses) {
  ASSERT_OK_AND_ASSIGN(std::string body, FetchUrl(base_ + "/jwks"));
  EXPECT_EQ(body, R"({"keys":[]})");
  ASSERT_OK_AND_ASSIGN(body, FetchUrl(base_ + "/redirect"));
  EXPECT_EQ(body, R"({"keys":[]})");
  EXPECT_THAT(FetchUrl(base_ + "/missing"), StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(FetchUrl(base_ + "/loop"), StatusHasCode(absl::StatusCode::kUnavailable));
}

TEST_F(FetchTest, BadUrlsAndUnreachablePeers) {
  EXPECT_THAT(FetchUrl("ftp://example.com/x"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FetchUrl("not a url"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FetchUrl("http://127.0.0.1:1/"), StatusHasCode(absl::StatusCode::kUnavailable));
  // TLS against a plain-HTTP server: the handshake fails cleanly.
  std::string https = "https://127.0.0.1:" + std::to_string(server_->site_port()) + "/jwks";
  EXPECT_THAT(FetchUrl(https, std::chrono::milliseconds(2000)),
              StatusHasCode(absl::StatusCode::kUnavailable));
}

TEST_F(FetchTest, APeerThatNeverAnswersTimesOut) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  EXPECT_THAT(FetchUrl(url, std::chrono::milliseconds(300)),
              StatusHasCode(absl::StatusCode::kUnavailable));
  close(fd);
}

}  // namespace
}  // namespace cvx
