#include "http/sync_session.h"

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/post.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "openssl/crypto.h"

namespace cvx {
namespace {

constexpr char kByRequest[] = "by_request";

// {"identity":N,"querySet":N,"ts":"<base64>"}: the text ToConvexJson gives the
// StateVersion object, built directly since it is written twice per frame.
std::string VersionJson(uint32_t query_set, uint32_t identity, uint64_t ts) {
  return absl::StrCat("{\"identity\":", identity, ",\"querySet\":", query_set, ",\"ts\":\"",
                      EncodeTs(ts), "\"}");
}

Value LogLines(const std::vector<std::string>& lines) {
  Array out;
  for (const std::string& l : lines) out.push_back(Value::String(l));
  return Value::FromArray(std::move(out));
}

// Convex's text for a failed call, naming the request id the call ran with
// (ctx.meta.getRequestMetadata()).
std::string ErrorText(const std::string& message, const std::string& request_id) {
  return absl::StrCat("[Request ID: ", request_id, "] Server Error\n", message);
}

const Value* Field(const Value& v, const char* name) { return v.Find(name); }

std::optional<uint32_t> U32(const Value& message, const char* name) {
  const Value* v = message.Find(name);
  if (v == nullptr || !v->is_float64() || v->float64() < 0 || v->float64() > 4294967295.0 ||
      v->float64() != static_cast<double>(static_cast<uint32_t>(v->float64()))) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v->float64());
}

Value FirstArg(const Value& message) {
  const Value* args = message.Find("args");
  if (args && args->is_array() && !args->array().empty()) return args->array()[0];
  if (args && args->is_object()) return *args;
  return Value::FromObject({});
}

// The stored result of (session, request), or nullopt.
absl::StatusOr<std::optional<Document>> FindSessionRequest(Transaction& txn,
                                                           const std::string& session,
                                                           uint32_t request) {
  ScanRequest req;
  req.table = kSessionRequestsTable;
  req.index = kByRequest;
  req.range.eq = {Value::String(session), Value::Float64(request)};
  req.limit = 1;
  CVX_ASSIGN_OR_RETURN(ScanResult r, txn.Scan(req));
  if (r.documents.empty()) return std::optional<Document>();
  return std::optional<Document>(std::move(r.documents[0]));
}

}  // namespace

SyncSession::SyncSession(Runner* runner, SyncHub* hub, boost::asio::thread_pool* pool,
                         TokenVerifier verify_token, std::string admin_key, SendFn send,
                         CloseFn close)
    : runner_(runner), hub_(hub), pool_(pool), strand_(boost::asio::make_strand(pool->get_executor())),
      verify_token_(std::move(verify_token)), admin_key_(std::move(admin_key)),
      send_(std::move(send)), close_(std::move(close)) {}

template <typename F>
void SyncSession::OnStrand(F&& f) {
  boost::asio::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
    if (!self->closed_) f();
  });
}

void SyncSession::SetRequestOrigin(const HttpRequest& upgrade) {
  if (!upgrade.remote_addr.empty()) origin_.ip = upgrade.remote_addr;
  if (std::string agent = upgrade.Header("user-agent"); !agent.empty()) origin_.user_agent = agent;
}

void SyncSession::OnMessage(std::string text) {
  OnStrand([this, text = std::move(text)] {
    absl::StatusOr<Value> message = ParseConvexJson(text);
    if (!message.ok() || !message->is_object()) {
      return Fail(1008, absl::StrCat("Invalid message: ", message.ok() ? "not an object"
                                                                       : message.status().message()));
    }
    Handle(*message);
  });
}

void SyncSession::OnCommit(const std::shared_ptr<const CommitInfo>& commit) {
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    pending_commits_.push_back(commit);
    if (refresh_scheduled_) return;
    refresh_scheduled_ = true;
  }
  OnStrand([this] { Transition(false, 0); });
}

void SyncSession::OnCodeChange() {
  OnStrand([this] {
    for (auto& [query_id, sub] : queries_) sub.fresh = true;
    Transition(false, 0);
  });
}

void SyncSession::OnClosed() {
  OnStrand([this] { closed_ = true; });
  hub_->Remove(this);
}

void SyncSession::UpdateCacheKey(Subscription& sub) const {
  sub.cache_key = absl::StrCat(sub.key_base, "\n", identity_key_, "\n", admin_ ? "admin" : "", "\n",
                               sub.journal.value_or(""));
}

void SyncSession::Send(const Value& message) {
  if (!closed_) send_(ToConvexJson(message));
}

