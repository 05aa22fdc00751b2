// ws_fanout_bench: WebSocket fan-out (issue #4). N clients (1, 100, 1000) speak the sync
// protocol to an in-process convexlite server; every 100 ms a mutation appends to a list.
//   shared:   every client subscribes to lists:read {key: "shared"}: each mutation must
//             reach all N clients.
//   distinct: client i subscribes to lists:read {key: "k<i>"}; each mutation appends to
//             one random client's key: one client must update, the rest must not re-run.
// Latency is mutation sent -> Transition carrying the new value received, per client.
// RSS per connection counts both ends (clients live in this process too).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "bench/bench_util.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "engine/value/json.h"
#include "functions/runner.h"
#include "http/api.h"
#include "http/server.h"
#include "http/sync_session.h"
#include "tools/reference_app/reference_app.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Shared {
  std::mutex mu;
  std::vector<SteadyClock::time_point> sent;  // by round
  std::vector<double> latencies_us;
};

// One final text frame (RFC 6455 §5.2) for payloads under 64 KiB; `masked` adds the
// all-zero mask a client must send (the payload then goes out unchanged).
std::string TextFrame(const std::string& text, bool masked) {
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  std::string frame = "\x81";
  if (text.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | static_cast<char>(text.size())));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(text.size() >> 8));
    frame.push_back(static_cast<char>(text.size() & 0xff));
  }
  if (masked) frame.append(4, '\0');
  return frame + text;
}

// One subscriber. The clients are measurement apparatus sharing the bench's two cores with
// the server, so they are kept lean: a blocking handshake at set-up, then raw non-blocking
// reads driven by epoll (two reader threads), with a minimal RFC 6455 frame parser
// (servers send unmasked frames). Beast clients cost about twice the CPU per message and
// were themselves the bottleneck at 1000 clients.
class FanClient {
 public:
  FanClient(std::string key, Shared* shared) : key_(std::move(key)), shared_(shared) {}
  ~FanClient() {
    if (fd_ >= 0) close(fd_);
  }

  // Connects, upgrades and subscribes; blocking.
  void Start(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("connect");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SendAll("GET /api/1.48.0/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n");
    std::string response;
    char c;
    while (response.find("\r\n\r\n") == std::string::npos) {
      if (recv(fd_, &c, 1, 0) != 1) Die("handshake");
      response.push_back(c);
    }
    if (response.compare(0, 12, "HTTP/1.1 101") != 0) Die("handshake: " + response);
    SendText("{\"type\":\"Connect\",\"sessionId\":\"bench-" + key_ +
             "\",\"connectionCount\":0,\"lastCloseReason\":null,\"clientTs\":0}");
    SendText("{\"type\":\"ModifyQuerySet\",\"baseVersion\":0,\"newVersion\":1,\"modifications\":"
             "[{\"type\":\"Add\",\"queryId\":0,\"udfPath\":\"lists:read\",\"args\":[{\"key\":\"" +
             key_ + "\"}]}]}");
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }

  int fd() const { return fd_; }
  bool subscribed() const { return subscribed_.load(); }

  // Reads what is there and handles every complete message. One reader thread per client.
  void OnReadable() {
    char chunk[65536];
    for (;;) {
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      in_.append(chunk, static_cast<size_t>(n));
    }
    auto now = SteadyClock::now();
    size_t pos = 0;
    for (;;) {  // frame: FIN|opcode, len (7, 16 or 64 bits), payload (unmasked)
      if (in_.size() - pos < 2) break;
      auto b0 = static_cast<uint8_t>(in_[pos]), b1 = static_cast<uint8_t>(in_[pos + 1]);
      size_t header = 2;
      uint64_t length = b1 & 0x7f;
      if (length == 126 || length == 127) {
        size_t bytes = length == 126 ? 2 : 8;
        if (in_.size() - pos < 2 + bytes) break;
        length = 0;
        for (size_t i = 0; i < bytes; ++i) length = (length << 8) | static_cast<uint8_t>(in_[pos + 2 + i]);
        header += bytes;
      }
      if (in_.size() - pos < header + length) break;
      int opcode = b0 & 0x0f;
      if (opcode == 0x1 || opcode == 0x0) message_.append(in_, pos + header, length);
      if ((b0 & 0x80) && (opcode == 0x1 || opcode == 0x0)) {
        OnMessage(message_, now);
        message_.clear();
      }
      pos += header + length;
    }
    in_.erase(0, pos);
  }

