// File: functions/js/worker_pool.h
//
// Node worker processes that run one code version's functions (runtime/worker.mjs), and
// the frames between them and the engine (docs/design/typescript-apps.md, "Runtime"):
//
//   fd 3  engine -> worker: init, invoke, ret          (written under a mutex)
//   fd 4  worker -> engine: ready, failed, sys, sync, done, head, chunk (read by one engine thread at a time)
//   (an eventfd wakes the thread reading fd 4 when a syscall answered later is put in a
//   call's mailbox: SyscallHandler::StartLater)
//   fd 5  engine -> worker: the reply to a `sync` frame
//
// A call is an rid. Invoke() sends `invoke`, then serves that call's syscalls until `done`.
// There is no reader thread: a waiting thread reads the pipe when nobody else is, routes
// frames by rid into each call's mailbox, and serves itself a syscall of another waiting
// call when the handler allows it (SyscallHandler::MayServeOnAnyThread).
//
// Faults: a call past its user-time limit (wall time minus the time the engine spent
// serving its syscalls) kills its worker and fails with Convex's "Function execution
// timed out (maximum duration: 1s)"; a worker that dies fails only its in-flight calls;
// dead workers are replaced on the next call.
//
// Thread safety: Invoke may be called from many threads at once.

#ifndef CVX_FUNCTIONS_JS_WORKER_POOL_H_
#define CVX_FUNCTIONS_JS_WORKER_POOL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <mutex>
#include "absl/time/time.h"
#include "functions/js/node.h"

namespace boost::json {
class object;
}  // namespace boost::json

namespace cvx::js {

struct WorkerConfig {
  NodeRuntime node;
  std::string runtime_dir;  // where worker.mjs lives
  std::string version_dir;  // the code version's modules
  std::vector<std::string> read_paths;  // everything the worker may read (ReadPaths)
  std::vector<std::string> modules;  // imported once at start (module paths)
  std::map<std::string, std::string> env;  // process.env
  int max_old_space_mb = 512;
  absl::Duration start_timeout = absl::Seconds(30);
};

struct InvokeRequest {
  std::string udf;  // "query" | "mutation" | "action" | "http"
  std::string module, function;
  std::string args_json;  // a JSON array of Convex JSON: [args]
  std::string seed;       // base64 of the call's random seed
  double now_ms = 0;      // the frozen Date.now() of queries and mutations
  // Past it the call fails with Convex's timeout error and the worker is replaced. Queries
  // and mutations count user time (not the engine's time serving their syscalls); actions
  // and HTTP actions count wall time.
  absl::Duration user_time_limit = absl::Seconds(1);
  // HTTP actions: called with each `head` frame ({status, headers, setCookies}) and `chunk`
  // frame ({data: base64}) of a response the worker streams, in order, before the call's
  // result. Null: those frames are dropped.
  std::function<void(std::string_view type, const boost::json::object& frame)> on_stream;
};

struct InvokeOutcome {
  bool ok = false;
  std::string value_json;  // ok: the Convex JSON the function returned
  std::string error_message;  // !ok: Convex's text ("Uncaught Error: ...")
  std::optional<std::string> error_data_json;  // a ConvexError's data
  std::vector<std::string> log_lines;  // "[LOG] 'text'"
  size_t syscalls = 0;  // syscalls it made
};

// Serves one call's syscalls, on the thread that called Invoke.
class SyscallHandler {
 public:
  virtual ~SyscallHandler() = default;
  // `args_json` is the JSON text the library passed. Returns the result as JSON text;
  // an error becomes an Error the JS can catch (a ConvexError keeps its data).
  virtual absl::StatusOr<std::string> Syscall(std::string_view op, std::string_view args_json,
                                              bool sync) = 0;
  // True when serving `op` never waits for another JavaScript call (it runs no function), so
  // whichever engine thread reads the frame may serve it while the calling thread waits
  // (saving a hand-over between threads). Calls to Syscall are never concurrent either way.
  virtual bool MayServeOnAnyThread(std::string_view op) const {
    (void)op;
    return false;
  }
  // True for an async op whose answer waits on something outside the engine (an HTTP
  // action's streamed request body waits on its client). Such an op goes to StartLater,
  // which starts it and calls `answer` once, from any thread, with what Syscall would have
  // returned; the call's own thread sends it to the worker, serving the call's other frames
  // meanwhile (a response the action streams while it still reads its request).
  virtual bool AnswersLater(std::string_view op) const {
    (void)op;
    return false;
  }
  using Answer = std::function<void(absl::StatusOr<std::string>)>;
  virtual void StartLater(std::string_view op, std::string_view args_json, Answer answer) {
    (void)op, (void)args_json;
    answer(absl::UnimplementedError("no syscall is answered later here"));
  }
};

class Worker;
struct WorkerCall;

class WorkerPool {
 public:
  WorkerPool(WorkerConfig config, int size);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs one call. Non-OK only when no worker could run it (kUnavailable "WorkerFailed",
  // e.g. Node could not start or a module throws at import); a JS error, a timeout or a
  // worker death is an InvokeOutcome with ok = false.
  [[nodiscard]] absl::StatusOr<InvokeOutcome> Invoke(const InvokeRequest& request,
                                                     SyscallHandler& handler);

  int live_workers() const;
  uint64_t workers_started() const { return started_.load(); }

 private:
  // The least loaded live worker (starting one while the pool is not full and every worker
  // is busy), with `call` registered on it as `rid`; nullptr when it died meanwhile.
  absl::StatusOr<std::shared_ptr<Worker>> Pick(int64_t rid, std::shared_ptr<WorkerCall> call);

  WorkerConfig config_;
  int size_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Worker>> workers_;  // guarded by mu_
  std::atomic<uint64_t> started_{0};
};

}  // namespace cvx::js

#endif  // CVX_FUNCTIONS_JS_WORKER_POOL_H_
