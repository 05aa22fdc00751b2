// File: functions/js/node.h
//
// Node.js as convexlite uses it: found once (a `--node` path, or `node` on PATH; version
// 20 or newer), then spawned with its permission model on, so the JavaScript can read
// only the directories it is given and can neither write files nor start processes
// (docs/guides/typescript-apps.md says what that does and does not stop).
//
// Pipes: the child's stdin carries the request; fd 3 carries its answer; stderr is
// collected for error messages. Nothing of the child's is inherited beyond those.
//
// Thread safety: NodeRuntime is immutable after Find; RunOnce may be called concurrently.

#ifndef CVX_FUNCTIONS_JS_NODE_H_
#define CVX_FUNCTIONS_JS_NODE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cvx::js {

struct NodeOutput {
  std::string answer;  // what the child wrote to fd 3
  std::string stderr_text;
  int exit_code = 0;   // -signal when killed by a signal
  bool timed_out = false;
};

// Starts `argv` with exactly `env` as its environment. `fds` maps child fds to parent fds
// (dup2'd into place; the parent's copies stay open); stdin and stdout are /dev/null unless
// mapped; stderr is the parent's unless mapped. The child's signal mask is cleared.
[[nodiscard]] absl::StatusOr<int> SpawnProcess(const std::vector<std::string>& argv,
                                               const std::map<std::string, std::string>& env,
                                               const std::vector<std::pair<int, int>>& fds);

class NodeRuntime {
 public:
  // Finds Node: `path` when given (a file, or a name looked up on PATH), else `node` on
  // PATH. kFailedPrecondition "NodeNotFound" / "NodeTooOld" with a sentence saying what to
  // install or pass.
  [[nodiscard]] static absl::StatusOr<NodeRuntime> Find(const std::string& path = "");

  const std::string& path() const { return path_; }
  int major_version() const { return major_; }

  // Runs `node <permission flags> <script> <args...>` with exactly `env` as its
  // environment, writes `input` to its stdin and closes it, and waits for it to exit or
  // for `timeout` (then kills it: timed_out). `read_paths` are the only paths the script
  // may read. kUnavailable when the process cannot be started.
  [[nodiscard]] absl::StatusOr<NodeOutput> RunOnce(
      const std::string& script, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env, const std::vector<std::string>& read_paths,
      const std::string& input, absl::Duration timeout) const;

  // Runs `argv` (not Node, not sandboxed: npm) with exactly `env`, stdin empty, and waits
  // like RunOnce; its stderr and stdout are both collected in stderr_text.
  [[nodiscard]] absl::StatusOr<NodeOutput> RunCommand(const std::vector<std::string>& argv,
                                                      const std::map<std::string, std::string>& env,
                                                      absl::Duration timeout) const;

  // The flags that turn on Node's permission model for `read_paths` (and quiet its
  // experimental warning).
  std::vector<std::string> PermissionFlags(const std::vector<std::string>& read_paths) const;

 private:
  std::string path_;
  int major_ = 0;
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_NODE_H_