 private:
  void SendAll(const std::string& bytes) {
    if (send(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) Die("send");
  }
  // A masked client text frame with the all-zero mask (the payload goes out as is).
  void SendText(const std::string& text) { SendAll(TextFrame(text, /*masked=*/true)); }

  // Cheap on purpose: only counts the list's elements ({"$integer":...} entries) in a
  // QueryUpdated value and decodes the newest.
  void OnMessage(const std::string& text, SteadyClock::time_point now) {
    if (text.find("\"Transition\"") == std::string::npos) return;
    size_t value = text.find("\"value\":[");
    if (value == std::string::npos) return;
    subscribed_.store(true);
    size_t length = 0;
    for (size_t pos = text.find("$integer", value); pos != std::string::npos;
         pos = text.find("$integer", pos + 1)) {
      ++length;
    }
    if (length > seen_) {
      seen_ = length;
      // The newest element is the round number: decode the last {"$integer":"<b64>"}.
      size_t last = text.rfind("\"$integer\":\"");
      std::string bytes;
      if (last == std::string::npos || !Base64Decode(text.substr(last + 12, 12), &bytes) ||
          bytes.size() != 8) {
        return;
      }
      int64_t round = 0;
      for (int i = 7; i >= 0; --i) round = (round << 8) | static_cast<uint8_t>(bytes[i]);
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (static_cast<size_t>(round) < shared_->sent.size()) {
        shared_->latencies_us.push_back(
            std::chrono::duration<double, std::micro>(now - shared_->sent[round]).count());
      }
    }
  }

  std::string key_;
  Shared* shared_;
  int fd_ = -1;
  std::string in_, message_;
  std::atomic<bool> subscribed_{false};
  size_t seen_ = 0;
};

// Reader threads for a set of clients: each owns an epoll over its share.
class ClientReaders {
 public:
  ClientReaders(std::vector<std::unique_ptr<FanClient>>& clients, int threads) {
    for (int t = 0; t < threads; ++t) {
      int ep = epoll_create1(0);
      epolls_.push_back(ep);
      for (size_t i = t; i < clients.size(); i += threads) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = clients[i].get();
        epoll_ctl(ep, EPOLL_CTL_ADD, clients[i]->fd(), &ev);
      }
      threads_.emplace_back([this, ep] {
        epoll_event events[64];
        while (!stop_.load()) {
          int n = epoll_wait(ep, events, 64, 20);
          for (int i = 0; i < n; ++i) static_cast<FanClient*>(events[i].data.ptr)->OnReadable();
        }
      });
    }
  }
  ~ClientReaders() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    for (int ep : epolls_) close(ep);
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<int> epolls_;
  std::vector<std::thread> threads_;
};