void SyncSession::Fail(int code, const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  close_(code, reason);
}

void SyncSession::Handle(const Value& message) {
  const Value* type = Field(message, "type");
  if (type == nullptr || !type->is_string()) return Fail(1008, "Message without a type");
  const std::string& t = type->string();
  if (t == "Connect") return HandleConnect(message);
  if (t == "ModifyQuerySet") return HandleModifyQuerySet(message);
  if (t == "Mutation") return HandleMutation(message);
  if (t == "Action") return HandleAction(message);
  if (t == "Authenticate") return HandleAuthenticate(message);
  if (t == "Event") return;
  Fail(1008, absl::StrCat("Unknown message type: ", t));
}

void SyncSession::HandleConnect(const Value& message) {
  const Value* id = Field(message, "sessionId");
  if (id == nullptr || !id->is_string() || id->string().empty() || id->string().size() > 128) {
    return Fail(1008, "Connect needs a sessionId");
  }
  session_id_ = id->string();
}

void SyncSession::HandleModifyQuerySet(const Value& message) {
  std::optional<uint32_t> base = U32(message, "baseVersion");
  std::optional<uint32_t> next = U32(message, "newVersion");
  const Value* mods = Field(message, "modifications");
  if (!base || !next || mods == nullptr || !mods->is_array()) {
    return Fail(1008, "Malformed ModifyQuerySet");
  }
  if (*base != query_set_version_) {
    return Fail(1008, absl::StrCat("BaseVersionMismatch: expected ", query_set_version_, ", got ",
                                   *base));
  }
  for (const Value& mod : mods->array()) {
    const Value* kind = mod.Find("type");
    std::optional<uint32_t> query_id = U32(mod, "queryId");
    if (kind == nullptr || !kind->is_string() || !query_id) return Fail(1008, "Malformed modification");
    if (kind->string() == "Add") {
      const Value* path = mod.Find("udfPath");
      if (path == nullptr || !path->is_string()) return Fail(1008, "Add needs a udfPath");
      if (queries_.count(*query_id)) return Fail(1008, absl::StrCat("Duplicate query id ", *query_id));
      Subscription sub;
      sub.udf_path = path->string();
      sub.args = FirstArg(mod);
      sub.key_base = absl::StrCat(sub.udf_path, "\n", ToConvexJson(sub.args));
      const Value* journal = mod.Find("journal");
      if (journal && journal->is_string()) sub.journal = journal->string();
      UpdateCacheKey(sub);
      removed_.erase(*query_id);
      queries_.emplace(*query_id, std::move(sub));
    } else if (kind->string() == "Remove") {
      if (!queries_.erase(*query_id)) return Fail(1008, absl::StrCat("Unknown query id ", *query_id));
      removed_.insert(*query_id);
    } else {
      return Fail(1008, absl::StrCat("Unknown modification type: ", kind->string()));
    }
  }
  query_set_version_ = *next;
  Transition(true, 0);
}

