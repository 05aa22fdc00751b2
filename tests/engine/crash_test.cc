// Crash recovery: a child process commits and acknowledges each commit on a pipe; the test
// SIGKILLs it at a random moment (5-105 ms after its first acknowledged commit), reopens the database and checks that every acknowledged
// commit is present, no transaction is partial, and timestamps keep increasing. 50 rounds
// on one data directory.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "engine/database.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace cvx {
namespace {

struct ChildRun {
  std::map<int64_t, uint64_t> acked;  // seq -> commit ts
};

ChildRun RunAndKill(const std::string& dir, int64_t first_seq, int kill_after_ms) {
  ChildRun run;
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::string seq = std::to_string(first_seq);
    execl(CVX_CRASH_CHILD, CVX_CRASH_CHILD, dir.c_str(), seq.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string buffer;
  // The kill comes kill_after_ms after the first acknowledged commit (slow starts, e.g.
  // under sanitizers, must not turn the test into "kill before anything happened"), or
  // after 10 s at the latest.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool first_ack = false;
  char chunk[4096];
  bool killed = false;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (!killed && now >= deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    int timeout = killed ? 1000
                         : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                deadline - now)
                                                .count()) + 1;
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout) <= 0) {
      if (killed) break;
      continue;
    }
    ssize_t n = read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) break;
    buffer.append(chunk, n);
    if (!first_ack && buffer.find('\n') != std::string::npos) {
      first_ack = true;
      deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                        std::chrono::milliseconds(kill_after_ms));
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child ended by itself, status " << status;
  // Only complete lines are acknowledged commits.
  buffer.resize(buffer.rfind('\n') == std::string::npos ? 0 : buffer.rfind('\n') + 1);
  std::istringstream lines(buffer);
  int64_t seq;
  uint64_t ts;
  while (lines >> seq >> ts) run.acked[seq] = ts;
  return run;
}

TEST(CrashTest, KilledCommitterLosesNothingAcknowledged) {
  testing::TempDir dir;
  const std::string path = dir.Sub("db");
  std::mt19937 rng(20261126);
  uint64_t last_ts = 0;
  size_t total_acked = 0;
  constexpr int kRounds = 50;
  for (int round = 0; round < kRounds; ++round) {
    const int64_t first_seq = int64_t{round} * 1'000'000;
    ChildRun run = RunAndKill(path, first_seq, 5 + static_cast<int>(rng() % 100));
    total_acked += run.acked.size();

    DatabaseOptions options;
    options.path = path;
    ASSERT_OK_AND_ASSIGN(auto db, Database::Open(options));
    uint64_t reopened_ts = db->LatestTs();
    for (const auto& [seq, ts] : run.acked) {
      EXPECT_LE(ts, reopened_ts);
      EXPECT_GT(ts, last_ts) << "round " << round << ": a commit ts went backwards";
    }
    EXPECT_GE(reopened_ts, last_ts);
    // Every transaction is whole: 3 parts per seq; every acknowledged seq is there.
    auto txn = db->Begin();
    ScanRequest req;
    req.table = "crash";
    req.index = "by_id";
    ASSERT_OK_AND_ASSIGN(ScanResult all, txn->Scan(req));
    std::map<int64_t, int> parts;
    for (const Document& d : all.documents) {
      int64_t seq = d.fields.at("seq").int64();
      if (seq >= first_seq) ++parts[seq];
    }
    for (const auto& [seq, count] : parts) {
      EXPECT_EQ(count, 3) << "round " << round << ": partial transaction seq " << seq;
    }
    for (const auto& [seq, ts] : run.acked) {
      EXPECT_EQ(parts.count(seq), 1u) << "round " << round << ": acknowledged seq " << seq << " lost";
    }
    // A commit after reopening gets a later ts.
    auto w = db->Begin();
    ASSERT_OK(w->Insert("marker", {}).status());
    ASSERT_OK(w->Commit());
    EXPECT_GT(w->commit_ts(), reopened_ts);
    last_ts = w->commit_ts();
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(total_acked, 100u) << "the child barely committed anything";
  RecordProperty("acknowledged_commits", static_cast<int>(total_acked));
}

}  // namespace
}  // namespace cvx
