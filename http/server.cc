// Beast plumbing after boostorg/beast example/advanced/server (boost-1.81.0): a listener
// per port, one session object per connection that keeps itself alive with
// shared_from_this, and a worker pool for request handling.

#include "http/server.h"

#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
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
#include "engine/base/status_macros.h"

namespace cvx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;


// The head of a request (its body is the caller's business).
HttpRequest ToRequest(const http::request_header<>& req, const tcp::socket& socket) {
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

// What every connection on one port shares.
struct PortConfig {
  const HttpHandler* handler;
  asio::thread_pool* pool;
  size_t body_limit;
  size_t streamed_body_limit;
  const std::function<bool(std::string_view)>* streams_body;  // points at a null one: never
  const WebSocketFactory* sync;                                // null: no upgrades
  std::chrono::seconds ping_interval;
  std::chrono::milliseconds idle_timeout;
};

// Bodies up to this size are read whole before the handler runs, even where streaming is
// on: a small upload costs no round trips to the handler's thread.
constexpr uint64_t kWholeBodyMax = 64 << 10;

class Session;

// HttpRequestBodyStream over a session's connection: each read is an async read on the
// session's strand (where the stream's timer lives), answered on that strand. The session
// starts nothing else on its socket while a handler runs except the writes of a streamed
// response (ChunkedWriter), which go through the same strand: at most one read and one
// write at a time, as Asio allows.
class BodyReader : public HttpRequestBodyStream, public std::enable_shared_from_this<BodyReader> {
 public:
  BodyReader(std::shared_ptr<Session> session, http::request_parser<http::empty_body>&& head,
             size_t limit)
      : session_(std::move(session)), parser_(std::move(head)), limit_(limit) {
    parser_.body_limit(limit);
  }
  const http::request<http::buffer_body>& message() const { return parser_.get(); }
  void ReadAsync(Done done) override;
  // After the handler returned, on its thread: ends a read still running (it fails) and
  // waits for it, so the session may use the socket again. True when the body was read to
  // its end (the connection is then at the next request).
  bool Finish();
  // Read to its end so far; on the strand only.
  bool ended_on_strand() const { return done_; }

 private:
  void ReadSome(Done done);  // on the strand
  void Ended(Done done, absl::StatusOr<std::string> result);

  std::shared_ptr<Session> session_;
  http::request_parser<http::buffer_body> parser_;
  const size_t limit_;
  char chunk_[64 << 10];
  // On the strand:
  bool done_ = false;
  bool reading_ = false;
  absl::Status error_;
  std::promise<void>* finished_ = nullptr;  // Finish waits for the read running
};

// One response written as it is produced (HttpResponseStream): each write runs on the
// session's strand and the handler's thread waits for it. HTTP/1.1 chunked encoding; the
// session writes the last chunk (Finish) when the handler returns.
class ChunkedWriter : public HttpResponseStream {
 public:
  // `body` is the request's streamed body, or null.
  ChunkedWriter(Session* session, unsigned version, bool keep_alive, const BodyReader* body)
      : session_(session), version_(version), keep_alive_(keep_alive), body_(body) {}

  bool Begin(int status, const std::map<std::string, std::string>& headers,
             const std::vector<std::string>& set_cookies) override;
  bool Write(std::string_view chunk) override {
    if (!ok_ || chunk.empty()) return ok_;
    return Send(absl::StrCat(absl::Hex(chunk.size()), "\r\n", AV(chunk), "\r\n"));
  }
  bool begun() const override { return begun_; }
  // What the response's head told the client about keep-alive.
  bool keep_alive() const { return keep_alive_; }
  // The last chunk. False when the connection broke along the way.
  bool Finish() { return ok_ && Send("0\r\n\r\n"); }

 private:
  bool Send(std::string bytes);

  Session* session_;
  const unsigned version_;
  bool keep_alive_;
  const BodyReader* body_;
  bool begun_ = false;
  bool ok_ = true;
};

bool IsSyncPath(std::string_view target) {
  static const std::regex kSync("^/api/[^/]+/sync(\\?.*)?$");
  return std::regex_match(target.begin(), target.end(), kSync);
}

std::string_view SV(beast::string_view s) { return {s.data(), s.size()}; }

std::string SizeText(size_t bytes) {
  return bytes % (1 << 20) == 0 ? absl::StrCat(bytes >> 20, " MiB") : absl::StrCat(bytes, " bytes");
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const PortConfig* port) : stream_(std::move(socket)), port_(port) {}

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  friend class BodyReader;
  friend class ChunkedWriter;

  void Read() {
    head_.emplace();
    head_->header_limit(64 * 1024);
    head_->body_limit(boost::none);  // which limit applies is decided below (OnHeader)
    stream_.expires_after(port_->idle_timeout);
    http::async_read_header(stream_, buffer_, *head_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return Close();
    if (StreamsBody()) {
      if (auto length = head_->content_length();
          length && *length > port_->streamed_body_limit) {
        return TooLarge(port_->streamed_body_limit);
      }
      auto reader = std::make_shared<BodyReader>(shared_from_this(), std::move(*head_),
                                                 port_->streamed_body_limit);
      head_.reset();
      return Dispatch(reader->message(), std::string(), reader);
    }
    if (auto length = head_->content_length(); length && *length > port_->body_limit) {
      return TooLarge(port_->body_limit);
    }
    whole_.emplace(std::move(*head_));
    head_.reset();
    whole_->body_limit(port_->body_limit);  // for a chunked body, checked as it comes
    if (whole_->is_done()) return OnWhole({});
    http::async_read(stream_, buffer_, *whole_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnWhole(ec);
                     });
  }

  // A port and target that take a streamed body, and a body worth streaming: chunked, or
  // over kWholeBodyMax.
  bool StreamsBody() const {
    if (head_->is_done() || !*port_->streams_body) return false;
    auto length = head_->content_length();
    if (!head_->chunked() && (!length || *length <= kWholeBodyMax)) return false;
    return (*port_->streams_body)(SV(head_->get().target()));
  }

  void OnWhole(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) return TooLarge(port_->body_limit);
    if (ec) return Close();
    http::request<http::string_body> req = whole_->release();
    whole_.reset();
    if (websocket::is_upgrade(req) && port_->sync != nullptr && *port_->sync &&
        IsSyncPath(SV(req.target()))) {
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), port_->sync, port_->body_limit,
                                  port_->ping_interval)
          ->Run(std::move(req));
      return;
    }
    std::string body = std::move(req.body());
    Dispatch(req, std::move(body), nullptr);
  }

  void TooLarge(size_t limit) {
    HttpResponse r;
    r.status = 413;
    r.headers["content-type"] = "application/json";
    r.body = absl::StrCat("{\"code\":\"RequestTooLarge\",\"message\":\"The request body is over the ",
                          SizeText(limit), " limit\"}");
    Write(std::move(r), 11, false);
  }

  // Runs the handler on the pool. `reader` is the streamed body, or null (then `body` is it).
  template <class Body>
  void Dispatch(const http::request<Body>& head, std::string body,
                std::shared_ptr<BodyReader> reader) {
    const bool keep_alive = head.keep_alive();
    const unsigned version = head.version();
    HttpRequest request = ToRequest(head, stream_.socket());
    request.body = std::move(body);
    request.body_stream = reader.get();
    // HTTP/1.1 responses to anything but HEAD may be streamed by the handler.
    std::shared_ptr<ChunkedWriter> writer;
    if (version >= 11 && head.method() != http::verb::head) {
      writer = std::make_shared<ChunkedWriter>(this, version, keep_alive, reader.get());
      request.stream = writer.get();
    }
    asio::post(*port_->pool, [self = shared_from_this(), request = std::move(request), keep_alive,
                              version, writer, reader]() mutable {
      HttpResponse response = (*self->port_->handler)(request);
      // What is left of a body the handler did not read is not the next request.
      const bool body_done = reader == nullptr || reader->Finish();
      if (writer != nullptr && writer->begun()) {
        bool ok = writer->Finish();
        asio::post(self->stream_.get_executor(), [self, ok, reuse = writer->keep_alive() && body_done] {
          if (!ok || !reuse) return self->Close();
          self->Read();
        });
        return;
      }
      const bool reuse = keep_alive && body_done;
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), reuse, version]() mutable {
                   self->Write(std::move(response), version, reuse);
                 });
    });
  }

  void Write(HttpResponse response, unsigned version, bool keep_alive) {
    // The read's timeout set the write's too: a handler that ran longer (an HTTP action may
    // run for minutes) must not find it expired.
    stream_.expires_after(port_->idle_timeout);
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

  // Ends the connection: nothing more is sent, and what the client still sends (the rest of
  // a body we did not read) is read and dropped for up to a second before the socket closes,
  // so that client gets our last response rather than a reset (a "lingering close").
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(std::chrono::seconds(1));
    Drain();
  }
  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 << 10),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> whole_;
  const PortConfig* port_;
};

