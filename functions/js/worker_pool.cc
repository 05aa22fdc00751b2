#include "functions/js/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/errors.h"
#include "functions/js/pipe_io.h"

namespace cvx::js {
namespace json = boost::json;
namespace {

std::string Frame(const json::object& message) { return EncodeFrame(json::serialize(message)); }

std::string StringOf(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

// Rust's Duration Debug, as Convex prints limits: "1s", "600s", "1.5s".
std::string RustDuration(absl::Duration d) {
  double seconds = absl::ToDoubleSeconds(d);
  if (seconds == static_cast<double>(static_cast<int64_t>(seconds))) return absl::StrCat(static_cast<int64_t>(seconds), "s");
  return absl::StrCat(seconds, "s");
}

std::atomic<int64_t> next_rid{1};

}  // namespace

// One Node process running runtime/worker.mjs.
//
// There is no reader thread: a thread waiting for its call's next frame reads the pipe
// itself when no other thread is reading ("leader/follower"), and hands frames for other
// calls to their mailboxes. With one call in flight a round trip is then two wake-ups
// (Node's and the caller's) instead of three. A syscall of another call whose thread is
// waiting is served by the reader itself when the handler allows it, so with many calls
// in flight a syscall costs no hand-over either. Synchronization is std::mutex and
// std::condition_variable (pthreads) so ThreadSanitizer sees it; Debian's abseil is not
// instrumented.
// One call's mailbox on a worker.
struct WorkerCall {
  std::deque<json::object> inbox;  // guarded by the worker's mu_
  std::condition_variable cv;      // signalled when a frame arrives or it may read
  bool waiting = false;            // guarded by the worker's mu_
  SyscallHandler* handler = nullptr;  // set before the call is registered
  // Another thread is serving one of its syscalls (Worker::NextFrame); the call's own
  // thread does not return until it is done. Guarded by the worker's mu_, as is the rest.
  bool serving = false;
  bool waits_for_serving = false;
  // Written by the call's thread, or by the thread serving it while `serving`.
  absl::Duration served;  // the engine's time on its syscalls
  size_t syscalls = 0;
};

class Worker {
 public:
  using Call = WorkerCall;
  enum class Next { kFrame, kDead, kTimeout };

  static absl::StatusOr<std::shared_ptr<Worker>> Start(const WorkerConfig& config) {
    int to_worker[2], from_worker[2], sync_to_worker[2];
    if (::pipe2(to_worker, O_CLOEXEC) != 0) return absl::UnavailableError("cannot create a pipe");
    if (::pipe2(from_worker, O_CLOEXEC) != 0) {
      ::close(to_worker[0]), ::close(to_worker[1]);
      return absl::UnavailableError("cannot create a pipe");
    }
    if (::pipe2(sync_to_worker, O_CLOEXEC) != 0) {
      for (int fd : {to_worker[0], to_worker[1], from_worker[0], from_worker[1]}) ::close(fd);
      return absl::UnavailableError("cannot create a pipe");
    }
    std::vector<std::string> argv = {config.node.path()};
    for (std::string& f : config.node.PermissionFlags(config.read_paths)) argv.push_back(f);
    argv.push_back(absl::StrCat("--max-old-space-size=", config.max_old_space_mb));
    argv.push_back(config.runtime_dir + "/worker.mjs");
    absl::StatusOr<int> pid = SpawnProcess(argv, {}, {{3, to_worker[0]}, {4, from_worker[1]}, {5, sync_to_worker[0]}});
    ::close(to_worker[0]);
    ::close(from_worker[1]);
    ::close(sync_to_worker[0]);
    if (!pid.ok()) {
      ::close(to_worker[1]), ::close(from_worker[0]), ::close(sync_to_worker[1]);
      return pid.status();
    }
    auto worker = std::shared_ptr<Worker>(new Worker(*pid, to_worker[1], from_worker[0], sync_to_worker[1]));
    json::array modules;
    for (const std::string& m : config.modules) modules.push_back(json::value(m));
    json::object env;
    for (const auto& [k, v] : config.env) env[k] = v;
    CVX_RETURN_IF_ERROR(worker->Send(json::object{{"t", "init"}, {"dir", config.version_dir}, {"modules", modules},
                                                  {"env", env}, {"seed", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
                                                  {"nowMs", absl::ToUnixMillis(absl::Now())}}));
    auto init = std::make_shared<Call>();
    worker->Register(0, init);  // frames without an rid (ready, failed) come here
    json::object reply;
    Next next = worker->NextFrame(init.get(), absl::Now() + config.start_timeout, /*plus_served=*/false, &reply);
    worker->Unregister(0);
    if (next != Next::kFrame) {
      return MakeError(absl::StatusCode::kUnavailable, "WorkerFailed",
                       next == Next::kDead ? "the Node worker exited while starting"
                                           : "the Node worker did not start in time");
    }
    if (StringOf(reply, "t") != "ready") {
      return MakeError(absl::StatusCode::kUnavailable, "WorkerFailed",
                       absl::StrCat("Loading the pushed modules encountered the following\n    error:\n",
                                    StringOf(reply, "message")));
    }
    return worker;
  }

  ~Worker() {
    Kill();
    ::close(to_fd_);
    ::close(sync_fd_);
    ::close(from_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    Reap(/*wait=*/true);
  }

  void Kill() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!killed_ && !reaped_) ::kill(pid_, SIGKILL);
    killed_ = true;
    gone_.store(true);
  }