// Runs one row: `trigger(round, key)` makes the new element reach the subscribers of `key`.
void RunCase(const std::function<void(int, const std::string&)>& trigger, const char* label,
             uint16_t port, int clients, bool distinct, int rounds) {
  Shared shared;
  shared.sent.resize(rounds);
  long rss_before = RssKb();
  std::vector<std::unique_ptr<FanClient>> all;
  const std::string prefix = (distinct ? "d" : "s") + std::to_string(clients) + "-";
  for (int i = 0; i < clients; ++i) {
    all.push_back(std::make_unique<FanClient>(distinct ? prefix + std::to_string(i) : prefix + "shared",
                                              &shared));
    all.back()->Start(port);
  }
  auto readers = std::make_unique<ClientReaders>(all, 2);
  auto start = SteadyClock::now();
  for (const auto& c : all) {
    while (!c->subscribed()) {
      if (SteadyClock::now() - start > std::chrono::seconds(60)) Die("clients did not subscribe");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  long rss_per_conn_kb = (RssKb() - rss_before) / clients;
  std::mt19937 rng(clients);
  double cpu_start = ProcessCpuSeconds();
  for (int r = 0; r < rounds; ++r) {
    std::string key = distinct ? prefix + std::to_string(rng() % clients) : prefix + "shared";
    {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.sent[r] = SteadyClock::now();
    }
    trigger(r, key);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double cpu_us = (ProcessCpuSeconds() - cpu_start) * 1e6;
  readers.reset();
  all.clear();
  std::vector<double> lat;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    lat = shared.latencies_us;
  }
  size_t expected = distinct ? static_cast<size_t>(rounds) : static_cast<size_t>(rounds) * clients;
  Result r = Summarize(lat, 1);
  std::printf("| %s, %d clients, %s query | %zu / %zu | %.2f | %.2f | %.1f | %.1f |\n", label,
              clients, distinct ? "distinct" : "shared", lat.size(), expected, r.p50_us / 1000,
              r.p99_us / 1000, cpu_us / std::max<size_t>(1, lat.size()), rss_per_conn_kb / 1.0);
}

// A Transition like convexlite's for list `elements` (same shape and size).
std::string TransitionText(const Array& elements) {
  return absl::StrCat(
      "{\"type\":\"Transition\",\"startVersion\":{\"querySet\":1,\"identity\":0,\"ts\":\"AAAAAAAAAAA=\"},"
      "\"endVersion\":{\"querySet\":1,\"identity\":0,\"ts\":\"AAAAAAAAAAA=\"},\"modifications\":"
      "[{\"queryId\":0,\"type\":\"QueryUpdated\",\"value\":",
      ToConvexJson(Value::FromArray(elements)), ",\"logLines\":[],\"journal\":null}]}");
}

// The floor for the shared case, measured in the same run: a bare Beast WebSocket server
// that, on each round, writes one prebuilt Transition frame (same shape and size as
// convexlite's) to every connected client. No protocol, no queries, no database: only
// the per-client frame write that any fan-out pays.
class BareBroadcastServer {
 public:
  explicit BareBroadcastServer(int io_threads) : acceptor_(asio::make_strand(ioc_)) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    frame_ = std::make_shared<const std::string>(Frame());
    Accept();
    for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~BareBroadcastServer() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Adds `round` to the list and writes the new Transition to every client.
  void Append(int round) {
    std::vector<std::shared_ptr<Conn>> conns;
    std::shared_ptr<const std::string> frame;
    {
      std::lock_guard<std::mutex> lock(mu_);
      elements_.push_back(Value::Int64(round));
      frame_ = std::make_shared<const std::string>(Frame());
      frame = frame_;
      conns = conns_;
    }
    for (auto& c : conns) {
      asio::post(c->ws.get_executor(), [c, frame] { c->Queue(frame); });
    }
  }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket socket) : ws(std::move(socket)) {}
    void Queue(std::shared_ptr<const std::string> frame) {
      out.push_back(std::move(frame));
      if (out.size() == 1) Write();
    }
    void Write() {
      ws.async_write(asio::buffer(*out.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        self->out.pop_front();
        if (!self->out.empty()) self->Write();
      });
    }
    void Read(BareBroadcastServer* server) {
      ws.async_read(buffer, [self = shared_from_this(), server](beast::error_code ec, size_t) {
        if (ec) return;
        bool subscribe = beast::buffers_to_string(self->buffer.data()).find("ModifyQuerySet") !=
                         std::string::npos;
        self->buffer.consume(self->buffer.size());
        if (subscribe) {
          std::lock_guard<std::mutex> lock(server->mu_);
          server->conns_.push_back(self);
          self->Queue(server->frame_);
        }
        self->Read(server);
      });
    }
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer buffer;
    std::deque<std::shared_ptr<const std::string>> out;
  };

  std::string Frame() const { return TransitionText(elements_); }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      auto conn = std::make_shared<Conn>(std::move(socket));
      conn->ws.text(true);
      conn->ws.async_accept([this, conn](beast::error_code ec) {
        if (!ec) conn->Read(this);
      });
      Accept();
    });
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  Array elements_;                                 // guarded by mu_
  std::shared_ptr<const std::string> frame_;       // guarded by mu_
  std::vector<std::shared_ptr<Conn>> conns_;       // guarded by mu_
};