void SyncSession::HandleMutation(const Value& message) {
  std::optional<uint32_t> request_id = U32(message, "requestId");
  const Value* path = Field(message, "udfPath");
  if (!request_id || path == nullptr || !path->is_string()) return Fail(1008, "Malformed Mutation");
  Database& db = runner_->db();
  auto respond_stored = [&](const Document& row) {
    uint64_t ts = db.LatestTs();
    auto ts_field = row.fields.find("ts");
    uint64_t stored_ts = 0;
    if (ts_field != row.fields.end() && ts_field->second.is_string() &&
        DecodeTs(ts_field->second.string(), &stored_ts)) {
      ts = stored_ts;
    }
    auto logs = row.fields.find("logLines");
    Send(Value::FromObject({{"type", Value::String("MutationResponse")},
                            {"requestId", Value::Float64(*request_id)},
                            {"success", Value::Boolean(true)},
                            {"result", row.fields.at("result")},
                            {"ts", Value::String(EncodeTs(ts))},
                            {"logLines", logs != row.fields.end() ? logs->second : Value::FromArray({})}}));
    Transition(true, ts);
  };
  if (!session_id_.empty()) {
    auto txn = db.Begin();
    absl::StatusOr<std::optional<Document>> stored = FindSessionRequest(*txn, session_id_, *request_id);
    if (stored.ok() && stored->has_value()) return respond_stored(**stored);
  }
  CallOptions options;
  options.identity = identity_;
  options.request = origin_;
  options.request.request_id = RequestMetadata::NewRequestId();
  options.allow_internal = admin_;
  options.expected_type = FunctionType::kMutation;
  std::optional<DocumentId> row_id;
  if (!session_id_.empty()) {
    options.before_commit = [&](Transaction& txn, const Value& result) -> absl::Status {
      CVX_ASSIGN_OR_RETURN(std::optional<Document> existing,
                           FindSessionRequest(txn, session_id_, *request_id));
      if (existing) {
        return MakeError(absl::StatusCode::kAlreadyExists, "DuplicateRequest",
                         "this request already ran");
      }
      CVX_ASSIGN_OR_RETURN(DocumentId id,
                           txn.Insert(kSessionRequestsTable,
                                      {{"sessionId", Value::String(session_id_)},
                                       {"requestId", Value::Float64(*request_id)},
                                       {"result", result}}));
      row_id = id;
      return absl::OkStatus();
    };
  }
  absl::StatusOr<FunctionResult> result = runner_->Run(path->string(), FirstArg(message), options);
  if (!result.ok() && ErrorTag(result.status()) == "DuplicateRequest") {
    auto txn = db.Begin();
    absl::StatusOr<std::optional<Document>> stored = FindSessionRequest(*txn, session_id_, *request_id);
    if (stored.ok() && stored->has_value()) return respond_stored(**stored);
  }
  if (!result.ok() || !result->ok()) {
    Object response{{"type", Value::String("MutationResponse")},
                    {"requestId", Value::Float64(*request_id)},
                    {"success", Value::Boolean(false)},
                    {"ts", Value::Null()},
                    {"logLines", LogLines(result.ok() ? result->log_lines : std::vector<std::string>())}};
    if (result.ok()) {
      response["result"] = Value::String(ErrorText(result->error->message, options.request.request_id));
      if (result->error->data) response["errorData"] = *result->error->data;
    } else {
      response["result"] = Value::String(ErrorText(std::string(result.status().message()), options.request.request_id));
    }
    return Send(Value::FromObject(std::move(response)));
  }
  // Record the commit ts and log lines beside the stored result (best effort: a replay
  // without them answers with the then-latest ts, which still resolves the client).
  if (row_id) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto txn = db.Begin();
      absl::StatusOr<std::optional<Document>> row = txn->Get(*row_id);
      if (!row.ok() || !row->has_value()) break;
      Object fields = (*row)->fields;
      fields["ts"] = Value::String(EncodeTs(result->ts));
      fields["logLines"] = LogLines(result->log_lines);
      if (!txn->Replace(*row_id, std::move(fields)).ok()) break;
      absl::Status s = txn->Commit();
      if (s.code() != absl::StatusCode::kAborted) break;
    }
  }
  Send(Value::FromObject({{"type", Value::String("MutationResponse")},
                          {"requestId", Value::Float64(*request_id)},
                          {"success", Value::Boolean(true)},
                          {"result", *result->value},
                          {"ts", Value::String(EncodeTs(result->ts))},
                          {"logLines", LogLines(result->log_lines)}}));
  Transition(true, result->ts);
}

void SyncSession::HandleAction(const Value& message) {
  std::optional<uint32_t> request_id = U32(message, "requestId");
  const Value* path = Field(message, "udfPath");
  if (!request_id || path == nullptr || !path->is_string()) return Fail(1008, "Malformed Action");
  CallOptions options;
  options.identity = identity_;
  options.request = origin_;
  options.request.request_id = RequestMetadata::NewRequestId();
  options.allow_internal = admin_;
  options.expected_type = FunctionType::kAction;
  boost::asio::post(*pool_, [self = shared_from_this(), udf = path->string(), args = FirstArg(message),
                             options, id = *request_id]() {
    absl::StatusOr<FunctionResult> result = self->runner_->Run(udf, args, options);
    self->OnStrand([self, result = std::move(result), id, request = options.request.request_id]() {
      Object response{{"type", Value::String("ActionResponse")},
                      {"requestId", Value::Float64(id)}};
      if (result.ok() && result->ok()) {
        response["success"] = Value::Boolean(true);
        response["result"] = *result->value;
        response["logLines"] = LogLines(result->log_lines);
      } else {
        response["success"] = Value::Boolean(false);
        response["logLines"] = LogLines(result.ok() ? result->log_lines : std::vector<std::string>());
        if (result.ok()) {
          response["result"] = Value::String(ErrorText(result->error->message, request));
          if (result->error->data) response["errorData"] = *result->error->data;
        } else {
          response["result"] = Value::String(ErrorText(std::string(result.status().message()), request));
        }
      }
      self->Send(Value::FromObject(std::move(response)));
    });
  });
}