  // Dead when killed, when a read saw the pipe close, or when the process has exited.
  bool dead() {
    std::lock_guard<std::mutex> lock(mu_);
    Reap(/*wait=*/false);
    return dead_ || killed_;
  }
  // Known to be dead or killed, without a system call (a worker that exited while idle is
  // found out when its invoke cannot be written).
  bool gone() const { return gone_.load(std::memory_order_relaxed); }
  // For Pick, without a lock: {stalled, calls in flight}, lower is better. Stalled: it has
  // calls but has sent nothing for a while, so it is most likely running synchronous
  // JavaScript, and a call sent to it would wait behind that.
  std::pair<bool, int> Load(absl::Time now) const {
    int calls = in_flight_.load(std::memory_order_relaxed);
    absl::Time heard = absl::FromUnixNanos(last_heard_ns_.load(std::memory_order_relaxed));
    return {calls > 0 && now - heard > absl::Milliseconds(10), calls};
  }

  // False when the worker is already dead (the call then fails at once).
  bool Register(int64_t rid, std::shared_ptr<Call> call) {
    std::lock_guard<std::mutex> lock(mu_);
    if (dead_ || killed_) return false;
    if (calls_.empty()) Heard();  // an idle worker starts the call at once
    calls_[rid] = std::move(call);
    in_flight_.store(static_cast<int>(calls_.size()), std::memory_order_relaxed);
    return true;
  }
  void Unregister(int64_t rid) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(rid);
    in_flight_.store(static_cast<int>(calls_.size()), std::memory_order_relaxed);
  }

  absl::Status Send(const json::object& message) {
    std::lock_guard<std::mutex> lock(write_mu_);
    return WriteAll(to_fd_, Frame(message));
  }
  // Its pipe is broken (it exited before anyone read its EOF): no call is given to it again.
  void MarkDead() {
    std::lock_guard<std::mutex> lock(mu_);
    SetDead();
  }
  absl::Status SendSync(const json::object& message) {
    std::lock_guard<std::mutex> lock(sync_mu_);
    return WriteAll(sync_fd_, Frame(message));
  }

  // Serves one `sys` or `sync` frame with `handler` and writes the reply; adds to the
  // call's counters. Non-OK when the reply cannot be written (the worker is gone).
  absl::Status Serve(SyscallHandler& handler, json::object& frame, Call* call) {
    bool sync = StringOf(frame, "t") == "sync";
    absl::Time t0 = absl::Now();
    absl::StatusOr<std::string> result = handler.Syscall(StringOf(frame, "op"), StringOf(frame, "args"), sync);
    call->served += absl::Now() - t0;
    ++call->syscalls;
    json::object reply = Ret(result);
    if (!sync) reply["sid"] = frame["sid"];
    return sync ? SendSync(reply) : Send(reply);
  }

  // The reply to a syscall: {t: "ret", ok} or {t: "ret", err}.
  static json::object Ret(const absl::StatusOr<std::string>& result) {
    json::object reply{{"t", "ret"}};
    if (result.ok()) {
      reply["ok"] = *result;
    } else {
      reply["err"] = ErrorJson(std::string(result.status().message()), ConvexErrorData(result.status()));
    }
    return reply;
  }