// The kernel's floor, for scale: one thread send()s the same prebuilt frame to every
// socket in a loop. No event loop, no queues; the handshake is answered without checking
// (the bench's clients do not verify Sec-WebSocket-Accept).
class RawBroadcastServer {
 public:
  RawBroadcastServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(listen_fd_, 4096) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      Die("raw listen");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) break;
          request.append(buf, n);
        }
        std::string reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: x\r\n\r\n";
        std::lock_guard<std::mutex> lock(mu_);
        reply += Frame();
        send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        fds_.push_back(fd);
      }
    });
  }
  ~RawBroadcastServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    for (int fd : fds_) close(fd);
  }
  uint16_t port() const { return port_; }
  void Append(int round) {
    std::lock_guard<std::mutex> lock(mu_);
    elements_.push_back(Value::Int64(round));
    std::string frame = Frame();
    for (int fd : fds_) send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
  }

 private:
  // The Transition text wrapped in an unmasked text frame.
  std::string Frame() const { return TextFrame(TransitionText(elements_), /*masked=*/false); }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  Array elements_;        // guarded by mu_
  std::vector<int> fds_;  // guarded by mu_
};

void Run(int rounds, int only_clients, const std::string& only_server) {
  DatabaseOptions db_options;
  db_options.durability = Durability::kMemory;
  auto db = Database::Open(db_options);
  if (!db.ok()) Die("open");
  App app;
  RegisterReferenceApp(app);
  if (!ApplySchema(**db, app.schema()).ok() || !SyncHub::Prepare(**db).ok()) Die("schema");
  Runner runner(&app, db->get());
  SyncHub hub(db->get());
  asio::thread_pool pool(2);
  ServerOptions options;
  options.api_port = 0;
  options.site_port = 0;
  options.io_threads = 1;
  options.api = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
  options.site = options.api;
  options.sync = [&](const HttpRequest&, std::function<void(std::string)> send,
                     std::function<void(int, std::string)> close) {
    auto session = std::make_shared<SyncSession>(&runner, &hub, &pool, nullptr, "", std::move(send),
                                                 std::move(close));
    hub.Add(session);
    return WebSocketCallbacks{[session](std::string t) { session->OnMessage(std::move(t)); },
                              [session] { session->OnClosed(); }};
  };
  Server server(options);
  if (!server.Start().ok()) Die("start");
  auto append = [&](int round, const std::string& key) {
    auto result = runner.Run("lists:append", Value::FromObject({{"key", Value::String(key)},
                                                                {"element", Value::Int64(round)}}));
    if (!result.ok() || !result->ok()) Die("append");
  };

  std::printf("## WebSocket fan-out (ws_fanout_bench, %d mutations 100 ms apart per row)\n\n", rounds);
  std::printf("| case | updates received / expected | p50 ms | p99 ms | CPU µs per update (both ends) | RSS KB per connection (both ends) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (bool distinct : {false, true}) {
    for (int clients : {1, 100, 1000}) {
      if (only_clients != 0 && clients != only_clients) continue;
      auto wanted = [&](const char* name) { return only_server.empty() || only_server == name; };
      if (wanted("convexlite")) RunCase(append, "convexlite", server.api_port(), clients, distinct, rounds);
      if (distinct) continue;
      // The baselines start afresh per row: an empty list, no connections.
      if (wanted("bare")) {
        BareBroadcastServer bare(options.io_threads);
        RunCase([&](int round, const std::string&) { bare.Append(round); }, "bare Beast", bare.port(),
                clients, distinct, rounds);
      }
      if (wanted("raw")) {
        RawBroadcastServer raw;
        RunCase([&](int round, const std::string&) { raw.Append(round); }, "raw send() loop", raw.port(),
                clients, distinct, rounds);
      }
    }
  }
  server.Stop();
  pool.join();
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  int rounds = 20;
  // For profiling: --clients N keeps the rows with N clients, --server convexlite|bare|raw
  // the rows of one server.
  int only_clients = 0;
  std::string only_server;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) rounds = 5;
    if (std::strcmp(argv[i], "--clients") == 0 && i + 1 < argc) only_clients = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--server") == 0 && i + 1 < argc) only_server = argv[++i];
  }
  cvx::Run(rounds, only_clients, only_server);
  return 0;
}
