// Streamed request bodies (HttpRequest::body_stream, http/server.cc's BodyReader) on the
// real Beast server over loopback, driven by raw sockets so the client decides when each
// byte goes out: a chunked upload reaches the handler piece by piece while the client
// waits for the answer to the first piece (only streaming allows that), large bodies stream
// and keep the connection, small ones still come whole, the streamed limit (a
// Content-Length over it refused at once; a chunked body over it fails the handler's read),
// a client that stalls mid-body (the read fails after the idle timeout while others are
// served), a body left unread (Connection: close, and the next connection works), and a
// C++ HTTP action behind HandleHttpAction, which gets a streamed body whole.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/app.h"
#include "functions/runner.h"
#include "gtest/gtest.h"
#include "http/server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"

namespace cvx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// Site handler targets:
//   /echo    streams its answer: "got <total>\n" after each piece it reads, "end <total>"
//   /read    reads the whole body: "<size> streamed|whole" or the read's error tag
//   /ignore  never reads the body
//   /fast    answers at once
//   /cxx/... a C++ HTTP action run by the Runner (HandleHttpAction)
class ServerBodyStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDb();
    auto app = std::make_shared<App>();
    app->http().Route("POST", "/cxx/size", [](ActionCtx&, const HttpActionRequest& r) -> absl::StatusOr<HttpActionResponse> {
      HttpActionResponse out;
      out.body = absl::StrCat(r.body.size(), r.body_stream == nullptr ? " whole" : " stream");
      return out;
    });
    runner_ = std::make_unique<Runner>(app, db_.get());

    ServerOptions options;
    options.api_port = 0;
    options.site_port = 0;
    options.idle_timeout = milliseconds(300);
    options.streamed_body_limit = 1 << 20;
    options.site_streams_body = [](std::string_view target) { return target != "/never"; };
    options.api = [](const HttpRequest& r) {
      HttpResponse out;
      out.body = absl::StrCat(r.body.size(), r.body_stream == nullptr ? " whole" : " streamed");
      return out;
    };
    options.site = [this](const HttpRequest& r) { return Site(r); };
    server_ = std::make_unique<Server>(options);
    ASSERT_OK(server_->Start());
  }
  void TearDown() override { server_->Stop(); }

  HttpResponse Site(const HttpRequest& r) {
    calls_.fetch_add(1);
    HttpResponse out;
    if (r.target.starts_with("/cxx/")) return HandleHttpAction(runner_.get(), r, "");
    if (r.target == "/echo" && r.body_stream != nullptr && r.stream != nullptr) {
      size_t total = 0;
      for (;;) {
        absl::StatusOr<std::string> piece = r.body_stream->Next();
        if (!piece.ok() || piece->empty()) break;
        total += piece->size();
        r.stream->Begin(200, {{"content-type", "text/plain"}}, {});
        r.stream->Write(absl::StrCat("got ", total, "\n"));
      }
      r.stream->Write(absl::StrCat("end ", total));
      out.streamed = true;
      return out;
    }
    if (r.target == "/read" || r.target == "/never") {
      if (r.body_stream == nullptr) {
        out.body = absl::StrCat(r.body.size(), " whole");
        return out;
      }
      absl::StatusOr<std::string> body = ReadWholeBody(*r.body_stream);
      out.body = body.ok() ? absl::StrCat(body->size(), " streamed") : ErrorTag(body.status());
      if (!body.ok() && !error_seen_.exchange(true)) read_error_.set_value(ErrorTag(body.status()));
      return out;
    }
    out.body = r.target == "/ignore" ? "ignored" : "fast";
    return out;
  }

  tcp::socket Connect(uint16_t port) {
    tcp::socket socket(ioc_);
    tcp::resolver resolver(ioc_);
    asio::connect(socket, resolver.resolve("127.0.0.1", std::to_string(port)));
    socket.set_option(tcp::no_delay(true));
    return socket;
  }
  void Send(tcp::socket& socket, std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }

  // One whole response on `socket` (Beast's client parser).
  http::response<http::string_body> ReadResponse(tcp::socket& socket, beast::flat_buffer& buffer) {
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }
  http::response<http::string_body> Get(uint16_t port, std::string target) {
    tcp::socket socket = Connect(port);
    Send(socket, absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: x\r\n\r\n"));
    beast::flat_buffer buffer;
    return ReadResponse(socket, buffer);
  }
  static std::string PostHead(std::string_view target, std::string_view framing) {
    return absl::StrCat("POST ", AV(target), " HTTP/1.1\r\nHost: x\r\n", AV(framing), "\r\n\r\n");
  }
  static std::string Chunk(std::string_view data) {
    return absl::StrCat(absl::Hex(data.size()), "\r\n", AV(data), "\r\n");
  }

  asio::io_context ioc_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<Server> server_;
  std::atomic<int> calls_{0};
  std::atomic<bool> error_seen_{false};
  std::promise<std::string> read_error_;  // the first failed read's error tag
};

