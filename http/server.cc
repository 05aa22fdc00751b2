// Beast plumbing after boostorg/beast example/advanced/server (boost-1.81.0): a listener
// per port, one session object per connection that keeps itself alive with
// shared_from_this, and a worker pool for request handling.

#include "http/server.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/websocket.hpp"
#include "boost/asio/steady_timer.hpp"
#include <deque>
#include <regex>
#include "engine/base/error.h"

namespace cvx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;


HttpRequest ToRequest(const http::request<http::string_body>& req, const tcp::socket& socket) {
  HttpRequest out;
  beast::error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (!ec) out.remote_addr = peer.address().to_string();
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    out.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  out.body = req.body();
  return out;
}

namespace websocket = beast::websocket;

// One WebSocket connection: a read loop handing text frames to the handler, and a write
// queue where only the head is in flight (Beast's chat-multi pattern); pings every 15 s.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, const WebSocketFactory* factory, size_t limit,
            std::chrono::seconds ping_interval)
      : ws_(std::move(socket)), factory_(factory), ping_(ws_.get_executor()),
        ping_interval_(ping_interval) {
    ws_.read_message_max(limit);
  }

  void Run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "convexlite");
    }));
    ws_.text(true);
    HttpRequest upgrade = ToRequest(req, beast::get_lowest_layer(ws_).socket());
    upgrade.body.clear();
    ws_.async_accept(req, [self = shared_from_this(), upgrade = std::move(upgrade)](beast::error_code ec) {
      if (ec) return;
      std::weak_ptr<WsSession> weak = self;
      self->callbacks_ = (*self->factory_)(
          upgrade,
          [weak](std::string frame) {
            if (auto s = weak.lock()) {
              asio::post(s->ws_.get_executor(), [s, frame = std::move(frame)]() mutable {
                s->Queue(std::move(frame));
              });
            }
          },
          [weak](int code, std::string reason) {
            if (auto s = weak.lock()) {
              asio::post(s->ws_.get_executor(), [s, code, reason] { s->Close(code, reason); });
            }
          });
      self->Read();
      self->SchedulePing();
    });
  }

 private:
  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Closed();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->callbacks_.on_message) self->callbacks_.on_message(std::move(text));
      self->Read();
    });
  }

  void Queue(std::string frame) {
    if (closing_) return;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) WriteHead();
  }

  void WriteHead() {
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return self->Closed();
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->WriteHead();
                      else if (self->closing_) self->SendClose();
                    });
  }

  void Close(int code, const std::string& reason) {
    if (closing_) return;
    closing_ = true;
    close_code_ = code;
    close_reason_ = reason;
    if (queue_.empty()) SendClose();
  }

  void SendClose() {
    websocket::close_reason reason(static_cast<websocket::close_code>(close_code_));
    reason.reason = close_reason_.substr(0, 120);
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) { self->Closed(); });
  }

  void SchedulePing() {
    ping_.expires_after(ping_interval_);
    ping_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->Queue("{\"type\":\"Ping\"}");
      self->SchedulePing();
    });
  }

  void Closed() {
    if (closed_) return;
    closed_ = true;
    ping_.cancel();
    if (callbacks_.on_close) callbacks_.on_close();
  }

  websocket::stream<beast::tcp_stream> ws_;
  const WebSocketFactory* factory_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  WebSocketCallbacks callbacks_;
  asio::steady_timer ping_;
  std::chrono::seconds ping_interval_;
  bool closing_ = false;
  bool closed_ = false;
  int close_code_ = 1000;
  std::string close_reason_;
};

// One response written as it is produced (HttpResponseStream), on the handler's thread:
// the session starts nothing on its socket while a handler runs, so these synchronous
// writes never overlap its own. HTTP/1.1 chunked encoding; the session writes the last
// chunk (Finish) when the handler returns.
class ChunkedWriter : public HttpResponseStream {
 public:
  ChunkedWriter(tcp::socket& socket, unsigned version, bool keep_alive)
      : socket_(socket), version_(version), keep_alive_(keep_alive) {}

  bool Begin(int status, const std::map<std::string, std::string>& headers,
             const std::vector<std::string>& set_cookies) override {
    if (begun_) return ok_;
    begun_ = true;
    http::response<http::empty_body> res(static_cast<http::status>(status), version_);
    res.set(http::field::server, "convexlite");
    for (const auto& [name, value] : headers) {
      if (!absl::EqualsIgnoreCase(name, "content-length")) res.set(name, value);
    }
    for (const std::string& cookie : set_cookies) res.insert(http::field::set_cookie, cookie);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> serializer(res);
    beast::error_code ec;
    http::write_header(socket_, serializer, ec);
    ok_ = !ec;
    return ok_;
  }

  bool Write(std::string_view chunk) override {
    if (!ok_ || chunk.empty()) return ok_;
    beast::error_code ec;
    asio::write(socket_, http::make_chunk(asio::const_buffer(chunk.data(), chunk.size())), ec);
    ok_ = !ec;
    return ok_;
  }

  bool begun() const override { return begun_; }

  // The last chunk. False when the connection broke along the way.
  bool Finish() {
    if (!ok_) return false;
    beast::error_code ec;
    asio::write(socket_, http::make_chunk_last(), ec);
    ok_ = !ec;
    return ok_;
  }

 private:
  tcp::socket& socket_;
  const unsigned version_;
  const bool keep_alive_;
  bool begun_ = false;
  bool ok_ = true;
};

