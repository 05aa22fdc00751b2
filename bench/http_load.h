// File: bench/http_load.h
//
// Keep-alive HTTP/1.1 clients on loopback (Beast), one per connection and thread, for
// the benchmarks that load a server: Load() runs `connections` of them for g_seconds.

#ifndef CVX_BENCH_HTTP_LOAD_H_
#define CVX_BENCH_HTTP_LOAD_H_

#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace cvx::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
  std::vector<std::string> cookies;  // each Set-Cookie
};

struct Client {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  explicit Client(uint16_t port) {
    tcp::resolver resolver(ioc);
    stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
    stream.socket().set_option(tcp::no_delay(true));
  }
  // One request on the kept-alive connection; anything but a 200 ends the benchmark.
  Reply Send(http::verb verb, const std::string& target, const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    Reply r{static_cast<int>(res.result_int()), res.body(), {}};
    for (const auto& field : res) {
      if (field.name() == http::field::set_cookie) r.cookies.emplace_back(field.value());
    }
    if (r.status != 200) Die("HTTP " + std::to_string(r.status) + " " + target + ": " + r.body);
    return r;
  }
  // A function call (POST /api/query, /api/mutation, ...) that must succeed.
  void Post(const std::string& target, const std::string& body) {
    Reply r = Send(http::verb::post, target, body);
    // A function error is a 200 UdfResponse: it would measure the error path, not the call.
    if (r.body.find("\"status\":\"error\"") != std::string::npos) Die("function error: " + r.body);
  }
};

inline Result Load(uint16_t port, int connections, const std::string& target, const std::string& body) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(std::make_unique<Client>(port));
  return RunTimed(connections, [&](int t) { clients[t]->Post(target, body); });
}

// The same on two targets (say a baseline and the case it is compared with), in
// alternating slices (RunInterleaved), each side on its own kept-alive connections.
inline std::pair<Result, Result> LoadInterleaved(uint16_t port, int connections, const std::string& target,
                                                 const std::string& body_a, const std::string& body_b,
                                                 int rounds = 8) {
  std::vector<std::unique_ptr<Client>> a, b;
  for (int i = 0; i < connections; ++i) {
    a.push_back(std::make_unique<Client>(port));
    b.push_back(std::make_unique<Client>(port));
  }
  return RunInterleaved(connections, rounds, [&](int t) { a[t]->Post(target, body_a); },
                        [&](int t) { b[t]->Post(target, body_b); });
}

}  // namespace cvx::bench

#endif  // CVX_BENCH_HTTP_LOAD_H_
