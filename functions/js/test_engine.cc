#include "functions/js/test_engine.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "engine/value/json.h"
#include "functions/errors.h"
#include "functions/js/js_runtime.h"
#include "functions/js/pipe_io.h"
#include "functions/js/syscalls.h"
#include "functions/js/version.h"
#include "functions/auth/crypto.h"
#include "functions/runner.h"
#include "functions/scheduled_jobs.h"
#include "schema/schema.h"

namespace cvx::js {
namespace json = boost::json;
namespace {

// One thread's frames: those of the rids it runs, or (the shared idle box) requests that
// start work.
struct Mailbox {
  std::deque<json::object> inbox;  // guarded by Channel::mu_
  std::condition_variable cv;
};

std::string StringOf(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

int64_t IntOf(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<int64_t>() : 0;
}

// The two pipes. Whichever waiting thread finds nobody reading, and no frame unanswered,
// reads the next frame and routes it ("leader/follower"): the thread that answered last
// reads the next request, so a round trip wakes at most the thread that owns it.
// std::mutex and std::condition_variable so ThreadSanitizer sees them.
class Channel {
 public:
  // `start_thread` is called (with the channel's lock held) when a request that starts
  // work arrives and no idle thread waits for it.
  Channel(int in, int out, std::function<void()> start_thread)
      : in_(in), out_(out), start_thread_(std::move(start_thread)) {}

  absl::Status Send(const json::object& message) { return SendText(json::serialize(message)); }
  // A reply already serialized (to embed JSON text without escaping it into a string).
  absl::Status SendText(std::string_view body) {
    std::string frame = EncodeFrame(body);
    std::lock_guard<std::mutex> lock(write_mu_);
    return WriteAll(out_, frame);
  }

  void Register(int64_t rid, Mailbox* box) {
    std::lock_guard<std::mutex> lock(mu_);
    boxes_[rid] = box;
  }
  void Unregister(int64_t rid) {
    std::lock_guard<std::mutex> lock(mu_);
    boxes_.erase(rid);
  }

  // The next frame for `box` (nullptr: the idle box), after the caller answered the one
  // it had (every call but a thread's first follows a frame it was given). False once
  // the requests pipe closed or broke.
  bool Next(Mailbox* box, json::object* out) {
    if (box == nullptr) box = &idle_;
    std::unique_lock<std::mutex> lock(mu_);
    --busy_;
    for (;;) {
      if (!box->inbox.empty()) {
        *out = std::move(box->inbox.front());
        box->inbox.pop_front();
        return true;
      }
      if (closed_) return false;
      // While another thread has a frame to answer, nobody reads: the test process sends
      // nothing until it is answered, and that thread, when it comes back here, reads next
      // (awake, on its core) instead of waking a reader blocked in read().
      if (reading_ || busy_ > 0) {
        waiting_.push_back(box);
        box->cv.wait(lock);
        waiting_.erase(std::find(waiting_.begin(), waiting_.end(), box));
        continue;
      }
      reading_ = true;
      lock.unlock();
      std::optional<json::object> frame = ReadFrame();
      lock.lock();
      reading_ = false;
      if (!frame) {
        closed_ = true;
        for (Mailbox* b : waiting_) b->cv.notify_all();
        idle_.cv.notify_all();
        return false;
      }
      Mailbox* target = &idle_;
      if (const json::value* rid = frame->if_contains("rid"); rid != nullptr && rid->is_number()) {
        auto it = boxes_.find(rid->to_number<int64_t>());
        if (it != boxes_.end()) target = it->second;
      }
      target->inbox.push_back(*std::move(frame));
      ++busy_;
      if (target == box) continue;
      target->cv.notify_one();
      if (target == &idle_ && idle_waiting() == 0) {
        ++busy_;  // the new thread's first Next
        start_thread_();
      }
    }
  }

 private:
  int idle_waiting() const {
    int n = 0;
    for (Mailbox* b : waiting_) n += b == &idle_;
    return n;
  }

  std::optional<json::object> ReadFrame() {
    // The test process answers within microseconds while a call runs (it blocks on each
    // reply), so wait for it awake first.
    SpinUntilReadable(in_, absl::Microseconds(200));
    char header[4];
    if (!ReadAll(in_, header, 4)) return std::nullopt;
    std::string body(FrameLength(header), '\0');
    if (!ReadAll(in_, body.data(), body.size())) return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return json::object{{"t", "malformed"}};
    return std::move(v.get_object());
  }

  int in_, out_;
  std::function<void()> start_thread_;
  std::mutex write_mu_;
  std::mutex mu_;
  bool reading_ = false;  // the five below guarded by mu_
  bool closed_ = false;
  // Frames routed to a thread that has not answered them yet (it calls Next again once it
  // has). Each thread's first Next finds itself counted: the first thread in the initial
  // 1, the others when they are started.
  int busy_ = 1;
  std::map<int64_t, Mailbox*> boxes_;
  std::vector<Mailbox*> waiting_;
  Mailbox idle_;
};

// What the thread running a call knows: its mailbox, and the last JS error reported to it
// (so an error that is that JS error, unchanged, names the rid that threw it).
struct ThreadState {
  Mailbox box;
  int64_t js_error_rid = 0;
  std::string js_error_message;
  // The last invocation whose `done` was ok. A call's own comes after its nested ones', so
  // when the call succeeds its value is that text, and the result can name it instead of
  // sending it back.
  int64_t last_ok_rid = 0;
};
thread_local ThreadState* tls = nullptr;

// `err` for an error whose text is `message`: names the rid whose JS threw it, when it is
// the JS error `state` last heard of, unchanged.
void NameJsError(const ThreadState& state, std::string_view message, json::object* err) {
  if (state.js_error_rid != 0 && state.js_error_message == message) (*err)["rid"] = state.js_error_rid;
}

// "Run the JavaScript" for every function of every test deployment: an `invoke` to the
// test process, then its syscalls, served here against the call's context, until `done`.
class RemoteInvoker : public JsInvoker {
 public:
  explicit RemoteInvoker(Channel* channel) : channel_(channel) {}

  absl::StatusOr<Value> Query(const CodeVersion&, const AnalyzedFunction& fn, QueryCtx& ctx,
                              const Object& args) override {
    UdfSyscalls handler(&ctx, fn.path);
    return Parsed(fn.path, Run("query", fn.module, fn.name, ArgsJson(args), handler));
  }
  absl::StatusOr<Value> Mutation(const CodeVersion&, const AnalyzedFunction& fn, MutationCtx& ctx,
                                 const Object& args) override {
    UdfSyscalls handler(&ctx, fn.path);
    return Parsed(fn.path, Run("mutation", fn.module, fn.name, ArgsJson(args), handler));
  }
  absl::StatusOr<Value> Action(const CodeVersion&, const AnalyzedFunction& fn, ActionCtx& ctx,
                               const Object& args) override {
    ActionSyscalls handler(&ctx, fn.path);
    return Parsed(fn.path, Run("action", fn.module, fn.name, ArgsJson(args), handler));
  }
  // The test process keeps the Request (its body included) and runs http.js's router;
  // the engine routed it and serves its syscalls.
  absl::StatusOr<HttpActionResponse> Http(const CodeVersion&, const HttpRoute&, ActionCtx& ctx,
                                          const HttpActionRequest& request) override {
    ActionSyscalls handler(&ctx, "http:default");
    json::object req{{"method", request.method}, {"url", request.url}, {"path", request.path}};
    CVX_ASSIGN_OR_RETURN(std::string text, Run("http", "http.js", "default", json::serialize(req), handler));
    HttpActionResponse response;
    CVX_RETURN_IF_ERROR(ReadHttpResponse(text, &response));
    return response;
  }
  // Before an OCC retry: `backoff` to the test process (as the reply to the `done` whose
  // commit conflicted), then wait for its `resume`, so its other calls run meanwhile.
  void Backoff() {
    ThreadState* state = tls;
    if (state == nullptr) return;
    int64_t wid = next_rid_.fetch_add(1);
    channel_->Register(wid, &state->box);
    if (channel_->Send(json::object{{"t", "backoff"}, {"rid", wid}}).ok()) {
      json::object frame;
      while (channel_->Next(&state->box, &frame) && StringOf(frame, "t") != "resume") {
      }
    }
    channel_->Unregister(wid);
  }

  // t.run(handler): the handler the test process registered as `id`, as a mutation.
  absl::StatusOr<Value> Inline(MutationCtx& ctx, const std::string& id) {
    UdfSyscalls handler(&ctx, "custom");
    return Parsed("custom", Run("mutation", "", id, "[{}]", handler));
  }

 private:
  static std::string ArgsJson(const Object& args) {
    return absl::StrCat("[", ToConvexJson(Value::FromObject(args)), "]");
  }
  static absl::StatusOr<Value> Parsed(std::string_view path, absl::StatusOr<std::string> text) {
    if (!text.ok()) return text.status();
    absl::StatusOr<Value> value = ParseConvexJson(*text);
    if (!value.ok()) {
      return UncaughtJsError(absl::StrCat(AV(path), " returned a value that is not a Convex value: ", value.status().message()),
                             std::nullopt);
    }
    return value;
  }

  // The ok JSON text of `done`, or the JS error it reported.
  absl::StatusOr<std::string> Run(const char* udf, const std::string& module, const std::string& name,
                                  std::string args_json, SyscallHandler& handler) {
    ThreadState* state = tls;
    if (state == nullptr) return absl::InternalError("test engine: a call outside a call thread");
    int64_t rid = next_rid_.fetch_add(1);
    channel_->Register(rid, &state->box);
    struct Guard {
      Channel* c;
      int64_t rid;
      ~Guard() { c->Unregister(rid); }
    } guard{channel_, rid};
    CVX_RETURN_IF_ERROR(channel_->Send(json::object{{"t", "invoke"},
                                                    {"rid", rid},
                                                    {"udf", udf},
                                                    {"module", module},
                                                    {"fn", name},
                                                    {"args", std::move(args_json)}}));
    json::object frame;
    while (channel_->Next(&state->box, &frame)) {
      std::string t = StringOf(frame, "t");
      if (t == "sys") {
        const json::value* sync = frame.if_contains("sync");
        absl::StatusOr<std::string> result =
            handler.Syscall(StringOf(frame, "op"), StringOf(frame, "args"), sync != nullptr && sync->is_bool() && sync->get_bool());
        json::object reply{{"t", "ret"}};
        if (result.ok()) {
          if (const json::value* prefetch = frame.if_contains("prefetch"); prefetch != nullptr && prefetch->is_number()) {
            CVX_RETURN_IF_ERROR(channel_->SendText(Prefetch(handler, *result, prefetch->to_number<int64_t>())));
            continue;
          }
          reply["ok"] = *result;
        } else {
          json::object err = ErrorJson(std::string(result.status().message()), ConvexErrorData(result.status()));
          NameJsError(*state, std::string(result.status().message()), &err);
          reply["err"] = err;
        }
        CVX_RETURN_IF_ERROR(channel_->Send(reply));
      } else if (t == "done") {
        if (const json::value* err = frame.if_contains("err"); err != nullptr && err->is_object()) {
          std::string message = StringOf(err->get_object(), "message");
          std::optional<Value> data;
          if (const json::value* d = err->get_object().if_contains("data"); d != nullptr) {
            absl::StatusOr<Value> parsed = ParseConvexJson(json::serialize(*d));
            if (parsed.ok()) data = *std::move(parsed);
          }
          state->js_error_rid = rid;
          state->js_error_message = message;
          return UncaughtJsError(message, std::move(data));
        }
        state->last_ok_rid = rid;
        return StringOf(frame, "ok");
      } else {
        CVX_RETURN_IF_ERROR(channel_->Send(json::object{
            {"t", "ret"}, {"err", json::object{{"message", absl::StrCat("test engine: unexpected frame \"", t, "\" in a call")}}}}));
      }
    }
    return absl::UnavailableError("test engine: the test process went away");
  }

  // The reply to a queryStream that opened `opened`, with its first batch (`first`, the
  // {values, done} object itself, or `firstErr`), so a query that fits in it costs no
  // queryStreamNext round trip.
  static std::string Prefetch(SyscallHandler& handler, const std::string& opened, int64_t batch) {
    json::object reply{{"t", "ret"}, {"ok", opened}};
    boost::system::error_code ec;
    json::value v = json::parse(opened, ec);
    const json::value* id = !ec && v.is_object() ? v.get_object().if_contains("queryId") : nullptr;
    if (id == nullptr) return json::serialize(reply);
    absl::StatusOr<std::string> first = handler.Syscall(
        "1.0/queryStreamNext", json::serialize(json::object{{"queryId", *id}, {"batch", batch}}), false);
    if (!first.ok()) {
      reply["firstErr"] = ErrorJson(std::string(first.status().message()), ConvexErrorData(first.status()));
      return json::serialize(reply);
    }
    std::string text = json::serialize(reply);
    text.pop_back();  // the closing brace
    absl::StrAppend(&text, ",\"first\":", *first, "}");
    return text;
  }

  Channel* channel_;
  std::atomic<int64_t> next_rid_{1};
};

// One `open`: an in-memory database and a Runner over the compiled App.
struct Deployment {
  // The test process's clock as its last call started (declared first: the Database and
  // the Runner read it until they are gone).
  std::unique_ptr<FakeClock> clock;
  std::unique_ptr<Database> db;
  std::unique_ptr<Runner> runner;
  std::unique_ptr<JobExecutor> jobs;
};

// convex-test's transactionLimits names -> the Runner's limits. Absent: Convex's own.
absl::Status ReadLimits(const json::value* given, Limits* limits) {
  if (given == nullptr || !given->is_object()) return absl::OkStatus();
  const std::pair<const char*, size_t Limits::*> names[] = {
      {"bytesRead", &Limits::max_bytes_read},
      {"bytesWritten", &Limits::max_bytes_written},
      {"documentsRead", &Limits::max_documents_read},
      {"documentsWritten", &Limits::max_documents_written},
      {"databaseQueries", &Limits::max_read_intervals},
      {"functionsScheduled", &Limits::max_scheduled},
      {"scheduledFunctionArgsBytes", &Limits::max_scheduled_args_bytes},
  };
  for (const auto& [key, value] : given->get_object()) {
    auto it = std::find_if(std::begin(names), std::end(names), [&](const auto& n) { return key == n.first; });
    if (it == std::end(names)) {
      return absl::InvalidArgumentError(absl::StrCat("transactionLimits: unknown limit \"", AV(std::string_view(key)), "\""));
    }
    if (!value.is_number() || value.to_number<double>() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("transactionLimits.", AV(std::string_view(key)), " must be a number >= 0"));
    }
    limits->*(it->second) = static_cast<size_t>(value.to_number<double>());
  }
  return absl::OkStatus();
}

class Engine {
 public:
  Engine(int in, int out)
      : channel_(in, out, [this] { StartThread(); }), invoker_(std::make_shared<RemoteInvoker>(&channel_)) {}

