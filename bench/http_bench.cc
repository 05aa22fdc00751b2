// http_bench: convexlite's HTTP API against a bare Beast server in the same process and
// run (issue #4). The bare server answers every POST with a fixed 200 JSON body: the
// ceiling for any server on this Beast/Asio setup. Clients are Beast keep-alive
// connections, one thread each, on loopback.
//   values:echo and bank:balance at 1 and 32 connections: req/s and p50/p99
//   values:echo with an 8 KB value at 1 connection: shows there is no ~44 ms stall
//   (delayed-ACK/Nagle) for large messages, since sockets set TCP_NODELAY.

#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "bench/bench_util.h"
#include "bench/http_load.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "engine/value/json.h"
#include "functions/runner.h"
#include "http/api.h"
#include "http/server.h"
#include "tools/reference_app/reference_app.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void Row(const std::string& name, const Result& ours, const Result& bare) {
  std::printf("| %s | %s | %s / %s | %s | %s / %s | %.0f%% |\n", name.c_str(),
              Fmt(ours.ops_per_sec).c_str(), Fmt(ours.p50_us).c_str(), Fmt(ours.p99_us).c_str(),
              Fmt(bare.ops_per_sec).c_str(), Fmt(bare.p50_us).c_str(), Fmt(bare.p99_us).c_str(),
              100.0 * ours.ops_per_sec / bare.ops_per_sec);
}

void Run() {
  DatabaseOptions db_options;
  db_options.durability = Durability::kMemory;
  auto db = Database::Open(db_options);
  if (!db.ok()) Die("open");
  App app;
  RegisterReferenceApp(app);
  if (!ApplySchema(**db, app.schema()).ok()) Die("schema");
  Runner runner(&app, db->get());
  ApiHandler api(&runner, ApiOptions{});
  ServerOptions options;
  options.api_port = 0;
  options.site_port = 0;
  options.worker_threads = 2;
  options.api = [&api](const HttpRequest& r) { return api.Handle(r); };
  options.site = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
  Server ours(options);
  if (!ours.Start().ok()) Die("start");

  const std::string fixed = "{\"status\":\"success\",\"value\":{\"$integer\":\"AQAAAAAAAAA=\"}}";
  ServerOptions bare_options;
  bare_options.api_port = 0;
  bare_options.site_port = 0;
  bare_options.worker_threads = 2;
  bare_options.api = [&fixed](const HttpRequest&) {
    HttpResponse r;
    r.headers["content-type"] = "application/json";
    r.body = fixed;
    return r;
  };
  bare_options.site = bare_options.api;
  Server bare(bare_options);
  if (!bare.Start().ok()) Die("bare start");

  auto opened = runner.Run("bank:open", Value::FromObject({{"owner", Value::String("bench")},
                                                           {"balance", Value::Int64(100)}}));
  if (!opened.ok() || !opened->ok()) Die("bank:open");
  const std::string account = opened->value->string();
  const std::string echo =
      "{\"path\":\"values:echo\",\"format\":\"convex_encoded_json\",\"args\":[{\"value\":{\"$integer\":\"AQAAAAAAAAA=\"}}]}";
  const std::string balance = "{\"path\":\"bank:balance\",\"format\":\"convex_encoded_json\",\"args\":[{\"id\":\"" +
                              account + "\"}]}";
  std::string big_value(8 * 1024, 'x');
  const std::string echo_8k = "{\"path\":\"values:echo\",\"args\":[{\"value\":\"" + big_value + "\"}]}";

  std::printf("## HTTP API (http_bench, %.1f s per cell, loopback, client threads on the same 2 cores)\n\n",
              g_seconds);
  std::printf("Baseline: a bare Beast server (the same Server class) answering every POST with a fixed body.\n\n");
  std::printf("| case | convexlite req/s | p50 / p99 µs | bare Beast req/s | p50 / p99 µs | ratio |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (int c : {1, 32}) {
    Row("values:echo, " + std::to_string(c) + " conn", Load(ours.api_port(), c, "/api/query", echo),
        Load(bare.api_port(), c, "/api/query", echo));
  }
  for (int c : {1, 32}) {
    Row("bank:balance, " + std::to_string(c) + " conn", Load(ours.api_port(), c, "/api/query", balance),
        Load(bare.api_port(), c, "/api/query", echo));
  }
  Row("values:echo 8 KB, 1 conn", Load(ours.api_port(), 1, "/api/query", echo_8k),
      Load(bare.api_port(), 1, "/api/query", echo_8k));
  ours.Stop();
  bare.Stop();
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  cvx::bench::ParseArgs(argc, argv);
  cvx::Run();
  return 0;
}
