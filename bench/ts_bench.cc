// ts_bench: pushed TypeScript functions against the same functions as C++ handlers, in
// one process and run (issue #12). The reference app's values:echo / values:load /
// values:store (C++) and bench/ts_app's tsbench:echo / load / store (the real convex
// library, bundled by the real CLI, in Node workers) are served by one server:
//   - over HTTP at 1 and 32 connections: req/s and p50/p99, and the TS/C++ ratios;
//   - called on the Runner directly, next to the library called in process on a Map
//     (bench/ts_app/inprocess.mjs): what the worker's IPC and the engine add;
//   - a push of docs/examples/ts-app, start_push to finish_push (analysis included);
//   - `convexlite dev --empty` restarted with a pushed app: start to first TS call served,
//     and idle RSS of the server and its workers.
// Push requests are made by tools/bench/run.sh with `npx convex deploy --write-push-request`.
//
//   ts_bench --bench-push FILE --example-push FILE --binary convexlite [--seconds S]

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/bench_util.h"
#include "bench/http_load.h"
#include "boost/json.hpp"
#include "engine/base/file.h"
#include "engine/value/json.h"
#include "functions/js/js_runtime.h"
#include "functions/js/push.h"
#include "http/api.h"
#include "http/server.h"
#include "tools/reference_app/reference_app.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT
namespace json = boost::json;

std::string g_bench_push, g_example_push, g_binary;
// --direct-only S: only the Runner-direct TS cells, each for S seconds (for profiling the
// worker path with perf; not part of make bench).
double g_direct_only = 0;
// --only NAME [--conns N]: only the HTTP cells of that case (echo, load or store), and of
// that many connections, for profiling.
std::string g_only;
int g_conns = 0;  // --conns N: only that many connections (with --only)

std::string TempDir(const char* name) {
  std::string dir = (std::filesystem::temp_directory_path() / (std::string(name) + "-XXXXXX")).string();
  if (mkdtemp(dir.data()) == nullptr) Die("mkdtemp");
  return dir;
}

std::string ReadOrDie(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) Die("cannot read " + path);
  return *text;
}

// start_push then finish_push, as the CLI does (no schema change to wait for here).
double Push(js::PushService& push, const std::string& request) {
  auto t0 = SteadyClock::now();
  absl::StatusOr<std::string> started = push.StartPush(request);
  if (!started.ok()) Die(std::string("start_push: ") + std::string(started.status().message()));
  absl::StatusOr<std::string> finished =
      push.FinishPush(json::serialize(json::object{{"startPush", json::parse(*started)}}));
  if (!finished.ok()) Die(std::string("finish_push: ") + std::string(finished.status().message()));
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

struct Backend {
  std::unique_ptr<Database> db;
  App app;
  std::unique_ptr<Runner> runner;
  js::TypeScriptSupport ts;
  std::string code_root;
};

void OpenBackend(Backend& b, bool reference) {
  DatabaseOptions options;
  options.durability = Durability::kMemory;
  auto db = Database::Open(options);
  if (!db.ok()) Die("open");
  b.db = std::move(*db);
  if (reference) RegisterReferenceApp(b.app);
  if (!ApplySchema(*b.db, b.app.schema()).ok()) Die("schema");
  b.runner = std::make_unique<Runner>(&b.app, b.db.get());
  absl::StatusOr<js::NodeRuntime> node = js::NodeRuntime::Find();
  if (!node.ok()) Die("Node.js is needed: " + std::string(node.status().message()));
  b.code_root = TempDir("cvx-ts-bench");
  js::TypeScriptOptions options_ts;
  options_ts.code_root = b.code_root;
  options_ts.node = *node;
  absl::StatusOr<js::TypeScriptSupport> ts = js::StartTypeScript(b.runner.get(), &b.app, std::move(options_ts));
  if (!ts.ok()) Die("typescript: " + std::string(ts.status().message()));
  b.ts = *std::move(ts);
}

Result Direct(Runner& runner, const std::string& path, const Value& args) {
  return RunTimed(1, [&](int) {
    absl::StatusOr<FunctionResult> r = runner.Run(path, args);
    if (!r.ok() || !r->ok()) Die(path + " failed");
  });
}

// --- the binary: start to first TS call, idle RSS ---

struct Child {
  pid_t pid = -1;
  std::string url;
  int out = -1;
};

Child StartBinary(const std::string& data) {
  int out[2];
  if (pipe(out) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(g_binary.c_str(), g_binary.c_str(), "dev", "--empty", "--data", data.c_str(), "--port", "0",
          "--site-port", "0", "--admin-key", "bench", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  while (text.find("site URL") == std::string::npos) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) Die("convexlite dev did not start: " + text);
    text.append(buf, static_cast<size_t>(n));
  }
  size_t at = text.find("Convex URL:");
  size_t start = text.find("http://", at);
  Child c{pid, text.substr(start, text.find('\n', start) - start), out[0]};
  return c;
}

void StopBinary(Child& c) {
  kill(c.pid, SIGTERM);
  int status = 0;
  waitpid(c.pid, &status, 0);
  close(c.out);
}

std::string HttpPost(const std::string& url, const std::string& target, const std::string& body) {
  uint16_t port = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::authorization, "Convex bench");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res.body();
  } catch (...) {
    return "";
  }
}

long RssKbOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// The server's RSS plus its children's (the Node workers).
std::pair<long, int> TreeRssKb(pid_t pid) {
  long total = RssKbOf(pid);
  int children = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(name[0])) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    size_t close_paren = text.rfind(')');
    if (close_paren == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(text.c_str() + close_paren + 2, "%c %d", &state, &ppid) == 2 && ppid == pid) {
      total += RssKbOf(std::stoi(name));
      ++children;
    }
  }
  return {total, children};
}

void Startup() {
  std::string data = TempDir("cvx-ts-start");
  Child first = StartBinary(data);
  std::string started = HttpPost(first.url, "/api/deploy2/start_push", ReadOrDie(g_bench_push));
  HttpPost(first.url, "/api/deploy2/finish_push", "{\"startPush\":" + started + "}");
  StopBinary(first);
  const std::string call = "{\"path\":\"tsbench:echo\",\"args\":[{\"value\":1}]}";
  std::vector<double> to_first_call;
  std::pair<long, int> rss{0, 0};
  for (int i = 0; i < 5; ++i) {
    auto t0 = SteadyClock::now();
    Child c = StartBinary(data);
    while (HttpPost(c.url, "/api/query", call).find("\"success\"") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    to_first_call.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rss = TreeRssKb(c.pid);
    StopBinary(c);
  }
  std::sort(to_first_call.begin(), to_first_call.end());
  std::printf("| `convexlite dev --empty` with a pushed app: start to first TS query served (median of 5) | %.0f ms | < 300 ms |\n",
              to_first_call[2]);
  std::printf("| idle RSS after that call: server + %d worker(s) | %.0f MB | < 150 MB |\n", rss.second, rss.first / 1024.0);
  std::error_code ec;
  std::filesystem::remove_all(data, ec);
}

void Run() {
  Backend b;
  OpenBackend(b, /*reference=*/true);
  double bench_push_ms = Push(*b.ts.push, ReadOrDie(g_bench_push));
  (void)bench_push_ms;
  ApiHandler api(b.runner.get(), ApiOptions{});
  ServerOptions options;
  options.api_port = 0;
  options.site_port = 0;
  options.worker_threads = 8;
  options.api = [&api](const HttpRequest& r) { return api.Handle(r); };
  options.site = [](const HttpRequest&) { return HttpResponse{404, {}, "", {}}; };
  Server server(options);
  if (!server.Start().ok()) Die("start");

  absl::StatusOr<FunctionResult> stored = b.runner->Run("values:store", Value::FromObject({{"value", Value::Float64(1)}}));
  if (!stored.ok() || !stored->ok()) Die("values:store");
  std::string id = stored->value->string();
  auto body = [](const std::string& path, const std::string& args) {
    return "{\"path\":\"" + path + "\",\"format\":\"convex_encoded_json\",\"args\":[" + args + "]}";
  };
  struct Case {
    std::string name, cpp, ts, endpoint, args;
  } cases[] = {
      {"echo (query, no reads)", "values:echo", "tsbench:echo", "/api/query", "{\"value\":1}"},
      {"load (query, db.get)", "values:load", "tsbench:load", "/api/query", "{\"id\":\"" + id + "\"}"},
      {"store (mutation, db.insert)", "values:store", "tsbench:store", "/api/mutation", "{\"value\":1}"},
  };
  std::printf("## TypeScript functions (ts_bench, %.1f s per cell, loopback, 2 workers)\n\n", g_seconds);
  std::printf("Baseline: the same function as a C++ handler on the same server, in the same run, measured\n"
              "in alternating slices (8 of each per cell).\n\n");
  std::printf("| case | conns | C++ req/s | C++ p50 / p99 µs | TS req/s | TS p50 / p99 µs | TS/C++ p50 | TS/C++ req/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  if (g_direct_only > 0) {
    server.Stop();
    g_seconds = g_direct_only;
    for (const Case& c : cases) {
      absl::StatusOr<Value> args = ParseConvexJson(c.args);
      Result ts = RunTimed(1, [&](int) {
        absl::StatusOr<FunctionResult> r = b.runner->Run(c.ts, *args);
        if (!r.ok() || !r->ok()) Die(c.ts + " failed");
      });
      std::printf("%s: TS on the Runner p50 %s µs\n", c.name.c_str(), Fmt(ts.p50_us).c_str());
    }
    return;
  }
  for (const Case& c : cases) {
    if (!g_only.empty() && c.name.rfind(g_only, 0) != 0) continue;
    for (int conns : {1, 32}) {
      if (g_conns != 0 && conns != g_conns) continue;
      auto [cpp, ts] = LoadInterleaved(server.api_port(), conns, c.endpoint, body(c.cpp, c.args), body(c.ts, c.args));
      std::printf("| %s | %d | %s | %s / %s | %s | %s / %s | %.2fx | %.0f%% |\n", c.name.c_str(), conns,
                  Fmt(cpp.ops_per_sec).c_str(), Fmt(cpp.p50_us).c_str(), Fmt(cpp.p99_us).c_str(),
                  Fmt(ts.ops_per_sec).c_str(), Fmt(ts.p50_us).c_str(), Fmt(ts.p99_us).c_str(),
                  ts.p50_us / cpp.p50_us, 100.0 * ts.ops_per_sec / cpp.ops_per_sec);
    }
  }
  server.Stop();
  if (!g_only.empty()) return;

  // The Runner called directly, and the library in process (no engine, no IPC).
  std::string version_dir = b.ts.push->active()->dir;
  std::string command = "node " + std::string(CVX_SOURCE_DIR) + "/bench/ts_app/inprocess.mjs " + version_dir + " " +
                        std::to_string(g_seconds);
  FILE* pipe = popen(command.c_str(), "r");
  std::string inprocess;
  char buf[512];
  while (pipe && fgets(buf, sizeof buf, pipe)) inprocess += buf;
  if (pipe) pclose(pipe);
  json::value lib = json::parse(inprocess);
  std::printf("\n| per call, one thread | C++ handler on the Runner | TS on the Runner (worker IPC + engine) | "
              "the convex library in process on a Map | TS minus library |\n|---|---|---|---|---|\n");
  const char* keys[] = {"echo_us", "load_us", "store_us"};
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Value> args = ParseConvexJson(cases[i].args);
    Result cpp = Direct(*b.runner, cases[i].cpp, *args);
    Result ts = Direct(*b.runner, cases[i].ts, *args);
    double library = lib.as_object().at(keys[i]).to_number<double>();
    std::printf("| %s | %s µs | %s µs | %s µs | %s µs |\n", cases[i].name.c_str(), Fmt(cpp.p50_us).c_str(),
                Fmt(ts.p50_us).c_str(), Fmt(library).c_str(), Fmt(ts.p50_us - library).c_str());
  }

  // A push of the example app into a fresh deployment, and start-up with a pushed app.
  Backend fresh;
  OpenBackend(fresh, /*reference=*/false);
  std::vector<double> pushes;
  std::string example = ReadOrDie(g_example_push);
  for (int i = 0; i < 5; ++i) pushes.push_back(Push(*fresh.ts.push, example));
  std::sort(pushes.begin(), pushes.end());
  std::printf("\n| push and start-up | measured | target |\n|---|---|---|\n");
  std::printf("| push of docs/examples/ts-app, start_push to finish_push, analysis in Node included (median of 5) | %.0f ms | < 1000 ms |\n",
              pushes[2]);
  Startup();
  std::error_code ec;
  std::filesystem::remove_all(b.code_root, ec);
  std::filesystem::remove_all(fresh.code_root, ec);
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  cvx::bench::ParseArgs(argc, argv);
  for (int i = 1; i + 1 < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--bench-push") cvx::g_bench_push = argv[++i];
    else if (a == "--example-push") cvx::g_example_push = argv[++i];
    else if (a == "--binary") cvx::g_binary = argv[++i];
    else if (a == "--direct-only") cvx::g_direct_only = std::stod(argv[++i]);
    else if (a == "--only") cvx::g_only = argv[++i];
    else if (a == "--conns") cvx::g_conns = std::stoi(argv[++i]);
  }
  if (cvx::g_bench_push.empty() || cvx::g_example_push.empty() || cvx::g_binary.empty()) {
    std::fprintf(stderr, "usage: ts_bench --bench-push FILE --example-push FILE --binary convexlite\n");
    return 2;
  }
  cvx::Run();
  return 0;
}