  absl::Status Serve() {
    StartThread();
    std::unique_lock<std::mutex> lock(threads_mu_);
    threads_cv_.wait(lock, [&] { return stopped_; });
    std::vector<std::thread> threads = std::move(threads_);
    lock.unlock();
    for (std::thread& t : threads) t.join();
    // Threads started while joining (none once the channel closed, but be sure).
    lock.lock();
    for (std::thread& t : threads_) t.join();
    return absl::OkStatus();
  }

 private:
  void StartThread() {
    std::lock_guard<std::mutex> lock(threads_mu_);
    if (stopped_) return;
    threads_.emplace_back([this] { ThreadMain(); });
  }

  void ThreadMain() {
    ThreadState state;
    tls = &state;
    json::object frame;
    while (channel_.Next(nullptr, &frame)) {
      absl::Status handled = Handle(frame);
      if (!handled.ok()) break;
      state.js_error_rid = 0;
      state.js_error_message.clear();
      state.last_ok_rid = 0;
    }
    tls = nullptr;
    std::lock_guard<std::mutex> lock(threads_mu_);
    stopped_ = true;
    threads_cv_.notify_all();
  }

  absl::Status Handle(const json::object& frame) {
    std::string t = StringOf(frame, "t");
    if (t == "open") return Open(frame);
    if (t == "close") {
      std::shared_ptr<Deployment> gone;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = deployments_.find(IntOf(frame, "db"));
        if (it != deployments_.end()) {
          gone = std::move(it->second);
          deployments_.erase(it);
        }
      }
      return channel_.Send(json::object{{"t", "closed"}});
    }
    if (t == "call" || t == "run" || t == "job" || t == "fetch") return Call(t, frame);
    return channel_.Send(json::object{
        {"t", "result"}, {"err", json::object{{"message", absl::StrCat("test engine: unexpected request \"", t, "\"")}}}});
  }