void BodyReader::ReadAsync(Done done) {
  asio::post(session_->stream_.get_executor(),
             [self = shared_from_this(), done = std::move(done)]() mutable { self->ReadSome(std::move(done)); });
}

void BodyReader::ReadSome(Done done) {
  if (!error_.ok()) return Ended(std::move(done), error_);
  if (done_) return Ended(std::move(done), std::string());
  reading_ = true;
  parser_.get().body().data = chunk_;
  parser_.get().body().size = sizeof(chunk_);
  session_->stream_.expires_after(session_->port_->idle_timeout);
  http::async_read_some(
      session_->stream_, session_->buffer_, parser_,
      [self = shared_from_this(), done = std::move(done)](beast::error_code ec, size_t) mutable {
        self->reading_ = false;
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::body_limit) {
          self->error_ = MakeError(absl::StatusCode::kResourceExhausted, "RequestTooLarge",
                                   absl::StrCat("The request body is over the ", SizeText(self->limit_),
                                                " limit for HTTP actions"));
        } else if (ec == beast::error::timeout) {
          self->error_ = MakeError(absl::StatusCode::kDeadlineExceeded, "RequestTimeout",
                                   absl::StrCat("The client sent no more of the request body for ",
                                                self->session_->port_->idle_timeout.count(), " ms"));
        } else if (ec == asio::error::operation_aborted && self->finished_ != nullptr) {
          self->error_ = MakeError(absl::StatusCode::kUnavailable, "StreamFailed",
                                   "The HTTP action returned before reading all of its request body");
        } else if (ec) {
          self->error_ = MakeError(absl::StatusCode::kUnavailable, "StreamFailed",
                                   absl::StrCat("The request body could not be read: ", ec.message()));
        }
        if (!self->error_.ok()) return self->Ended(std::move(done), self->error_);
        const size_t got = sizeof(self->chunk_) - self->parser_.get().body().size;
        self->done_ = self->parser_.is_done();
        if (got == 0 && !self->done_ && self->finished_ == nullptr) {
          return self->ReadSome(std::move(done));  // a chunk's header, no data yet
        }
        self->Ended(std::move(done), std::string(self->chunk_, got));
      });
}

