// startup_bench: how fast `convexlite dev` is ready and how much memory it holds idle
// (issue #6: ready < 100 ms on an empty data dir and < 1 s with 1M documents; idle RSS
// < 50 MB). Ready = GET /version answers 200. The baseline, measured in the same run, is
// the process start alone (`convexlite --help`: exec, dynamic linking, exit).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "engine/database.h"
#include "schema/schema.h"
#include "tools/reference_app/reference_app.h"

namespace cvx {
namespace {

using namespace ::cvx::bench;  // NOLINT
using SteadyClock = std::chrono::steady_clock;

std::string g_binary;

double Ms(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool VersionOk(const std::string& port) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    boost::asio::ip::tcp::resolver resolver(ioc);
    stream.connect(resolver.resolve("127.0.0.1", port));
    http::request<http::empty_body> req{http::verb::get, "/version", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res.result_int() == 200;
  } catch (...) {
    return false;
  }
}

struct Started {
  pid_t pid = -1;
  double ready_ms = 0;
  int stdout_fd = -1;  // kept open until it exits: it prints on the way out
};

// Spawns `convexlite dev` on `data` and waits until /version answers.
Started StartDev(const std::string& data) {
  int out[2];
  if (pipe(out) != 0) Die("pipe");
  auto t0 = SteadyClock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(g_binary.c_str(), g_binary.c_str(), "dev", "--data", data.c_str(), "--port", "0",
          "--site-port", "0", "--admin-key", "bench", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text, port;
  char buf[512];
  while (port.empty()) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) Die("convexlite dev exited before it was ready:\n" + text);
    text.append(buf, n);
    size_t at = text.find("Convex URL:  http://127.0.0.1:");
    if (at != std::string::npos) {
      size_t start = at + strlen("Convex URL:  http://127.0.0.1:");
      size_t end = text.find('\n', start);
      if (end != std::string::npos) port = text.substr(start, end - start);
    }
  }
  while (!VersionOk(port)) std::this_thread::sleep_for(std::chrono::microseconds(200));
  return Started{pid, Ms(t0, SteadyClock::now()), out[0]};
}

void Stop(const Started& s) {
  kill(s.pid, SIGTERM);
  int status = 0;
  waitpid(s.pid, &status, 0);
  close(s.stdout_fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("convexlite dev did not exit 0 on SIGTERM");
}

double RssMb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ProcessStartMs() {
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) {
    auto t0 = SteadyClock::now();
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      execl(g_binary.c_str(), g_binary.c_str(), "--help", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    runs.push_back(Ms(t0, SteadyClock::now()));
  }
  return Median(runs);
}

void Fill(const std::string& data, size_t docs) {
  DatabaseOptions options;
  options.path = data;
  auto db = Database::Open(options);
  if (!db.ok()) Die("open " + data);
  App app;
  RegisterReferenceApp(app);
  if (!ApplySchema(**db, app.schema()).ok()) Die("schema");
  constexpr size_t kBatch = 5000;
  for (size_t done = 0; done < docs;) {
    auto txn = (*db)->Begin();
    for (size_t i = 0; i < kBatch && done < docs; ++i, ++done) {
      if (!txn->Insert("blobs", {{"value", Value::Float64(static_cast<double>(done))}}).ok()) Die("insert");
    }
    if (!txn->Commit().ok()) Die("commit");
  }
}

void Run(size_t docs) {
  namespace fs = std::filesystem;
  std::string root = fs::temp_directory_path().string() + "/cvx-startup-bench-" + std::to_string(getpid());
  fs::create_directories(root);
  double baseline = ProcessStartMs();

  // Starts `convexlite dev` `runs` times on data_dir(i): ready times, and the idle RSS of
  // the first run (after a second of quiet).
  auto measure = [](int runs, const std::function<std::string(int)>& data_dir, double* rss) {
    std::vector<double> ready;
    for (int i = 0; i < runs; ++i) {
      Started s = StartDev(data_dir(i));
      ready.push_back(s.ready_ms);
      if (i == 0) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        *rss = RssMb(s.pid);
      }
      Stop(s);
    }
    return ready;
  };
  double empty_rss = 0;
  std::vector<double> empty_runs =
      measure(5, [&](int i) { return root + "/empty-" + std::to_string(i); }, &empty_rss);

  std::string full = root + "/full";
  auto f0 = SteadyClock::now();
  Fill(full, docs);
  double fill_s = Ms(f0, SteadyClock::now()) / 1000;
  double full_rss = 0;
  std::vector<double> full_runs = measure(3, [&](int) { return full; }, &full_rss);
  fs::remove_all(root);

  std::printf("## Start-up and idle memory (startup_bench)\n\n");
  std::printf("Baseline: the process start alone (`convexlite --help`), median of 5: %.1f ms.\n\n",
              baseline);
  std::printf("| case | ready p50 (spawn -> /version 200) | minus process start | idle RSS |\n");
  std::printf("|---|---|---|---|\n");
  std::printf("| empty data dir (median of 5) | %.1f ms | %.1f ms | %.1f MB |\n", Median(empty_runs),
              Median(empty_runs) - baseline, empty_rss);
  std::printf("| %zu documents (median of 3; filled in %.1f s) | %.1f ms | %.1f ms | %.1f MB |\n", docs,
              fill_s, Median(full_runs), Median(full_runs) - baseline, full_rss);
}

}  // namespace
}  // namespace cvx

int main(int argc, char** argv) {
  cvx::bench::ParseArgs(argc, argv);
  size_t docs = cvx::bench::g_seconds < 1 ? 100000 : 1000000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--binary") == 0 && i + 1 < argc) cvx::g_binary = argv[++i];
    if (std::strcmp(argv[i], "--docs") == 0 && i + 1 < argc) docs = std::strtoull(argv[++i], nullptr, 10);
  }
  if (cvx::g_binary.empty()) cvx::bench::Die("usage: startup_bench --binary PATH [--docs N] [--quick]");
  cvx::Run(docs);
  return 0;
}
