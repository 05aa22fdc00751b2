// ws_fanout_bench: WebSocket fan-out (issue #4). N clients (1, 100, 1000) speak the sync
// protocol to an in-process convexlite server; every 100 ms a mutation appends to a list.
//   shared:   every client subscribes to lists:read {key: "shared"}: each mutation must
//             reach all N clients.
//   distinct: client i subscribes to lists:read {key: "k<i>"}; each mutation appends to
//             one random client's key: one client must update, the rest must not re-run.
// Latency is mutation sent -> Transition carrying the new value received, per client.
// RSS per connection counts both ends (clients live in this process too).

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "bench/bench_util.h"
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

class FanClient : public std::enable_shared_from_this<FanClient> {
 public:
  FanClient(asio::io_context& ioc, std::string key, Shared* shared)
      : ws_(asio::make_strand(ioc)), key_(std::move(key)), shared_(shared) {}

  void Start(uint16_t port, std::atomic<int>* ready) {
    ready_ = ready;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    beast::get_lowest_layer(ws_).async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return Die("connect: " + ec.message());
      beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
      beast::get_lowest_layer(self->ws_).expires_never();
      self->ws_.async_handshake("127.0.0.1", "/api/1.48.0/sync", [self](beast::error_code ec) {
        if (ec) return Die("handshake: " + ec.message());
        self->ws_.text(true);
        self->Queue("{\"type\":\"Connect\",\"sessionId\":\"bench-" + self->key_ +
                    "\",\"connectionCount\":0,\"lastCloseReason\":null,\"clientTs\":0}");
        self->Queue("{\"type\":\"ModifyQuerySet\",\"baseVersion\":0,\"newVersion\":1,\"modifications\":"
                    "[{\"type\":\"Add\",\"queryId\":0,\"udfPath\":\"lists:read\",\"args\":[{\"key\":\"" +
                    self->key_ + "\"}]}]}");
        self->Read();
      });
    });
  }

  void Close() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      beast::error_code ec;
      beast::get_lowest_layer(self->ws_).socket().close(ec);
    });
  }

 private:
  void Queue(std::string frame) {
    out_.push_back(std::move(frame));
    if (out_.size() == 1) Write();
  }
  void Write() {
    ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->out_.pop_front();
      if (!self->out_.empty()) self->Write();
    });
  }
  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      auto now = SteadyClock::now();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->OnMessage(text, now);
      self->Read();
    });
  }
  // Cheap on purpose: the clients share the bench's cores with the server, so they only
  // count the list's elements ({"$integer":...} entries) in a QueryUpdated value.
  void OnMessage(const std::string& text, SteadyClock::time_point now) {
    if (text.find("\"Transition\"") == std::string::npos) return;
    size_t value = text.find("\"value\":[");
    if (value == std::string::npos) return;
    if (!subscribed_) {
      subscribed_ = true;
      ready_->fetch_add(1);
    }
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

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  std::string key_;
  Shared* shared_;
  std::atomic<int>* ready_ = nullptr;
  bool subscribed_ = false;
  bool closing_ = false;
  size_t seen_ = 0;
};

void RunCase(Runner& runner, uint16_t port, int clients, bool distinct, int rounds) {
  Shared shared;
  shared.sent.resize(rounds);
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  std::atomic<int> ready{0};
  long rss_before = RssKb();
  std::vector<std::shared_ptr<FanClient>> all;
  const std::string prefix = (distinct ? "d" : "s") + std::to_string(clients) + "-";
  for (int i = 0; i < clients; ++i) {
    all.push_back(std::make_shared<FanClient>(ioc, distinct ? prefix + std::to_string(i) : prefix + "shared",
                                              &shared));
    all.back()->Start(port, &ready);
  }
  auto start = SteadyClock::now();
  while (ready.load() < clients) {
    if (SteadyClock::now() - start > std::chrono::seconds(60)) Die("clients did not subscribe");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long rss_per_conn_kb = (RssKb() - rss_before) / clients;
  std::mt19937 rng(clients);
  for (int r = 0; r < rounds; ++r) {
    std::string key = distinct ? prefix + std::to_string(rng() % clients) : prefix + "shared";
    {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.sent[r] = SteadyClock::now();
    }
    auto result = runner.Run("lists:append", Value::FromObject({{"key", Value::String(key)},
                                                                {"element", Value::Int64(r)}}));
    if (!result.ok() || !result->ok()) Die("append");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& c : all) c->Close();
  guard.reset();
  ioc.stop();
  io.join();
  std::vector<double> lat;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    lat = shared.latencies_us;
  }
  size_t expected = distinct ? static_cast<size_t>(rounds) : static_cast<size_t>(rounds) * clients;
  Result r = Summarize(lat, 1);
  std::printf("| %d clients, %s query | %zu / %zu | %.2f | %.2f | %.1f |\n", clients,
              distinct ? "distinct" : "shared", lat.size(), expected, r.p50_us / 1000,
              r.p99_us / 1000, rss_per_conn_kb / 1.0);
}

void Run(int rounds) {
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
  options.api = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
  options.site = options.api;
  options.sync = [&](std::function<void(std::string)> send, std::function<void(int, std::string)> close) {
    auto session = std::make_shared<SyncSession>(&runner, &hub, &pool, nullptr, "", std::move(send),
                                                 std::move(close));
    hub.Add(session);
    return WebSocketCallbacks{[session](std::string t) { session->OnMessage(std::move(t)); },
                              [session] { session->OnClosed(); }};
  };
  Server server(options);
  if (!server.Start().ok()) Die("start");
  std::printf("## WebSocket fan-out (ws_fanout_bench, %d mutations 100 ms apart per row)\n\n", rounds);
  std::printf("| case | updates received / expected | p50 ms | p99 ms | RSS KB per connection (both ends) |\n");
  std::printf("|---|---|---|---|---|\n");
  for (bool distinct : {false, true}) {
    for (int clients : {1, 100, 1000}) RunCase(runner, server.api_port(), clients, distinct, rounds);
  }
  server.Stop();
  pool.join();
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  int rounds = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) rounds = 5;
  }
  cvx::Run(rounds);
  return 0;
}
