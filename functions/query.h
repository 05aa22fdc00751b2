// File: functions/query.h
//
// The pieces of `ctx.db.query(table)`: index range builders with Convex's range rules,
// filter expressions with Convex's evaluation rules, and the Query object with its
// terminal operations. Queries read through the function's Transaction, so everything
// they read joins its read set.
//
//   ctx.db().Query("messages")
//       .WithIndex("by_channel", [&](IndexRangeBuilder& q) { q.Eq("channel", ch); })
//       .Order(Order::kDesc)
//       .Filter(q::Neq(q::Field("body"), q::Literal(Value::String(""))))
//       .Take(10);
//
// Not thread-safe: a Query belongs to one execution.

#ifndef CVX_FUNCTIONS_QUERY_H_
#define CVX_FUNCTIONS_QUERY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/transaction.h"
#include "engine/value/value.h"
#include "schema/validator.h"

namespace cvx {

class ExecutionState;

// Records `.eq/.gt/.gte/.lt/.lte` clauses in call order; Query compiles them.
class IndexRangeBuilder {
 public:
  enum class Op { kEq, kGt, kGte, kLt, kLte };
  struct Clause {
    Op op;
    std::string field;
    std::optional<Value> value;  // nullopt: undefined
  };
  IndexRangeBuilder& Eq(std::string field, std::optional<Value> value);
  IndexRangeBuilder& Gt(std::string field, Value value);
  IndexRangeBuilder& Gte(std::string field, Value value);
  IndexRangeBuilder& Lt(std::string field, Value value);
  IndexRangeBuilder& Lte(std::string field, Value value);
  const std::vector<Clause>& clauses() const { return clauses_; }

 private:
  std::vector<Clause> clauses_;
};

// A filter expression (Convex's q.* operators).
class Expr {
 public:
  enum class Op {
    kField, kLiteral, kEq, kNeq, kLt, kLte, kGt, kGte, kAdd, kSub, kMul, kDiv, kMod, kNeg,
    kNot, kAnd, kOr,
  };
  struct Node;
  explicit Expr(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  // Evaluates against a document (as Convex shows it, with _id and _creationTime).
  // nullopt = undefined. kInvalidArgument "EvalError" on type errors, int64 overflow or
  // division by zero.
  [[nodiscard]] absl::StatusOr<std::optional<Value>> Evaluate(const Value& doc) const;
  const Node& node() const { return *node_; }

 private:
  std::shared_ptr<const Node> node_;
};

struct Expr::Node {
  Op op;
  std::string field;
  std::optional<Value> literal;
  std::vector<Expr> operands;
};

namespace q {
Expr Field(std::string path);
Expr Literal(std::optional<Value> value);
Expr Eq(Expr a, Expr b);
Expr Neq(Expr a, Expr b);
Expr Lt(Expr a, Expr b);
Expr Lte(Expr a, Expr b);
Expr Gt(Expr a, Expr b);
Expr Gte(Expr a, Expr b);
Expr Add(Expr a, Expr b);
Expr Sub(Expr a, Expr b);
Expr Mul(Expr a, Expr b);
Expr Div(Expr a, Expr b);
Expr Mod(Expr a, Expr b);
Expr Neg(Expr a);
Expr Not(Expr a);
Expr And(std::vector<Expr> operands);
Expr Or(std::vector<Expr> operands);
}  // namespace q

// Convex's paginationOpts (src/server/pagination.ts).
struct PaginationOptions {
  double num_items = 0;
  std::optional<std::string> cursor;      // null: from the start
  std::optional<std::string> end_cursor;  // read up to here, ignoring num_items
  std::optional<double> maximum_rows_read;
  std::optional<double> maximum_bytes_read;
  // From the paginationOpts object a client sent. kInvalidArgument on a wrong shape.
  [[nodiscard]] static absl::StatusOr<PaginationOptions> FromValue(const Value& opts);
};

inline constexpr size_t kMaxPageSize = 32000;
inline constexpr size_t kSplitRecommendedRows = 6144;

// Convex's paginationOptsValidator: {numItems, cursor: string | null, endCursor?,
// id?, maximumRowsRead?, maximumBytesRead?}, for a paginated query's arguments.
Validator PaginationOptsValidator();

class Query {
 public:
  // `deferred` (if an error) is returned by the terminal call.
  Query(Transaction* txn, ExecutionState* state, std::string table,
        absl::Status deferred = absl::OkStatus());

  // Selects an index and a range. Errors surface at the terminal call: kNotFound
  // "IndexNotFound", kInvalidArgument "FieldNotInIndex", "InvalidIndexRange",
  // "BoundsOnMultipleFields", "AlreadyDefinedBound".
  Query& WithIndex(std::string index,
                   const std::function<void(IndexRangeBuilder&)>& range = nullptr);
  Query& Order(cvx::Order order);
  Query& Filter(Expr predicate);

  [[nodiscard]] absl::StatusOr<std::vector<Value>> Collect();
  [[nodiscard]] absl::StatusOr<std::vector<Value>> Take(size_t n);
  [[nodiscard]] absl::StatusOr<std::optional<Value>> First();
  // Fails with "unique() query returned more than one result from table ..." on two.
  [[nodiscard]] absl::StatusOr<std::optional<Value>> Unique();

  // Convex's paginate(): {page, isDone, continueCursor, splitCursor, pageStatus}.
  // Cursors are opaque strings authenticated with the execution's cursor key and bound to
  // this query; a tampered or foreign cursor fails with tag "InvalidCursor". Errors also:
  // NoDocumentsForPagination, PageSizeTooLarge, InvalidPaginationLimit,
  // MultiplePaginatedDatabaseQueries. The page's end position is recorded in the
  // ExecutionState (the sync protocol's journal keeps page boundaries fixed with it).
  [[nodiscard]] absl::StatusOr<Value> Paginate(const PaginationOptions& options);
  [[nodiscard]] absl::StatusOr<Value> Paginate(const Value& pagination_opts);

  // The compiled scan request (for pagination and tests).
  [[nodiscard]] absl::StatusOr<ScanRequest> Compile() const;
  // Runs up to `limit` matching documents starting after `after` and stopping at `until`.
  struct Page {
    std::vector<Value> documents;
    bool done = false;
    std::string cursor;  // engine index position of the last row scanned
    size_t rows_read = 0;
    size_t bytes_read = 0;
  };
  [[nodiscard]] absl::StatusOr<Page> Run(size_t limit, std::optional<std::string> after,
                                         std::optional<std::string> until,
                                         size_t max_rows = SIZE_MAX);

 private:
  Transaction* txn_;
  ExecutionState* state_;
  std::string table_;
  std::string index_ = "by_creation_time";
  std::vector<IndexRangeBuilder::Clause> clauses_;
  cvx::Order order_ = cvx::Order::kAsc;
  bool order_set_ = false;
  std::vector<Expr> filters_;
  absl::Status deferred_error_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_QUERY_H_
