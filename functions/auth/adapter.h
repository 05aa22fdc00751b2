// File: functions/auth/adapter.h
//
// Better Auth's database adapter (better-auth.md §2) over a function's own transaction:
// create, findOne, findMany, count, updateOne, updateMany, deleteOne, deleteMany, with
// better-auth-convex's triggers (§6) run in the same transaction.
//
// Documents in and out are Better Auth's shape: `id` for _id, no _creationTime, dates as
// ms. Triggers see Convex documents (with _id and _creationTime).
//
// Where clauses are evaluated exactly: (every AND clause) and (any OR clause, when there
// is one), as Better Auth's SQL adapters do; an index only narrows the rows read. The
// index is chosen as the Convex adapters' findIndex does: equality fields sorted
// alphabetically, then one range field, taking the index that covers the most of them, so
// the transaction's read set stays small (a table scan in sign-up would conflict with
// every concurrent sign-up). `id` clauses read by ID. ISO date strings in clauses and data
// on date fields become ms (better-auth 1.4.7 sends them; the 1.4.7 Convex adapters did
// not convert them and deleted every verification row).
//
// Order of operations (better-auth-convex):
//   create     beforeCreate -> unique check -> insert -> get -> onCreate -> return the
//              document read *before* onCreate
//   updateOne  find (missing: nullopt) -> beforeUpdate(doc, update) -> unique check ->
//              patch -> get -> onUpdate(new, old) -> return new
//   deleteOne  find (missing: no-op) -> beforeDelete(doc) -> delete -> onDelete(hook doc)
//   *Many      the same per row
// Adapter writes skip the App's TriggerRegistry: Better Auth's hooks are these.
//
// Errors: kInvalidArgument for an unknown model or field, a malformed clause or a value the
// schema refuses; kAlreadyExists "<model> <field> already exists" from the unique check;
// whatever a trigger returns. The caller's mutation fails and nothing is written.
//
// Not thread-safe: an Adapter belongs to one execution.

#ifndef CVX_FUNCTIONS_AUTH_ADAPTER_H_
#define CVX_FUNCTIONS_AUTH_ADAPTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/value/value.h"
#include "functions/auth/model.h"
#include "functions/context.h"

namespace cvx::auth {

struct Where {
  enum class Op { kEq, kNe, kLt, kLte, kGt, kGte, kIn, kNotIn, kContains, kStartsWith,
                  kEndsWith };
  std::string field;
  Value value;
  Op op = Op::kEq;
  bool or_connector = false;  // connector "OR"

  // From Better Auth's JSON {field, value, operator?, connector?, mode?}.
  [[nodiscard]] static absl::StatusOr<Where> FromValue(const Value& clause);
};
using WhereList = std::vector<Where>;
[[nodiscard]] absl::StatusOr<WhereList> WhereListFromValue(const Value& where);  // null -> {}

struct SortBy {
  std::string field;
  bool descending = false;
};

// better-auth-convex's triggers for one model. `ctx` is the writing mutation's context.
// before_* return a replacement (nullopt keeps the original); an error aborts everything.
struct ModelTriggers {
  std::function<absl::StatusOr<std::optional<Object>>(MutationCtx& ctx, Object data)>
      before_create;
  std::function<absl::StatusOr<std::optional<Object>>(MutationCtx& ctx, const Value& doc,
                                                      Object update)>
      before_update;
  std::function<absl::StatusOr<std::optional<Value>>(MutationCtx& ctx, const Value& doc)>
      before_delete;
  std::function<absl::Status(MutationCtx& ctx, const Value& doc)> on_create;
  std::function<absl::Status(MutationCtx& ctx, const Value& new_doc, const Value& old_doc)>
      on_update;
  std::function<absl::Status(MutationCtx& ctx, const Value& doc)> on_delete;
};
using Triggers = std::map<std::string, ModelTriggers, std::less<>>;

inline constexpr size_t kDefaultFindManyLimit = 100;

class Adapter {
 public:
  // Reads and writes through `ctx` (mutation) or `qctx` (query: writes fail).
  Adapter(MutationCtx* ctx, const Models* models, const Triggers* triggers);
  Adapter(QueryCtx* qctx, const Models* models);