  // Puts `frame` in call `rid`'s mailbox from any thread (an answer that came later,
  // SyscallHandler::StartLater) and wakes the call's thread, wherever it waits. Dropped when
  // the call is over.
  void Deliver(int64_t rid, json::object frame) {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = calls_.find(rid);
    if (it == calls_.end()) return;
    std::shared_ptr<Call> c = it->second;
    c->inbox.push_back(std::move(frame));
    const bool may_be_reading = reading_ && !c->waiting;
    lock.unlock();
    c->cv.notify_one();
    if (may_be_reading) WakeReader();
  }

  // The next frame for `call`, reading the pipe when no other thread is. The deadline is
  // `deadline`, plus the engine's time on the call's syscalls when `plus_served`.
  Next NextFrame(Call* call, absl::Time deadline, bool plus_served, json::object* out) {
    std::unique_lock<std::mutex> lock(mu_);
    // Calls to wake, notified with mu_ released (a thread woken while it is held would only
    // block on it again).
    Wakes wakes;
    for (;;) {
      if (!call->inbox.empty()) {
        *out = std::move(call->inbox.front());
        call->inbox.pop_front();
        if (!reading_) PassTheReading(&wakes);
        break;
      }
      if (!wakes.empty()) {
        lock.unlock();
        Notify(&wakes);
        lock.lock();
        continue;
      }
      if (call->serving) {  // its handler is in use: wait for it, whatever the time
        call->waits_for_serving = true;
        call->cv.wait(lock);
        call->waits_for_serving = false;
        continue;
      }
      if (dead_) return Next::kDead;
      absl::Time now = absl::Now();
      absl::Time until = deadline + (plus_served ? call->served : absl::ZeroDuration());
      if (now >= until) return Next::kTimeout;
      if (reading_) {
        // Woken only for this call: a frame for it, a death, or the reader's seat.
        call->waiting = true;
        call->cv.wait_for(lock, absl::ToChronoNanoseconds(until - now));
        call->waiting = false;
        continue;
      }
      reading_ = true;
      // Alone on this worker, the answer usually comes within tens of microseconds: poll
      // for it briefly instead of paying a sleep and a wake-up (a round trip's largest cost).
      bool spin = calls_.size() == 1;
      lock.unlock();
      json::object frame;
      int got = ReadFrame(until, spin, &frame);  // 1 frame, 2 woken, 0 timeout, -1 closed
      lock.lock();
      if (got < 0) SetDead();
      if (got == 1) Route(lock, call, frame, &wakes);
      reading_ = false;
    }
    lock.unlock();
    Notify(&wakes);
    return Next::kFrame;
  }

 private:
  Worker(pid_t pid, int to_fd, int from_fd, int sync_fd)
      : pid_(pid), to_fd_(to_fd), from_fd_(from_fd), sync_fd_(sync_fd),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  // Wakes the thread reading fd 4, if one is waiting there.
  void WakeReader() {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    (void)n;  // a full counter is still readable, which is all it is for
  }

  using Wakes = std::vector<std::shared_ptr<Call>>;
  static void Notify(Wakes* wakes) {
    for (const std::shared_ptr<Call>& c : *wakes) c->cv.notify_one();
    wakes->clear();
  }

  // Called by the reader with mu_ held: gives `frame` to its call, or serves it on this
  // thread when it is a syscall of another call whose thread is waiting for it.
  void Route(std::unique_lock<std::mutex>& lock, Call* self, json::object& frame, Wakes* wakes) {
    Heard();
    const json::value* r = frame.if_contains("rid");
    int64_t target = r != nullptr && r->is_number() ? r->to_number<int64_t>() : 0;
    auto it = calls_.find(target);
    if (it == calls_.end()) return;
    std::shared_ptr<Call> c = it->second;
    if (c.get() != self && c->waiting && c->inbox.empty() && !c->serving && c->handler != nullptr) {
      std::string type = StringOf(frame, "t");
      if ((type == "sys" || type == "sync") && c->handler->MayServeOnAnyThread(StringOf(frame, "op"))) {
        c->serving = true;
        lock.unlock();
        absl::Status written = Serve(*c->handler, frame, c.get());
        lock.lock();
        c->serving = false;
        if (!written.ok()) SetDead();
        else if (c->waits_for_serving) wakes->push_back(c);
        return;
      }
    }
    c->inbox.push_back(std::move(frame));
    if (c.get() != self) wakes->push_back(std::move(c));
  }