void SyncSession::HandleAuthenticate(const Value& message) {
  std::optional<uint32_t> base = U32(message, "baseVersion");
  const Value* token_type = Field(message, "tokenType");
  if (!base || token_type == nullptr || !token_type->is_string()) {
    return Fail(1008, "Malformed Authenticate");
  }
  auto auth_error = [&](const std::string& error) {
    Send(Value::FromObject({{"type", Value::String("AuthError")},
                            {"error", Value::String(error)},
                            {"baseVersion", Value::Float64(sent_identity_)},
                            {"authUpdateAttempted", Value::Boolean(true)}}));
    Fail(1000, "");
  };
  if (*base != identity_version_) {
    return auth_error(absl::StrCat("BaseVersionMismatch: expected identity version ",
                                   identity_version_, ", got ", *base));
  }
  const Value* value = Field(message, "value");
  const std::string& kind = token_type->string();
  std::optional<UserIdentity> identity;
  bool admin = false;
  if (kind == "User") {
    if (value == nullptr || !value->is_string()) return auth_error("Authenticate needs a token");
    if (!verify_token_) return auth_error("No auth provider found matching the given token");
    absl::StatusOr<UserIdentity> verified = verify_token_(value->string());
    if (!verified.ok()) return auth_error(std::string(verified.status().message()));
    identity = std::move(*verified);
  } else if (kind == "Admin") {
    if (value == nullptr || !value->is_string() || admin_key_.empty() ||
        value->string().size() != admin_key_.size() ||
        CRYPTO_memcmp(value->string().data(), admin_key_.data(), admin_key_.size()) != 0) {
      return auth_error("The provided admin key was invalid for this instance");
    }
    admin = true;
    const Value* acting = Field(message, "impersonating");
    if (acting && acting->is_object()) identity = acting->object();
  } else if (kind != "None") {
    return auth_error(absl::StrCat("Unknown token type: ", kind));
  }
  identity_ = std::move(identity);
  origin_.auth_token = kind == "User" ? std::optional<std::string>(value->string()) : std::nullopt;
  identity_key_ = identity_ ? ToConvexJson(Value::FromObject(*identity_)) : "";
  admin_ = admin;
  identity_version_ = *base + 1;
  identity_changed_ = true;
  Transition(true, 0);
}

void SyncSession::Transition(bool force, uint64_t min_ts) {
  std::vector<std::shared_ptr<const CommitInfo>> commits;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    commits.swap(pending_commits_);
    refresh_scheduled_ = false;
  }
  auto written = [&commits](const Subscription& sub) {
    for (const auto& commit : commits) {
      if (ReadSetIntersects(sub.read_set, commit->written_keys)) return true;
    }
    return false;
  };
  if (identity_changed_) {
    for (auto& [query_id, sub] : queries_) UpdateCacheKey(sub);
  }
  std::vector<std::string> modifications;
  uint64_t ts = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    modifications.clear();
    ts = std::max({runner_->db().LatestTs(), sent_ts_, min_ts});
    bool retry = false;
    for (auto& [query_id, sub] : queries_) {
      bool needed = sub.fresh || identity_changed_ || written(sub);
      if (!needed) continue;
      // Results are shared per code version: a push must not serve a result of the old code.
      std::string key = absl::StrCat(sub.cache_key, "\n#", hub_->code_generation());
      std::shared_ptr<const SyncHub::CachedQuery> entry = hub_->Cached(ts, key);
      if (entry == nullptr) {
        CallOptions options;
        options.identity = identity_;
        options.allow_internal = admin_;
        options.expected_type = FunctionType::kQuery;
        options.snapshot_ts = ts;
        options.journal = sub.journal;
        auto fresh = std::make_shared<SyncHub::CachedQuery>();
        fresh->result = runner_->Run(sub.udf_path, sub.args, options);
        const absl::StatusOr<FunctionResult>& result = fresh->result;
        if (!result.ok() && ErrorTag(result.status()) == "SnapshotTooOld") {
          retry = true;
          break;
        }
        Object fields;
        std::string fingerprint;
        if (result.ok() && result->ok()) {
          fields["type"] = Value::String("QueryUpdated");
          fields["value"] = *result->value;
        } else {
          fields["type"] = Value::String("QueryFailed");
          std::string text = result.ok() ? result->error->message : std::string(result.status().message());
          fields["errorMessage"] = Value::String(ErrorText(text, RequestMetadata::NewRequestId()));
          if (result.ok() && result->error->data) fields["errorData"] = *result->error->data;
          fingerprint = absl::StrCat("error:", text);
        }
        fields["logLines"] = LogLines(result.ok() ? result->log_lines : std::vector<std::string>());
        std::optional<std::string> journal = result.ok() ? result->journal : std::nullopt;
        fields["journal"] = journal ? Value::String(*journal) : Value::Null();
        std::string json = ToConvexJson(Value::FromObject(std::move(fields)));
        // The error text carries a fresh request id; hash the stable parts instead.
        fresh->hash = fingerprint.empty() ? absl::HashOf(json) : absl::HashOf(fingerprint);
        fresh->fields_json = json.substr(1, json.size() - 2);  // drop the braces
        entry = fresh;
        hub_->Cache(ts, key, entry);
      }
      if (entry->result.ok()) {
        sub.read_set = entry->result->read_set;
        if (entry->result->journal && entry->result->journal != sub.journal) {
          sub.journal = entry->result->journal;
          UpdateCacheKey(sub);
        }
      }
      sub.fresh = false;
      if (sub.last_hash != entry->hash) {
        sub.last_hash = entry->hash;
        modifications.push_back(absl::StrCat("{\"queryId\":", query_id, ",", entry->fields_json, "}"));
      }
    }
    if (!retry) break;
  }
  for (uint32_t id : removed_) {
    modifications.push_back(absl::StrCat("{\"queryId\":", id, ",\"type\":\"QueryRemoved\"}"));
  }
  removed_.clear();
  identity_changed_ = false;
  bool versions_changed = query_set_version_ != sent_query_set_ || identity_version_ != sent_identity_;
  if (!force && modifications.empty() && !versions_changed) return;
  if (!closed_) {
    send_(absl::StrCat("{\"type\":\"Transition\",\"startVersion\":",
                       VersionJson(sent_query_set_, sent_identity_, sent_ts_),
                       ",\"endVersion\":", VersionJson(query_set_version_, identity_version_, ts),
                       ",\"modifications\":[", absl::StrJoin(modifications, ","), "]}"));
  }
  sent_query_set_ = query_set_version_;
  sent_identity_ = identity_version_;
  sent_ts_ = ts;
}