  // Applies defaults and the date conversion, runs the create order above. `select`
  // (non-empty) keeps only those fields (and id) in the result.
  [[nodiscard]] absl::StatusOr<Value> Create(std::string_view model, Object data,
                                             const std::vector<std::string>& select = {});
  [[nodiscard]] absl::StatusOr<std::optional<Value>> FindOne(std::string_view model,
                                                             const WhereList& where);
  [[nodiscard]] absl::StatusOr<std::vector<Value>> FindMany(
      std::string_view model, const WhereList& where, size_t limit = kDefaultFindManyLimit,
      const std::optional<SortBy>& sort = std::nullopt, size_t offset = 0);
  [[nodiscard]] absl::StatusOr<int64_t> Count(std::string_view model, const WhereList& where);
  // The updated document, or nullopt when nothing matched.
  [[nodiscard]] absl::StatusOr<std::optional<Value>> UpdateOne(std::string_view model,
                                                               const WhereList& where,
                                                               Object update);
  [[nodiscard]] absl::StatusOr<int64_t> UpdateMany(std::string_view model,
                                                   const WhereList& where, Object update);
  // Deleting a row that does not exist is a no-op.
  [[nodiscard]] absl::Status DeleteOne(std::string_view model, const WhereList& where);
  [[nodiscard]] absl::StatusOr<int64_t> DeleteMany(std::string_view model,
                                                   const WhereList& where);

  // The matching Convex documents (with _id, _creationTime), in `_creationTime` order.
  // Exposed for the internal API's pagination and for tests.
  [[nodiscard]] absl::StatusOr<std::vector<Value>> Match(const ModelSpec& model,
                                                         const WhereList& where);
  // The index the adapter reads for `where` ("by_creation_time" when none helps, "by_id"
  // for an id lookup). For tests and the docs.
  [[nodiscard]] absl::StatusOr<std::string> ChosenIndex(std::string_view model,
                                                        const WhereList& where);

  // Better Auth's output shape: _id -> id, _creationTime dropped.
  static Value ToOutput(const Value& doc);
  // Return Convex documents (_id, _creationTime) instead, as better-auth-convex's internal
  // API (auth:create, ...) does.
  void set_convex_shape(bool on) { convex_shape_ = on; }

 private:
  absl::StatusOr<const ModelSpec*> Spec(std::string_view model) const;
  absl::Status Normalize(const ModelSpec& model, WhereList* where) const;
  absl::Status NormalizeData(const ModelSpec& model, Object* data) const;
  absl::Status CheckUnique(const ModelSpec& model, const Object& data,
                           std::optional<std::string_view> self_id);
  absl::StatusOr<std::optional<Value>> UpdateDoc(const ModelSpec& model, const Value& doc,
                                                 Object update);
  absl::Status DeleteDoc(const ModelSpec& model, const Value& doc);
  DatabaseReader& reader();
  absl::StatusOr<DatabaseWriter*> writer();
  const ModelTriggers* TriggersFor(std::string_view model) const;

  MutationCtx* ctx_ = nullptr;
  QueryCtx* qctx_ = nullptr;
  std::optional<DatabaseWriter> writer_;
  const Models* models_;
  const Triggers* triggers_ = nullptr;
  bool convex_shape_ = false;
};

// Milliseconds since the epoch of an ISO 8601 / RFC 3339 date-time ("2025-01-02T03:04:05.678Z"),
// or nullopt.
std::optional<double> ParseIsoDateMs(std::string_view text);

}  // namespace cvx::auth

#endif  // CVX_FUNCTIONS_AUTH_ADAPTER_H_
