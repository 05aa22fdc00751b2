#include "functions/js/node.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"

extern char** environ;

namespace cvx::js {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string LookupOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return IsExecutable(name) ? name : "";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (IsExecutable(candidate)) return candidate;
  }
  return "";
}

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() { Close(); }
  bool Open() { return ::pipe2(fds, O_CLOEXEC) == 0; }
  void CloseRead() { if (fds[0] >= 0) ::close(fds[0]); fds[0] = -1; }
  void CloseWrite() { if (fds[1] >= 0) ::close(fds[1]); fds[1] = -1; }
  void Close() { CloseRead(); CloseWrite(); }
};

// Runs argv with exactly `env`; the child's stdin, fd 3 and stderr are pipes.
absl::StatusOr<NodeOutput> Spawn(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& input, absl::Duration timeout,
                                 bool stdout_to_stderr = false) {
  Pipe in, answer, err;
  if (!in.Open() || !answer.Open() || !err.Open()) {
    return absl::UnavailableError(absl::StrCat("cannot create pipes: ", std::strerror(errno)));
  }
  std::vector<std::pair<int, int>> fds = {{0, in.fds[0]}, {2, err.fds[1]}};
  if (stdout_to_stderr) fds.push_back({1, err.fds[1]});  // a command (npm): no answer channel
  else fds.push_back({3, answer.fds[1]});
  absl::StatusOr<int> spawned = SpawnProcess(argv, env, fds);
  if (!spawned.ok()) return spawned.status();
  pid_t pid = *spawned;
  in.CloseRead();
  answer.CloseWrite();
  err.CloseWrite();

  NodeOutput out;
  size_t written = 0;
  if (input.empty()) in.CloseWrite();
  absl::Time deadline = absl::Now() + timeout;
  bool answer_open = true, err_open = true;
  while (answer_open || err_open) {
    pollfd fds[3];
    int n = 0;
    int answer_i = -1, err_i = -1, in_i = -1;
    if (answer_open) { answer_i = n; fds[n++] = {answer.fds[0], POLLIN, 0}; }
    if (err_open) { err_i = n; fds[n++] = {err.fds[0], POLLIN, 0}; }
    if (in.fds[1] >= 0) { in_i = n; fds[n++] = {in.fds[1], POLLOUT, 0}; }
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      out.timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buf[65536];
    auto drain = [&](int i, int fd, std::string* sink, bool* open) {
      if (i < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) sink->append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR) *open = false;
    };
    drain(answer_i, answer.fds[0], &out.answer, &answer_open);
    drain(err_i, err.fds[0], &out.stderr_text, &err_open);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in.fds[1], input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      if (put < 0 && errno != EINTR && errno != EAGAIN) in.CloseWrite();
      if (written == input.size()) in.CloseWrite();
    }
  }
  in.CloseWrite();
  if (out.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return out;
}

}  // namespace

absl::StatusOr<int> SpawnProcess(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env,
                                 const std::vector<std::pair<int, int>>& fds) {
  // Sources are first copied above every target, so a dup2 never lands on a source that a
  // later dup2 still needs, and never is a no-op that would keep FD_CLOEXEC.
  std::vector<int> high;
  for (const auto& [child, parent] : fds) {
    int copy = ::fcntl(parent, F_DUPFD_CLOEXEC, 64);
    if (copy < 0) {
      for (int h : high) ::close(h);
      return absl::UnavailableError(absl::StrCat("cannot duplicate a pipe: ", std::strerror(errno)));
    }
    high.push_back(copy);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  bool has_stdin = false, has_stdout = false;
  for (size_t i = 0; i < fds.size(); ++i) {
    int child = fds[i].first;
    posix_spawn_file_actions_adddup2(&actions, high[i], child);
    has_stdin = has_stdin || child == 0;
    has_stdout = has_stdout || child == 1;
  }
  if (!has_stdin) posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!has_stdout) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_lines;
  for (const auto& [k, v] : env) env_lines.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp;
  for (std::string& line : env_lines) envp.push_back(line.data());
  envp.push_back(nullptr);
  // The child must not inherit blocked signals from the server's threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (int h : high) ::close(h);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

absl::StatusOr<NodeRuntime> NodeRuntime::Find(const std::string& path) {
  // A child that exits before reading all of its stdin must not kill the server with
  // SIGPIPE; the failed write is an error like any other.
  ::signal(SIGPIPE, SIG_IGN);
  std::string found = LookupOnPath(path.empty() ? "node" : path);
  if (found.empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NodeNotFound",
                     path.empty()
                         ? "Node.js was not found on PATH; TypeScript apps need Node 20 or newer "
                           "(install it, or pass --node /path/to/node)"
                         : absl::StrCat("--node ", path, " is not an executable file"));
  }
  absl::StatusOr<NodeOutput> version =
      Spawn({found, "-e", "require('fs').writeSync(3, process.versions.node)"}, {}, "",
            absl::Seconds(20));
  int major = 0;
  if (version.ok()) {
    std::string_view text = version->answer;
    (void)absl::SimpleAtoi(AV(text.substr(0, text.find('.'))), &major);
  }
  if (major == 0) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NodeNotFound",
                     absl::StrCat(found, " did not run as Node.js"));
  }
  if (major < 20) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NodeTooOld",
                     absl::StrCat(found, " is Node ", major,
                                  "; TypeScript apps need Node 20 or newer (or pass --node)"));
  }
  NodeRuntime runtime;
  runtime.path_ = found;
  runtime.major_ = major;
  return runtime;
}

std::vector<std::string> NodeRuntime::PermissionFlags(
    const std::vector<std::string>& read_paths) const {
  std::vector<std::string> flags = {"--no-warnings",
                                    major_ >= 22 ? "--permission" : "--experimental-permission"};
  for (const std::string& p : read_paths) flags.push_back("--allow-fs-read=" + p);
  return flags;
}

absl::StatusOr<NodeOutput> NodeRuntime::RunCommand(const std::vector<std::string>& argv,
                                                   const std::map<std::string, std::string>& env,
                                                   absl::Duration timeout) const {
  return Spawn(argv, env, "", timeout, /*stdout_to_stderr=*/true);
}

absl::StatusOr<NodeOutput> NodeRuntime::RunOnce(const std::string& script,
                                                const std::vector<std::string>& args,
                                                const std::map<std::string, std::string>& env,
                                                const std::vector<std::string>& read_paths,
                                                const std::string& input,
                                                absl::Duration timeout) const {
  std::vector<std::string> argv = {path_};
  for (std::string& f : PermissionFlags(read_paths)) argv.push_back(std::move(f));
  argv.push_back(script);
  for (const std::string& a : args) argv.push_back(a);
  return Spawn(argv, env, input, timeout);
}

}  // namespace cvx::js