absl::Status SyncHub::Prepare(Database& db) {
  return db.SetIndexes(kSessionRequestsTable, {{kByRequest, {"sessionId", "requestId"}}});
}

absl::StatusOr<size_t> SyncHub::ExpireSessionRequests(Database& db, absl::Duration max_age, size_t batch) {
  const double cutoff_ms = absl::ToDoubleMilliseconds(absl::Now() - absl::UnixEpoch() - max_age);
  size_t deleted = 0;
  CVX_RETURN_IF_ERROR(CommitWithRetries(db, [&](Transaction& txn) -> absl::Status {
    deleted = 0;
    ScanRequest old;
    old.table = kSessionRequestsTable;
    old.index = "by_creation_time";
    old.range.upper = IndexRange::Bound{Value::Float64(cutoff_ms), /*inclusive=*/false};
    old.limit = batch;
    CVX_ASSIGN_OR_RETURN(ScanResult rows, txn.Scan(old));
    for (const Document& d : rows.documents) CVX_RETURN_IF_ERROR(txn.Delete(d.id));
    deleted = rows.documents.size();
    return absl::OkStatus();
  }, "expire session requests"));
  return deleted;
}

SyncHub::SyncHub(Database* db) : db_(db) {
  listener_ = db_->AddCommitListener([this](const CommitInfo& commit) {
    auto shared = std::make_shared<const CommitInfo>(commit);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [ptr, session] : sessions_) session->OnCommit(shared);
  });
}

SyncHub::~SyncHub() { db_->RemoveCommitListener(listener_); }

std::shared_ptr<const SyncHub::CachedQuery> SyncHub::Cached(uint64_t ts, const std::string& key) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (ts != cache_ts_) return nullptr;
  auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : it->second;
}

void SyncHub::Cache(uint64_t ts, const std::string& key, std::shared_ptr<const CachedQuery> entry) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (ts < cache_ts_) return;
  if (ts > cache_ts_) {
    cache_.clear();
    cache_ts_ = ts;
  }
  if (cache_.size() < 10000) cache_.emplace(key, std::move(entry));
}

void SyncHub::Add(const std::shared_ptr<SyncSession>& session) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[session.get()] = session;
}

void SyncHub::Remove(const SyncSession* session) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(session);
}

void SyncHub::CodeChanged() {
  code_generation_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, session] : sessions_) session->OnCodeChange();
}

}  // namespace cvx