bool IsSyncPath(std::string_view target) {
  static const std::regex kSync("^/api/[^/]+/sync(\\?.*)?$");
  return std::regex_match(target.begin(), target.end(), kSync);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpHandler* handler, asio::thread_pool* pool,
          size_t body_limit, const WebSocketFactory* sync, std::chrono::seconds ping_interval,
          std::chrono::milliseconds idle_timeout)
      : stream_(std::move(socket)), handler_(handler), pool_(pool), body_limit_(body_limit),
        sync_(sync), ping_interval_(ping_interval), idle_timeout_(idle_timeout) {}

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(body_limit_);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(idle_timeout_);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) {
      HttpResponse r;
      r.status = 413;
      r.headers["content-type"] = "application/json";
      r.body = "{\"code\":\"RequestTooLarge\",\"message\":\"The request body is over the 16 MiB limit\"}";
      return Write(std::move(r), 11, false);
    }
    if (ec) return Close();
    http::request<http::string_body> req = parser_->release();
    if (websocket::is_upgrade(req) && sync_ != nullptr && *sync_ && IsSyncPath(req.target())) {
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), sync_, body_limit_, ping_interval_)
          ->Run(std::move(req));
      return;
    }
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    HttpRequest request = ToRequest(req, stream_.socket());
    // HTTP/1.1 responses to anything but HEAD may be streamed by the handler.
    std::shared_ptr<ChunkedWriter> writer;
    if (version >= 11 && req.method() != http::verb::head) {
      writer = std::make_shared<ChunkedWriter>(stream_.socket(), version, keep_alive);
      request.stream = writer.get();
    }
    asio::post(*pool_, [self = shared_from_this(), request = std::move(request), keep_alive,
                        version, writer]() mutable {
      HttpResponse response = (*self->handler_)(request);
      if (writer != nullptr && writer->begun()) {
        bool ok = writer->Finish();
        asio::post(self->stream_.get_executor(), [self, ok, keep_alive] {
          if (!ok || !keep_alive) return self->Close();
          self->Read();
        });
        return;
      }
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), keep_alive, version]() mutable {
                   self->Write(std::move(response), version, keep_alive);
                 });
    });
  }

  void Write(HttpResponse response, unsigned version, bool keep_alive) {
    // The read's timeout set the write's too: a handler that ran longer (an HTTP action may
    // run for minutes) must not find it expired.
    stream_.expires_after(idle_timeout_);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, "convexlite");
    for (const auto& [name, value] : response.headers) res->set(name, value);
    for (const std::string& cookie : response.set_cookies) res->insert(http::field::set_cookie, cookie);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler* handler_;
  asio::thread_pool* pool_;
  size_t body_limit_;
  const WebSocketFactory* sync_;
  std::chrono::seconds ping_interval_;
  std::chrono::milliseconds idle_timeout_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, const HttpHandler* handler, asio::thread_pool* pool,
           size_t body_limit, const WebSocketFactory* sync, std::chrono::seconds ping_interval,
           std::chrono::milliseconds idle_timeout)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)), handler_(handler), pool_(pool),
        body_limit_(body_limit), sync_(sync), ping_interval_(ping_interval),
        idle_timeout_(idle_timeout) {}

  absl::Status Bind(const std::string& host, uint16_t port) {
    beast::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(host, ec), port);
    if (ec) return InvalidArgument("BadHost", absl::StrCat("invalid host ", host));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec == asio::error::address_in_use) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "PortInUse",
                       absl::StrCat("port ", port, " on ", host, " is already in use"));
    }
    if (ec) {
      return MakeError(absl::StatusCode::kUnavailable, "SocketError",
                       absl::StrCat("cannot listen on ", host, ":", port, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    return absl::OkStatus();
  }

  void Start() { Accept(); }
  void Close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }
  uint16_t port() const { return port_; }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](
                                                        beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), self->handler_, self->pool_,
                                  self->body_limit_, self->sync_, self->ping_interval_,
                                  self->idle_timeout_)
            ->Run();
      }
      self->Accept();
    });
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  const HttpHandler* handler_;
  asio::thread_pool* pool_;
  size_t body_limit_;
  const WebSocketFactory* sync_;
  std::chrono::seconds ping_interval_;
  std::chrono::milliseconds idle_timeout_;
  uint16_t port_ = 0;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  asio::io_context ioc;
  std::unique_ptr<asio::thread_pool> pool;
  std::shared_ptr<Listener> api;
  std::shared_ptr<Listener> site;
  std::vector<std::thread> threads;
  bool running = false;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Server::~Server() { Stop(); }

absl::Status Server::Start() {
  Impl& s = *impl_;
  s.pool = std::make_unique<asio::thread_pool>(std::max(1, s.options.worker_threads));
  s.api = std::make_shared<Listener>(s.ioc, &s.options.api, s.pool.get(), s.options.body_limit,
                                     &s.options.sync, s.options.ping_interval, s.options.idle_timeout);
  s.site = std::make_shared<Listener>(s.ioc, &s.options.site, s.pool.get(), s.options.body_limit,
                                      nullptr, s.options.ping_interval, s.options.idle_timeout);
  if (absl::Status st = s.api->Bind(s.options.host, s.options.api_port); !st.ok()) return st;
  if (absl::Status st = s.site->Bind(s.options.host, s.options.site_port); !st.ok()) return st;
  s.api->Start();
  s.site->Start();
  for (int i = 0; i < std::max(1, s.options.io_threads); ++i) {
    s.threads.emplace_back([&s] { s.ioc.run(); });
  }
  s.running = true;
  return absl::OkStatus();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  s.api->Close();
  s.site->Close();
  s.pool->join();  // in-flight handlers finish and post their responses
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let those writes go out
  s.ioc.stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
}

uint16_t Server::api_port() const { return impl_->api ? impl_->api->port() : 0; }
uint16_t Server::site_port() const { return impl_->site ? impl_->site->port() : 0; }

}  // namespace cvx
