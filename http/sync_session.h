// File: http/sync_session.h
//
// Convex's WebSocket sync protocol (convex-protocol.md §6) for one socket, independent of
// the transport: the server hands it each text frame (OnMessage) and gives it callbacks to
// send frames and to close. All of a session's work runs in order on its own strand over
// the worker pool (never on an I/O thread); actions run concurrently beside it.
//
// Client -> server: Connect, ModifyQuerySet, Mutation, Action, Authenticate, Event.
// Server -> client: Transition (chained versions; every result in one Transition computed
// at one ts; unchanged results not re-sent), MutationResponse (then a Transition reaching
// its ts), ActionResponse, AuthError (then close), Ping.
//
// Reactivity: the SyncHub feeds every commit's written keys to every session; a session
// re-runs the queries whose last read set intersects them and sends one Transition.
//
// Exactly-once mutations: (sessionId, requestId) and the result are stored in
// `_session_requests` inside the mutation's own transaction; a resend (after a reconnect
// or a restart) returns the stored result and ts without running again.

#ifndef CVX_HTTP_SYNC_SESSION_H_
#define CVX_HTTP_SYNC_SESSION_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/asio/strand.hpp"
#include "boost/asio/thread_pool.hpp"
#include "engine/database.h"
#include "functions/runner.h"
#include "http/api.h"

namespace cvx {

inline constexpr char kSessionRequestsTable[] = "_session_requests";
inline constexpr absl::Duration kSessionRequestRetention = absl::Hours(24 * 14);

class SyncHub;

class SyncSession : public std::enable_shared_from_this<SyncSession> {
 public:
  using SendFn = std::function<void(std::string frame)>;
  using CloseFn = std::function<void(int code, std::string reason)>;

  SyncSession(Runner* runner, SyncHub* hub, boost::asio::thread_pool* pool,
              TokenVerifier verify_token, std::string admin_key, SendFn send, CloseFn close);

  // The connection's peer address and User-Agent, reported to its mutations and actions
  // (ctx.meta.getRequestMetadata()). Call before the first message.
  void SetRequestOrigin(const HttpRequest& upgrade);

  // Called by the transport for each text frame, in order.
  void OnMessage(std::string text);
  // Called by the hub after each commit (quick: records it and schedules one Transition).
  void OnCommit(const std::shared_ptr<const CommitInfo>& commit);
  // Called by the transport when the socket is gone.
  void OnClosed();
  // Called by the hub when the served code changed (a push): every query runs again.
  void OnCodeChange();

 private:
  struct Subscription {
    std::string udf_path;
    Value args;
    std::string key_base;  // udf path and encoded args
    std::string cache_key;  // key_base + identity + journal: the hub's result-cache key
    std::optional<std::string> journal;
    std::vector<std::pair<std::string, std::string>> read_set;
    std::optional<size_t> last_hash;  // of the last result sent
    bool fresh = true;                // not yet computed
  };

  void Handle(const Value& message);
  void HandleConnect(const Value& message);
  void HandleModifyQuerySet(const Value& message);
  void HandleMutation(const Value& message);
  void HandleAction(const Value& message);
  void HandleAuthenticate(const Value& message);
  // Recomputes what changed and sends a Transition (always when `force`).
  void Transition(bool force, uint64_t min_ts);
  void Fail(int code, const std::string& reason);
  // Recomputes sub.cache_key from the subscription, identity and journal.
  void UpdateCacheKey(Subscription& sub) const;
  void Send(const Value& message);
  template <typename F>
  void OnStrand(F&& f);

  Runner* runner_;
  SyncHub* hub_;
  boost::asio::thread_pool* pool_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
  TokenVerifier verify_token_;
  std::string admin_key_;
  SendFn send_;
  CloseFn close_;

  // Strand-only state.
  std::string session_id_;
  uint32_t query_set_version_ = 0;
  uint32_t identity_version_ = 0;
  uint32_t sent_query_set_ = 0, sent_identity_ = 0;
  uint64_t sent_ts_ = 0;
  std::optional<UserIdentity> identity_;
  std::string identity_key_;  // identity as cache-key text
  // ip and user agent (set before the first message), and the JWT of the current identity.
  RequestMetadata origin_;
  bool admin_ = false;
  std::map<uint32_t, Subscription> queries_;
  std::set<uint32_t> removed_;
  bool identity_changed_ = false;
  bool closed_ = false;

  // Commits not yet looked at (guarded by pending_mu_); shared by all sessions.
  std::mutex pending_mu_;
  std::vector<std::shared_ptr<const CommitInfo>> pending_commits_;
  bool refresh_scheduled_ = false;
};

// Fans commits out to live sessions.
class SyncHub {
 public:
  // Creates the index that exactly-once mutations use. Call once before serving.
  [[nodiscard]] static absl::Status Prepare(Database& db);

  // Deletes the exactly-once records (`_session_requests`) older than `max_age` (Convex
  // keeps them two weeks: kSessionRequestRetention), oldest first, at most `batch` in one
  // transaction. Returns how many went; call again while it returns `batch`.
  [[nodiscard]] static absl::StatusOr<size_t> ExpireSessionRequests(Database& db, absl::Duration max_age,
                                                                    size_t batch = 1000);

  explicit SyncHub(Database* db);
  ~SyncHub();
  void Add(const std::shared_ptr<SyncSession>& session);
  void Remove(const SyncSession* session);
  // The served code changed (a push finished): results of the old code are no longer
  // shared, and every live subscription runs again (its result may change).
  void CodeChanged();
  uint64_t code_generation() const { return code_generation_.load(); }

  // A query result as sessions send it: the result, and the modification's JSON fields
  // other than queryId, serialized once.
  struct CachedQuery {
    absl::StatusOr<FunctionResult> result;
    std::string fields_json;  // "\"journal\":...,\"logLines\":[...],\"type\":...,..."
    size_t hash = 0;          // of what the client would see
  };
  // Query results shared by sessions: a query is deterministic given (function, args,
  // identity, journal, ts), so after a commit the sessions subscribed to the same query
  // run and serialize it once between them. Only the newest ts is kept.
  std::shared_ptr<const CachedQuery> Cached(uint64_t ts, const std::string& key);
  void Cache(uint64_t ts, const std::string& key, std::shared_ptr<const CachedQuery> entry);

 private:
  std::mutex cache_mu_;
  uint64_t cache_ts_ = 0;                                                // guarded by cache_mu_
  std::map<std::string, std::shared_ptr<const CachedQuery>> cache_;      // guarded by cache_mu_

  std::atomic<uint64_t> code_generation_{0};
  Database* db_;
  int listener_ = -1;
  std::mutex mu_;
  // Live sessions; removed by OnClosed. Guarded by mu_, which the commit listener holds
  // while it hands the commit to each (SyncSession::OnCommit is quick and never calls back).
  std::map<const SyncSession*, std::shared_ptr<SyncSession>> sessions_;
};

}  // namespace cvx

#endif  // CVX_HTTP_SYNC_SESSION_H_
