// convexlite: the command-line entry point (reference-app.md, "Command line contract").
//
// Today only `dev` exists, and it only opens the data directory: the HTTP API and the
// WebSocket sync protocol arrive with issue #4, the other commands with issue #6.

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/database.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: convexlite dev [--data DIR] [--durability process|sync|memory]\n"
               "\n"
               "  dev   open the data directory (default ./.convexlite) and hold it until\n"
               "        SIGINT/SIGTERM. The Convex HTTP API and sync protocol are not served\n"
               "        yet (issue #4).\n");
}

int Dev(int argc, char** argv) {
  cvx::DatabaseOptions options;
  options.path = "./.convexlite";
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--data") {
      const char* v = value();
      if (!v) { std::fprintf(stderr, "convexlite dev: --data needs a directory\n"); return 2; }
      options.path = v;
    } else if (arg == "--durability") {
      const char* v = value();
      std::string_view mode = v ? v : "";
      if (mode == "process") options.durability = cvx::Durability::kProcess;
      else if (mode == "sync") options.durability = cvx::Durability::kSync;
      else if (mode == "memory") options.durability = cvx::Durability::kMemory;
      else { std::fprintf(stderr, "convexlite dev: --durability must be process, sync or memory\n"); return 2; }
    } else if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "convexlite dev: unknown flag %s (try --help)\n", argv[i]);
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto db = cvx::Database::Open(options);
  if (!db.ok()) {
    std::fprintf(stderr, "convexlite dev: %s\n", std::string(db.status().message()).c_str());
    return 1;
  }
  std::printf("convexlite dev: data dir %s open (%zu tables, last commit ts %llu)\n",
              options.path.c_str(), (*db)->TableNames().size(),
              static_cast<unsigned long long>((*db)->LatestTs()));
  std::printf("convexlite dev: the Convex API server is not built yet (issue #4); "
              "press Ctrl-C to stop\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("convexlite dev: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "dev") == 0) return Dev(argc - 2, argv + 2);
  std::fprintf(stderr, "convexlite: unknown command %s (try --help)\n", argv[1]);
  return 2;
}
