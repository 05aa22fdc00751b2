// Streamed responses (HttpRequest::stream, http/server.cc's ChunkedWriter) on the real Beast
// server over loopback, read by a Beast client: status, headers and cookies first, then the
// pieces as they are written (chunked), keep-alive afterwards; HTTP/1.0 and HEAD requests
// get no stream, so their handlers answer whole. A handler that runs longer than the idle
// timeout still gets its response out.

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gtest/gtest.h"
#include "http/server.h"
#include "tests/testing/status_matchers.h"

namespace cvx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class ServerStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.api_port = 0;
    options.site_port = 0;
    options.idle_timeout = std::chrono::milliseconds(300);
    options.api = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
    options.site = [](const HttpRequest& r) {
      HttpResponse out;
      if (r.target == "/stream" && r.stream != nullptr) {
        EXPECT_FALSE(r.stream->begun());
        EXPECT_TRUE(r.stream->Begin(201, {{"content-type", "text/plain"}, {"content-length", "999"}},
                                    {"a=1; Path=/", "b=2; Path=/"}));
        EXPECT_TRUE(r.stream->begun());
        EXPECT_TRUE(r.stream->Write("first "));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        EXPECT_TRUE(r.stream->Write(""));  // nothing to send; still fine
        EXPECT_TRUE(r.stream->Write("second"));
        out.streamed = true;
        return out;
      }
      if (r.target == "/slow") {  // slower than the idle timeout, with a body that takes writes
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        out.body = std::string(8 << 20, 'x');
        return out;
      }
      out.body = r.stream == nullptr ? "whole, no stream" : "whole";
      return out;
    };
    server_ = std::make_unique<Server>(options);
    ASSERT_OK(server_->Start());
  }
  void TearDown() override { server_->Stop(); }

  void Connect(beast::tcp_stream& stream) {
    tcp::resolver resolver(ioc_);
    stream.connect(resolver.resolve("127.0.0.1", std::to_string(server_->site_port())));
  }

  asio::io_context ioc_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerStreamTest, PiecesArriveAsWrittenThenTheConnectionIsReused) {
  beast::tcp_stream stream(ioc_);
  Connect(stream);
  http::request<http::empty_body> req{http::verb::get, "/stream", 11};
  req.set(http::field::host, "127.0.0.1");
  auto start = std::chrono::steady_clock::now();
  http::write(stream, req);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  http::read_header(stream, buffer, parser);
  auto header_after = std::chrono::steady_clock::now() - start;
  const auto& head = parser.get();
  EXPECT_EQ(head.result_int(), 201);
  EXPECT_TRUE(head.chunked());
  EXPECT_EQ(head[http::field::content_type], "text/plain");
  EXPECT_EQ(head.count(http::field::content_length), 0u);  // chunked, not the handler's length
  EXPECT_EQ(head.count(http::field::set_cookie), 2u);
  EXPECT_LT(header_after, std::chrono::milliseconds(150)) << "the head waited for the body";
  http::read(stream, buffer, parser);
  EXPECT_EQ(parser.get().body(), "first second");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));

  // Same connection, a plain response.
  http::request<http::empty_body> again{http::verb::get, "/plain", 11};
  again.set(http::field::host, "127.0.0.1");
  http::write(stream, again);
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.body(), "whole");
}

TEST_F(ServerStreamTest, Http10AndHeadGetNoStream) {
  for (auto [verb, version] : {std::pair{http::verb::get, 10}, std::pair{http::verb::head, 11}}) {
    beast::tcp_stream stream(ioc_);
    Connect(stream);
    http::request<http::empty_body> req{verb, "/stream", static_cast<unsigned>(version)};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);
    http::read(stream, buffer, parser);
    EXPECT_EQ(parser.get().result_int(), 200);
    EXPECT_FALSE(parser.get().chunked());
    if (verb == http::verb::get) EXPECT_EQ(parser.get().body(), "whole, no stream");
  }
}

TEST_F(ServerStreamTest, AHandlerSlowerThanTheIdleTimeoutStillAnswers) {
  for (const char* target : {"/slow", "/plain"}) {  // then the connection is still usable
    beast::tcp_stream stream(ioc_);
    Connect(stream);
    for (int i = 0; i < 2; ++i) {
      http::request<http::empty_body> req{http::verb::get, target, 11};
      req.set(http::field::host, "127.0.0.1");
      http::write(stream, req);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(16 << 20);
      http::read(stream, buffer, parser);
      EXPECT_EQ(parser.get().body().size(), std::string(target) == "/slow" ? size_t{8 << 20} : 5u) << target;
    }
  }
}

}  // namespace
}  // namespace cvx