TEST_F(ServerBodyStreamTest, ChunkedPiecesReachTheHandlerWhileTheClientWaitsForTheAnswer) {
  tcp::socket socket = Connect(server_->site_port());
  Send(socket, PostHead("/echo", "Transfer-Encoding: chunked") + Chunk("hello"));
  // The answer to the first piece arrives before the client sends the second.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  http::read_header(socket, buffer, parser);
  EXPECT_EQ(parser.get().result_int(), 200);
  EXPECT_FALSE(parser.get().keep_alive()) << "the body was not over when the head went out";
  while (parser.get().body().find("got 5\n") == std::string::npos) {
    ASSERT_FALSE(parser.is_done());
    http::read_some(socket, buffer, parser);
  }
  Send(socket, Chunk(" world") + "0\r\n\r\n");
  http::read(socket, buffer, parser);
  EXPECT_EQ(parser.get().body(), "got 5\ngot 11\nend 11");
  // The server closes the connection after that response.
  beast::error_code ec;
  char byte;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(ServerBodyStreamTest, LargeBodiesStreamAndKeepTheConnectionSmallOnesComeWhole) {
  tcp::socket socket = Connect(server_->site_port());
  beast::flat_buffer buffer;
  const std::string large(200 << 10, 'x');
  Send(socket, PostHead("/read", absl::StrCat("Content-Length: ", large.size())) + large);
  http::response<http::string_body> res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.body(), absl::StrCat(large.size(), " streamed"));
  EXPECT_TRUE(res.keep_alive());
  // Same connection: a small body comes whole, then a chunked one streams.
  Send(socket, PostHead("/read", "Content-Length: 3") + "abc");
  EXPECT_EQ(ReadResponse(socket, buffer).body(), "3 whole");
  Send(socket, PostHead("/read", "Transfer-Encoding: chunked") + Chunk("ab") + Chunk("cde") + "0\r\n\r\n");
  EXPECT_EQ(ReadResponse(socket, buffer).body(), "5 streamed");
  // A target the port does not stream, and the API port (no streaming there), read whole.
  Send(socket, PostHead("/never", absl::StrCat("Content-Length: ", large.size())) + large);
  EXPECT_EQ(ReadResponse(socket, buffer).body(), absl::StrCat(large.size(), " whole"));
  tcp::socket api = Connect(server_->api_port());
  Send(api, PostHead("/api/x", absl::StrCat("Content-Length: ", large.size())) + large);
  beast::flat_buffer api_buffer;
  EXPECT_EQ(ReadResponse(api, api_buffer).body(), absl::StrCat(large.size(), " whole"));
}

TEST_F(ServerBodyStreamTest, AContentLengthOverTheLimitIsRefusedBeforeTheHandlerRuns) {
  tcp::socket socket = Connect(server_->site_port());
  Send(socket, PostHead("/read", absl::StrCat("Content-Length: ", (1 << 20) + 1)));
  beast::flat_buffer buffer;
  http::response<http::string_body> res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(res.body(), "{\"code\":\"RequestTooLarge\",\"message\":\"The request body is over the 1 MiB limit\"}");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(Get(server_->site_port(), "/fast").body(), "fast");
}

TEST_F(ServerBodyStreamTest, AChunkedBodyOverTheLimitFailsTheHandlersRead) {
  tcp::socket socket = Connect(server_->site_port());
  // 600 KiB that fit, then a chunk that would take the body past 1 MiB.
  Send(socket, PostHead("/read", "Transfer-Encoding: chunked") + Chunk(std::string(600 << 10, 'y')) +
                   absl::StrCat(absl::Hex(600 << 10), "\r\n"));
  beast::flat_buffer buffer;
  http::response<http::string_body> res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.body(), "RequestTooLarge");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(read_error_.get_future().get(), "RequestTooLarge");
  EXPECT_EQ(Get(server_->site_port(), "/fast").body(), "fast");
}

TEST_F(ServerBodyStreamTest, AStalledUploadFailsAfterTheIdleTimeoutWhileOthersAreServed) {
  tcp::socket socket = Connect(server_->site_port());
  Send(socket, PostHead("/read", "Transfer-Encoding: chunked") + Chunk("part"));  // then nothing
  std::future<std::string> error = read_error_.get_future();
  EXPECT_EQ(error.wait_for(milliseconds(100)), std::future_status::timeout);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(server_->site_port(), "/fast").body(), "fast");  // served meanwhile
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(150));
  EXPECT_EQ(error.get(), "RequestTimeout");
  // The stalled connection is gone.
  beast::error_code ec;
  char byte;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "the stalled connection is still open";
}

TEST_F(ServerBodyStreamTest, ABodyLeftUnreadEndsItsConnection) {
  tcp::socket socket = Connect(server_->site_port());
  const std::string large(300 << 10, 'z');
  Send(socket, PostHead("/ignore", absl::StrCat("Content-Length: ", large.size())) + large);
  beast::flat_buffer buffer;
  http::response<http::string_body> res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.body(), "ignored");
  EXPECT_FALSE(res.keep_alive());  // the rest of that body is not read as a next request
  beast::error_code ec;
  char byte;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(Get(server_->site_port(), "/fast").body(), "fast");
}

TEST_F(ServerBodyStreamTest, ACxxHttpActionGetsAStreamedBodyWhole) {
  tcp::socket socket = Connect(server_->site_port());
  const std::string large(100 << 10, 'c');
  Send(socket, PostHead("/cxx/size", "Transfer-Encoding: chunked") + Chunk(large) + Chunk("!") + "0\r\n\r\n");
  beast::flat_buffer buffer;
  http::response<http::string_body> res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.body(), absl::StrCat(large.size() + 1, " whole"));
  EXPECT_TRUE(res.keep_alive());
  // Over the limit, the Runner answers 413 without running the handler.
  Send(socket, PostHead("/cxx/size", "Transfer-Encoding: chunked") +
                   absl::StrCat(absl::Hex((1 << 20) + 1), "\r\n"));
  res = ReadResponse(socket, buffer);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("\"code\":\"RequestTooLarge\""), std::string::npos) << res.body();
}

}  // namespace
}  // namespace cvx