void BodyReader::Ended(Done done, absl::StatusOr<std::string> result) {
  done(std::move(result));
  if (finished_ != nullptr && !reading_) {
    finished_->set_value();
    finished_ = nullptr;
  }
}

bool BodyReader::Finish() {
  std::promise<void> finished;
  std::future<void> wait = finished.get_future();
  asio::post(session_->stream_.get_executor(), [this, &finished] {
    if (!reading_) return finished.set_value();
    finished_ = &finished;
    beast::error_code ec;
    session_->stream_.socket().cancel(ec);
  });
  wait.wait();
  // The strand's last word on done_ happened before `finished` was set.
  return done_ && error_.ok();
}

bool ChunkedWriter::Begin(int status, const std::map<std::string, std::string>& headers,
                          const std::vector<std::string>& set_cookies) {
  if (begun_) return ok_;
  begun_ = true;
  http::response<http::empty_body> res(static_cast<http::status>(status), version_);
  res.set(http::field::server, "convexlite");
  for (const auto& [name, value] : headers) {
    if (!absl::EqualsIgnoreCase(name, "content-length")) res.set(name, value);
  }
  for (const std::string& cookie : set_cookies) res.insert(http::field::set_cookie, cookie);
  res.chunked(true);
  std::promise<bool> sent;
  std::future<bool> wait = sent.get_future();
  // The head says whether the connection stays: not if the request body is not over yet.
  asio::post(session_->stream_.get_executor(), [this, &res, &sent] {
    if (body_ != nullptr && !body_->ended_on_strand()) keep_alive_ = false;
    res.keep_alive(keep_alive_);
    std::ostringstream head;
    head << res.base();
    auto bytes = std::make_shared<std::string>(head.str());
    session_->stream_.expires_after(session_->port_->idle_timeout);
    asio::async_write(session_->stream_, asio::buffer(*bytes),
                      [bytes, &sent](beast::error_code ec, size_t) { sent.set_value(!ec); });
  });
  ok_ = wait.get();
  return ok_;
}

bool ChunkedWriter::Send(std::string bytes) {
  std::promise<bool> sent;
  std::future<bool> wait = sent.get_future();
  asio::post(session_->stream_.get_executor(), [this, &bytes, &sent] {
    session_->stream_.expires_after(session_->port_->idle_timeout);
    asio::async_write(session_->stream_, asio::buffer(bytes),
                      [&sent](beast::error_code ec, size_t) { sent.set_value(!ec); });
  });
  ok_ = wait.get();
  return ok_;
}

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, PortConfig port)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)), port_config_(port) {}

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
        std::make_shared<Session>(std::move(socket), &self->port_config_)->Run();
      }
      self->Accept();
    });
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  const PortConfig port_config_;
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
  const ServerOptions& o = s.options;
  s.api = std::make_shared<Listener>(
      s.ioc, PortConfig{&o.api, s.pool.get(), o.body_limit, o.streamed_body_limit, &o.api_streams_body,
                        &o.sync, o.ping_interval, o.idle_timeout});
  s.site = std::make_shared<Listener>(
      s.ioc, PortConfig{&o.site, s.pool.get(), o.body_limit, o.streamed_body_limit,
                        &o.site_streams_body, nullptr, o.ping_interval, o.idle_timeout});
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
