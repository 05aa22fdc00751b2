// File: bench/bench_util.h
//
// Shared pieces of the benchmarks: timed multi-threaded runs with latency percentiles.

#ifndef CVX_BENCH_BENCH_UTIL_H_
#define CVX_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace cvx::bench {

using SteadyClock = std::chrono::steady_clock;

inline double g_seconds = 2.0;

struct Result {
  double ops_per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
};

inline Result Summarize(std::vector<double>& lat_us, double elapsed_s) {
  Result r;
  if (lat_us.empty()) return r;
  std::sort(lat_us.begin(), lat_us.end());
  r.ops_per_sec = lat_us.size() / elapsed_s;
  r.p50_us = lat_us[lat_us.size() / 2];
  r.p99_us = lat_us[std::min(lat_us.size() - 1, lat_us.size() * 99 / 100)];
  return r;
}

// Reads the common flags: --seconds S (per cell), --quick (0.3 s per cell).
inline void ParseArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--seconds" && i + 1 < argc) g_seconds = std::atof(argv[++i]);
    if (std::string_view(argv[i]) == "--quick") g_seconds = 0.3;
  }
}

// Runs op(thread_index) on `threads` threads for `seconds`, appending each op's latency
// (µs) to `lat_us`; returns the elapsed seconds.
inline double RunTimedInto(int threads, double seconds, const std::function<void(int)>& op,
                           std::vector<double>* lat_us) {
  std::vector<std::vector<double>> lats(threads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  auto start = SteadyClock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto a = SteadyClock::now();
        op(t);
        lats[t].push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - a).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  for (auto& l : lats) lat_us->insert(lat_us->end(), l.begin(), l.end());
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A and B measured in alternating slices (`rounds` of each, g_seconds per side in all),
// so that a machine whose speed drifts during the run weighs on both sides alike.
inline std::pair<Result, Result> RunInterleaved(int threads, int rounds, const std::function<void(int)>& a,
                                                const std::function<void(int)>& b) {
  std::vector<double> lat_a, lat_b;
  double elapsed_a = 0, elapsed_b = 0;
  for (int r = 0; r < rounds; ++r) {
    elapsed_a += RunTimedInto(threads, g_seconds / rounds, a, &lat_a);
    elapsed_b += RunTimedInto(threads, g_seconds / rounds, b, &lat_b);
  }
  return {Summarize(lat_a, elapsed_a), Summarize(lat_b, elapsed_b)};
}

// Runs op(thread_index) on `threads` threads for g_seconds; returns throughput/latency.
inline Result RunTimed(int threads, const std::function<void(int)>& op) {
  std::vector<double> lat_us;
  double elapsed = RunTimedInto(threads, g_seconds, op, &lat_us);
  return Summarize(lat_us, elapsed);
}

inline void Die(const std::string& what) {
  std::fprintf(stderr, "engine_bench: %s\n", what.c_str());
  std::exit(1);
}

inline std::string Fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), v >= 100 ? "%.0f" : "%.1f", v);
  return buf;
}

// Resident set size of this process, in KB.
inline long RssKb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// CPU time (user + system) used by this process so far, in seconds.
inline double ProcessCpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace cvx::bench

#endif  // CVX_BENCH_BENCH_UTIL_H_