  // Called with mu_ held and nobody reading: wakes one waiting call, which will read.
  void PassTheReading(Wakes* wakes) {
    for (auto& [id, c] : calls_) {
      if (c->waiting && c->inbox.empty()) {
        wakes->push_back(c);
        return;
      }
    }
  }

  // Called with mu_ held.
  void SetDead() {
    dead_ = true;
    gone_.store(true);
    for (auto& [id, c] : calls_) c->cv.notify_one();
  }
  void Heard() { last_heard_ns_.store(absl::ToUnixNanos(absl::Now()), std::memory_order_relaxed); }

  // Called with mu_ held.
  void Reap(bool wait) {
    if (reaped_) return;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      dead_ = true;
      gone_.store(true);
    }
  }

  // Reads one frame, waiting for it until `deadline`. 1: a frame; 2: woken (WakeReader);
  // 0: timed out; -1: the pipe closed or the worker wrote garbage (treated as dead).
  int ReadFrame(absl::Time deadline, bool spin, json::object* out) {
    std::string body;
    while (!buffer_.Next(&body)) {
      if (spin) SpinUntilReadable(from_fd_, absl::Microseconds(50)), spin = false;
      int64_t wait_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
      pollfd p[2] = {{from_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      int ready = ::poll(p, 2, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return -1;
      if (ready == 0) {
        if (absl::Now() >= deadline) return 0;
        continue;
      }
      if (p[1].revents & POLLIN) {
        uint64_t count;
        ssize_t n = ::read(wake_fd_, &count, sizeof(count));
        (void)n;
        return 2;
      }
      if (!buffer_.Fill(from_fd_)) return -1;
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return -1;
    *out = std::move(v.get_object());
    return 1;
  }

  const pid_t pid_;
  const int to_fd_, from_fd_, sync_fd_;
  const int wake_fd_;  // an eventfd: WakeReader
  // mu_ guards everything below and every registered Call's inbox.
  mutable std::mutex mu_;
  std::map<int64_t, std::shared_ptr<Call>> calls_;
  FrameBuffer buffer_;  // used by the thread in the reader's seat
  bool reading_ = false;
  bool dead_ = false;
  bool killed_ = false;
  bool reaped_ = false;
  std::mutex write_mu_, sync_mu_;
  // Read without mu_ (Pick): when it last sent a frame or, idle, was given a call; calls
  // registered; dead or killed.
  std::atomic<int64_t> last_heard_ns_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> gone_{false};
};

WorkerPool::WorkerPool(WorkerConfig config, int size) : config_(std::move(config)), size_(std::max(1, size)) {}

WorkerPool::~WorkerPool() {
  std::lock_guard<std::mutex> lock(mu_);
  workers_.clear();
}

int WorkerPool::live_workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& w : workers_) n += w->dead() ? 0 : 1;
  return n;
}

absl::StatusOr<std::shared_ptr<Worker>> WorkerPool::Pick(int64_t rid, std::shared_ptr<WorkerCall> call) {
  // Choosing and registering happen under one lock, so calls arriving together see each
  // other's load and spread over the pool.
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(workers_, [](const std::shared_ptr<Worker>& w) { return w->gone(); });
  std::shared_ptr<Worker> best;
  std::pair<bool, int> best_load;
  absl::Time now = absl::Now();
  for (const auto& w : workers_) {
    std::pair<bool, int> load = w->Load(now);
    if (best == nullptr || load < best_load) best = w, best_load = load;
  }
  if (best == nullptr || (best_load.second > 0 && static_cast<int>(workers_.size()) < size_)) {
    absl::StatusOr<std::shared_ptr<Worker>> started = Worker::Start(config_);
    if (!started.ok()) {
      if (best != nullptr) return best;
      return started.status();
    }
    started_.fetch_add(1);
    workers_.push_back(*started);
    best = *started;
  }
  if (!best->Register(rid, std::move(call))) return nullptr;  // it died just now
  return best;
}

absl::StatusOr<InvokeOutcome> WorkerPool::Invoke(const InvokeRequest& request, SyscallHandler& handler) {
  int64_t rid = next_rid.fetch_add(1);
  auto shared_call = std::make_shared<Worker::Call>();
  Worker::Call& call = *shared_call;
  call.handler = &handler;
  InvokeOutcome outcome;
  auto died = [&] {
    outcome.ok = false;
    outcome.error_message =
        "The Node worker running this function exited (it crashed, ran out of memory or was "
        "killed); nothing the function wrote was kept";
    return outcome;
  };
  // A worker that died while idle is found out when the invoke cannot be written; the call
  // has not started, so it goes to another worker (a fresh one if need be).
  std::shared_ptr<Worker> worker;
  for (int attempt = 0;; ++attempt) {
    CVX_ASSIGN_OR_RETURN(worker, Pick(rid, shared_call));
    if (worker == nullptr) return died();
    absl::Status sent = worker->Send(json::object{{"t", "invoke"}, {"rid", rid}, {"udf", request.udf},
                                                  {"module", request.module}, {"fn", request.function},
                                                  {"args", request.args_json}, {"seed", request.seed},
                                                  {"now", request.now_ms}});
    if (sent.ok()) break;
    worker->Unregister(rid);
    worker->MarkDead();
    if (attempt == size_) return died();
  }
  struct Unregister {
    Worker* w;
    int64_t rid;
    ~Unregister() { w->Unregister(rid); }
  } unregister{worker.get(), rid};
  absl::Time start = absl::Now();
  // Queries and mutations get their limit in user time (the engine's time serving their
  // syscalls does not count); actions and HTTP actions in wall time, as in Convex.
  const bool user_time = request.udf == "query" || request.udf == "mutation";
  for (;;) {
    json::object frame;
    Worker::Next next = worker->NextFrame(&call, start + request.user_time_limit, user_time, &frame);
    outcome.syscalls = call.syscalls;
    if (next == Worker::Next::kDead) return died();
    if (next == Worker::Next::kTimeout) {
      worker->Kill();  // synchronous JS cannot be interrupted otherwise
      outcome.ok = false;
      outcome.error_message = absl::StrCat("Function execution timed out (maximum duration: ",
                                           RustDuration(request.user_time_limit), ")");
      return outcome;
    }
    std::string type = StringOf(frame, "t");
    if (type == "done") {
      if (const json::value* logs = frame.if_contains("logs"); logs != nullptr && logs->is_array()) {
        for (const json::value& l : logs->get_array()) {
          if (l.is_string()) outcome.log_lines.push_back(std::string(l.get_string()));
        }
      }
      if (const json::value* ok = frame.if_contains("ok"); ok != nullptr) {
        outcome.ok = true;
        outcome.value_json = ok->is_string() ? std::string(ok->get_string()) : "null";
      } else {
        const json::value* err = frame.if_contains("err");
        outcome.ok = false;
        if (err != nullptr && err->is_object()) {
          outcome.error_message = StringOf(err->get_object(), "message");
          if (const json::value* data = err->get_object().if_contains("data"); data != nullptr && data->is_string()) {
            outcome.error_data_json = std::string(data->get_string());
          }
        }
      }
      return outcome;
    }
    if (type == "head" || type == "chunk") {
      if (request.on_stream) request.on_stream(type, frame);
      continue;
    }
    if (type == "answer") {  // a syscall answered later (StartLater), put here by Deliver
      frame["t"] = "ret";
      if (!worker->Send(frame).ok()) return died();
      continue;
    }
    if (type != "sys" && type != "sync") continue;
    if (type == "sys" && handler.AnswersLater(StringOf(frame, "op"))) {
      auto answer = [weak = std::weak_ptr<Worker>(worker), rid, sid = frame["sid"]](absl::StatusOr<std::string> result) {
        if (std::shared_ptr<Worker> w = weak.lock()) {
          json::object reply = Worker::Ret(result);
          reply["t"] = "answer";
          reply["sid"] = sid;
          w->Deliver(rid, std::move(reply));
        }
      };
      ++call.syscalls;
      handler.StartLater(StringOf(frame, "op"), StringOf(frame, "args"), std::move(answer));
      continue;
    }
    if (!worker->Serve(handler, frame, &call).ok()) return died();
  }
}

}  // namespace cvx::js
