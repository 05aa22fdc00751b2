// File: http/server.h
//
// The network front of convexlite on Boost.Beast: two listeners on loopback (or a chosen
// host), the Convex API port and the site port (HTTP actions at the root, as the local
// Convex backend serves them on 3211). I/O threads only parse and write; every request
// body is handed to a worker pool, so handlers and RocksDB never run on an I/O thread.
//
// Per connection: HTTP/1.1 keep-alive, TCP_NODELAY, bodies over 16 MiB refused with 413
// {"code":"RequestTooLarge"}, idle connections closed after 120 s. A malformed request
// closes only its own connection.
//
// Request bodies are read whole before the handler runs, except where a port's
// `*_streams_body` says a target takes its body as a stream (HTTP actions): there a chunked
// body, or one over 64 KiB, reaches the handler as HttpRequest::body_stream, read on the
// handler's thread as the client sends it, up to `streamed_body_limit` (a Content-Length
// over it is refused with 413 at once). The idle timeout applies to each wait for more of
// the body. A body the handler leaves unread ends the connection after the response
// (`Connection: close`), so keep-alive never reads a request from the middle of a body.
//
// Thread safety: Start/Stop from one thread; handlers are called concurrently on workers.
// Stop waits for running handlers, which includes one waiting for a slow client's body (at
// most the idle timeout per wait).

#ifndef CVX_HTTP_SERVER_H_
#define CVX_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/api.h"

namespace cvx {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A WebSocket connection as its handler sees it: the server calls on_message for each
// text frame and on_close once; the handler calls `send` and `close` (thread-safe).
struct WebSocketCallbacks {
  std::function<void(std::string)> on_message;
  std::function<void()> on_close;
};
// `upgrade` is the HTTP request that opened the connection (peer address, headers).
using WebSocketFactory = std::function<WebSocketCallbacks(
    const HttpRequest& upgrade, std::function<void(std::string)> send,
    std::function<void(int, std::string)> close)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t api_port = 3210;   // 0: pick a free port
  uint16_t site_port = 3211;  // 0: pick a free port
  int io_threads = 1;
  int worker_threads = 4;
  size_t body_limit = 16 << 20;
  // Convex's HTTP_ACTION_BODY_LIMIT (20 MiB), for bodies that are streamed.
  size_t streamed_body_limit = 20 << 20;
  HttpHandler api;   // requests to the API port
  HttpHandler site;  // requests to the site port
  // Which targets on each port may take their body as a stream (see above). Null: none.
  std::function<bool(std::string_view target)> api_streams_body;
  std::function<bool(std::string_view target)> site_streams_body;
  // Upgrades to /api/<client version>/sync on the API port. Null: refused.
  WebSocketFactory sync;
  std::chrono::seconds ping_interval{15};
  // A connection idle this long (no request arriving, or a response not taken) is closed.
  // How long a handler runs does not count.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both ports and starts serving. kFailedPrecondition "PortInUse" when a port is
  // taken; kUnavailable for other socket errors.
  [[nodiscard]] absl::Status Start();
  // Stops accepting, lets in-flight requests finish, closes connections. Idempotent.
  void Stop();

  uint16_t api_port() const;
  uint16_t site_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cvx

#endif  // CVX_HTTP_SERVER_H_
