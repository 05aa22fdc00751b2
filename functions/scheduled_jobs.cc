#include "functions/scheduled_jobs.h"

#include "functions/crons.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/function_path.h"

namespace cvx {
namespace {

constexpr char kByState[] = "by_state";
constexpr int kMaxRounds = 10000;

double NowMs(Runner* runner) {
  return static_cast<double>(runner->clock()->NowNanos() / 1000) / 1000.0;
}

Value State(const char* kind) { return Value::FromObject({{"kind", Value::String(kind)}}); }

std::string KindOf(const Document& doc) {
  auto it = doc.fields.find("state");
  if (it == doc.fields.end()) return "";
  const Value* kind = it->second.Find("kind");
  return kind && kind->is_string() ? kind->string() : "";
}

absl::StatusOr<std::vector<Document>> JobsInState(Transaction& txn, const char* kind,
                                                  std::optional<double> due_by, size_t limit) {
  ScanRequest req;
  req.table = kScheduledFunctionsTable;
  req.index = kByState;
  req.range.eq.push_back(Value::String(kind));
  if (due_by) req.range.upper = IndexRange::Bound{Value::Float64(*due_by), true};
  req.limit = limit;
  CVX_ASSIGN_OR_RETURN(ScanResult r, txn.Scan(req));
  return std::move(r.documents);
}

}  // namespace

absl::Status JobExecutor::Init() {
  Database& db = runner_->db();
  CVX_RETURN_IF_ERROR(db.SetIndexes(kScheduledFunctionsTable,
                                    {{kByState, {"state.kind", "scheduledTime"}}}));
  auto txn = db.Begin();
  CVX_ASSIGN_OR_RETURN(std::vector<Document> running,
                       JobsInState(*txn, "inProgress", std::nullopt, SIZE_MAX));
  for (const Document& job : running) {
    CVX_RETURN_IF_ERROR(
        Transition(job.id.Encode(), {"inProgress"},
                   Value::FromObject({{"kind", Value::String("failed")},
                                      {"error", Value::String("Transient error while executing "
                                                              "action: the server stopped")}}),
                   true)
            .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<double>> JobExecutor::NextDue() {
  auto txn = runner_->db().Begin();
  CVX_ASSIGN_OR_RETURN(std::vector<Document> next, JobsInState(*txn, "pending", std::nullopt, 1));
  if (next.empty()) return std::optional<double>();
  return std::optional<double>(next[0].fields.at("scheduledTime").float64());
}

absl::StatusOr<int> JobExecutor::RunDue() {
  int ran = 0;
  // Crons due now become jobs first (functions/crons.h), so they run in this same pass.
  CVX_RETURN_IF_ERROR(RunDueCrons(*runner_, NowMs(runner_)).status());
  for (int round = 0; round < kMaxRounds; ++round) {
    auto txn = runner_->db().Begin();
    CVX_ASSIGN_OR_RETURN(std::vector<Document> due,
                         JobsInState(*txn, "pending", NowMs(runner_), 16));
    if (due.empty()) return ran;
    for (const Document& job : due) {
      CVX_RETURN_IF_ERROR(Execute(job.ToValue()));
      ++ran;
    }
  }
  return ran;
}

absl::StatusOr<bool> JobExecutor::Transition(const std::string& id,
                                             std::initializer_list<const char*> from, Value state,
                                             bool finished) {
  CVX_ASSIGN_OR_RETURN(DocumentId doc_id, DocumentId::Decode(id));
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto txn = runner_->db().Begin();
    CVX_ASSIGN_OR_RETURN(std::optional<Document> job, txn->Get(doc_id));
    if (!job) return false;
    std::string kind = KindOf(*job);
    bool allowed = false;
    for (const char* f : from) allowed |= kind == f;
    if (!allowed) return false;
    Object fields = job->fields;
    fields["state"] = state;
    if (finished) fields["completedTime"] = Value::Float64(NowMs(runner_));
    CVX_RETURN_IF_ERROR(txn->Replace(doc_id, std::move(fields)));
    absl::Status s = txn->Commit();
    if (s.ok()) return true;
    if (s.code() != absl::StatusCode::kAborted) return s;
  }
  return Aborted("OccConflict", "could not update a scheduled job: too much contention");
}

absl::StatusOr<bool> JobExecutor::RunJob(std::string_view id) {
  absl::StatusOr<DocumentId> doc_id = DocumentId::Decode(id);
  if (!doc_id.ok()) return false;
  auto txn = runner_->db().Begin();
  absl::StatusOr<std::optional<Document>> job = txn->Get(*doc_id);
  if (!job.ok()) return false;  // an id of another table
  if (!*job || KindOf(**job) != "pending") return false;
  CVX_RETURN_IF_ERROR(Execute((*job)->ToValue()));
  return true;
}

absl::Status JobExecutor::Execute(const Value& job) {
  const std::string id = job.Find("_id")->string();
  const Value* name = job.Find("name");
  const Value* args = job.Find("args");
  Value call_args = (args && args->is_array() && !args->array().empty()) ? args->array()[0]
                                                                          : Value::FromObject({});
  absl::StatusOr<std::string> path =
      name && name->is_string() ? CanonicalizeFunctionPath(name->string())
                                : absl::StatusOr<std::string>(absl::InvalidArgumentError("no name"));
  std::shared_ptr<const App> app = runner_->app();
  const RegisteredFunction* fn = path.ok() ? app->Find(*path) : nullptr;
  auto failed = [](std::string message) {
    return Value::FromObject(
        {{"kind", Value::String("failed")}, {"error", Value::String(std::move(message))}});
  };
  if (fn == nullptr || fn->type == FunctionType::kQuery) {
    return Transition(id, {"pending"},
                      failed(absl::StrCat("Could not find a mutation or action for '",
                                          name && name->is_string() ? name->string() : "", "'")),
                      true)
        .status();
  }
  CallOptions options;
  options.allow_internal = true;
  options.expected_type = fn->type;
  options.request.scheduled_function_id = std::string(id);
  if (fn->type == FunctionType::kMutation) {
    CVX_ASSIGN_OR_RETURN(DocumentId doc_id, DocumentId::Decode(id));
    options.before_commit = [&](Transaction& txn, const Value&) -> absl::Status {
      CVX_ASSIGN_OR_RETURN(std::optional<Document> current, txn.Get(doc_id));
      if (!current || KindOf(*current) != "pending") {
        return MakeError(absl::StatusCode::kFailedPrecondition, "JobNotPending",
                         "the job already ran or was canceled");
      }
      Object fields = current->fields;
      fields["state"] = State("success");
      fields["completedTime"] = Value::Float64(NowMs(runner_));
      return txn.Replace(doc_id, std::move(fields));
    };
    absl::StatusOr<FunctionResult> result = runner_->Run(*path, call_args, options);
    if (!result.ok()) {
      if (ErrorTag(result.status()) == "JobNotPending") return absl::OkStatus();
      return Transition(id, {"pending"}, failed(std::string(result.status().message())), true)
          .status();
    }
    if (!result->ok()) {
      return Transition(id, {"pending"}, failed(result->error->message), true).status();
    }
    return absl::OkStatus();
  }
  // Action: at most once.
  CVX_ASSIGN_OR_RETURN(bool claimed, Transition(id, {"pending"}, State("inProgress"), false));
  if (!claimed) return absl::OkStatus();
  absl::StatusOr<FunctionResult> result = runner_->Run(*path, call_args, options);
  Value final_state = State("success");
  if (!result.ok()) final_state = failed(std::string(result.status().message()));
  else if (!result->ok()) final_state = failed(result->error->message);
  return Transition(id, {"inProgress"}, std::move(final_state), true).status();
}

void JobExecutor::Start(absl::Duration poll) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, poll] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      absl::StatusOr<int> ran = RunDue();
      if (!ran.ok()) {
        std::fprintf(stderr, "convexlite: scheduler: %s\n", ran.status().ToString().c_str());
      }
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(poll), [this] { return stop_; });
    }
  });
}

void JobExecutor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cvx