  absl::Status Open(const json::object& frame) {
    auto fail = [&](const absl::Status& s) {
      return channel_.Send(json::object{{"t", "error"}, {"message", std::string(s.message())}});
    };
    const json::value* analysis = frame.if_contains("analysis");
    std::string analysis_json = analysis != nullptr ? json::serialize(*analysis) : "{}";
    std::optional<std::string> schema_json;
    if (const json::value* s = frame.if_contains("schema"); s != nullptr && s->is_string()) {
      schema_json = std::string(s->get_string());
    }
    std::string key = absl::StrCat(analysis_json, "\n", schema_json.value_or("null"));
    std::shared_ptr<const App> app;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = apps_.find(key);
      if (it != apps_.end()) app = it->second;
    }
    if (app == nullptr) {
      auto version = std::make_shared<CodeVersion>();
      version->id = "test";
      version->analysis_json = analysis_json;
      version->schema_json = schema_json;
      if (absl::Status s = Compile(*version); !s.ok()) return fail(s);
      absl::StatusOr<std::shared_ptr<const App>> merged = MergeApp(empty_app_, version, invoker_);
      if (!merged.ok()) return fail(merged.status());
      app = *merged;
      std::lock_guard<std::mutex> lock(mu_);
      apps_.emplace(key, app);
    }
    auto deployment = std::make_shared<Deployment>();
    int64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = next_db_++;
    }
    deployment->clock = std::make_unique<FakeClock>(SystemClock()->NowNanos());
    DatabaseOptions options;
    options.path = absl::StrCat("/convexlite-test/", id);
    options.durability = Durability::kMemory;
    options.clock = deployment->clock.get();
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(options);
    if (!db.ok()) return fail(db.status());
    deployment->db = *std::move(db);
    if (absl::Status s = ApplySchema(*deployment->db, app->schema()); !s.ok()) return fail(s);
    RunnerOptions runner_options;
    runner_options.clock = deployment->clock.get();
    runner_options.occ_wait = [this](absl::Duration) { invoker_->Backoff(); };
    if (absl::Status s = ReadLimits(frame.if_contains("limits"), &runner_options.limits); !s.ok()) return fail(s);
    deployment->runner = std::make_unique<Runner>(app, deployment->db.get(), std::move(runner_options));
    deployment->jobs = std::make_unique<JobExecutor>(deployment->runner.get());
    if (absl::Status s = deployment->jobs->Init(); !s.ok()) return fail(s);
    {
      std::lock_guard<std::mutex> lock(mu_);
      deployments_.emplace(id, std::move(deployment));
    }
    return channel_.Send(json::object{{"t", "opened"}, {"db", id}});
  }

  // call: a function by path; run: t.run's handler (`id`) as a mutation; job: a scheduled
  // job (`id`) if still pending; fetch: an HTTP action request {method, url, path, headers}.
  absl::Status Call(const std::string& kind, const json::object& frame) {
    auto fail = [&](std::string_view message, const std::optional<Value>& data = std::nullopt) {
      json::object err = ErrorJson(message, data);
      NameJsError(*tls, message, &err);
      return channel_.Send(json::object{{"t", "result"}, {"err", err}});
    };
    std::shared_ptr<Deployment> deployment;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = deployments_.find(IntOf(frame, "db"));
      if (it != deployments_.end()) deployment = it->second;
    }
    if (deployment == nullptr) return fail("test engine: this convexTest() instance is closed");
    if (const json::value* now = frame.if_contains("now"); now != nullptr && now->is_number()) {
      double ms = now->to_number<double>();
      if (ms > 0 && ms < 1e15) deployment->clock->SetNanos(static_cast<uint64_t>(ms * 1e6));
    }
    if (kind == "job") {
      absl::StatusOr<bool> ran = deployment->jobs->RunJob(StringOf(frame, "id"));
      if (!ran.ok()) return fail(std::string(ran.status().message()));
      return channel_.Send(json::object{{"t", "result"}, {"ok", *ran ? "true" : "false"}});
    }
    CallOptions options;
    options.allow_internal = true;  // convex-test calls internal functions too
    if (const json::value* identity = frame.if_contains("identity"); identity != nullptr && identity->is_string()) {
      absl::StatusOr<Value> parsed = ParseConvexJson(identity->get_string());
      if (!parsed.ok() || !parsed->is_object()) return fail("test engine: the identity is not a Convex JSON object");
      options.identity = parsed->object();
    }
    if (kind == "fetch") {
      HttpActionRequest request;
      request.method = StringOf(frame, "method");
      request.url = StringOf(frame, "url");
      request.path = StringOf(frame, "path");
      if (const json::value* hs = frame.if_contains("headers"); hs != nullptr && hs->is_object()) {
        for (const auto& [name, value] : hs->get_object()) {
          if (value.is_string()) request.headers[std::string(name)] = std::string(value.get_string());
        }
      }
      HttpActionResponse response = deployment->runner->RunHttpAction(request, options.identity);
      json::array headers;
      for (const auto& [name, value] : response.headers) headers.push_back(json::array{json::value(name), json::value(value)});
      json::array cookies;
      for (const std::string& c : response.set_cookies) cookies.push_back(json::value(c));
      return channel_.Send(json::object{{"t", "result"},
                                        {"ok", json::serialize(json::object{{"status", response.status},
                                                                            {"headers", headers},
                                                                            {"setCookies", cookies},
                                                                            {"body", Base64Encode(response.body)}})}});
    }
    absl::StatusOr<FunctionResult> result;
    if (kind == "run") {
      std::string id = StringOf(frame, "id");
      result = deployment->runner->RunMutationHandler(
          "custom", [this, id](MutationCtx& ctx, const Object&) { return invoker_->Inline(ctx, id); }, options);
    } else {
      absl::StatusOr<Value> args = ParseConvexJson(StringOf(frame, "args"));
      if (!args.ok()) return fail(absl::StrCat("test engine: the arguments are not Convex JSON: ", args.status().message()));
      result = CallFunction(*deployment, frame, *args, options);
    }
    if (!result.ok()) return fail(std::string(result.status().message()), ConvexErrorData(result.status()));
    if (result->error) return fail(result->error->message, result->error->data);
    if (tls->last_ok_rid != 0) return channel_.Send(json::object{{"t", "result"}, {"same", tls->last_ok_rid}});
    return channel_.Send(json::object{{"t", "result"}, {"ok", ToConvexJson(result->value.value_or(Value::Null()))}});
  }

  absl::StatusOr<FunctionResult> CallFunction(Deployment& deployment, const json::object& frame, const Value& args,
                                              CallOptions& options) {
    std::string udf = StringOf(frame, "udf");
    if (udf == "query") options.expected_type = FunctionType::kQuery;
    if (udf == "mutation") options.expected_type = FunctionType::kMutation;
    if (udf == "action") options.expected_type = FunctionType::kAction;
    return deployment.runner->Run(StringOf(frame, "path"), args, options);
  }

  Channel channel_;
  std::shared_ptr<RemoteInvoker> invoker_;
  App empty_app_;
  std::mutex mu_;  // guards the four below
  std::map<std::string, std::shared_ptr<const App>> apps_;
  std::map<int64_t, std::shared_ptr<Deployment>> deployments_;
  int64_t next_db_ = 1;
  std::mutex threads_mu_;  // guards the three below
  std::condition_variable threads_cv_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace

absl::Status ServeTestEngine(int requests_fd, int replies_fd) {
  Engine engine(requests_fd, replies_fd);
  return engine.Serve();
}

}  // namespace cvx::js
