#include "functions/query.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "functions/context.h"
#include "schema/validator.h"

namespace cvx {
namespace {

constexpr char kIndexDocs[] = "For more information see https://docs.convex.dev/using/indexes.";

std::string QuotedFields(const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  for (const std::string& f : fields) quoted.push_back(absl::StrCat("\"", f, "\""));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string FormatOptional(const std::optional<Value>& v) {
  return v.has_value() ? FormatValueForError(*v) : "undefined";
}

const char* OpSymbol(IndexRangeBuilder::Op op) {
  switch (op) {
    case IndexRangeBuilder::Op::kEq: return "==";
    case IndexRangeBuilder::Op::kGt: return ">";
    case IndexRangeBuilder::Op::kGte: return ">=";
    case IndexRangeBuilder::Op::kLt: return "<";
    case IndexRangeBuilder::Op::kLte: return "<=";
  }
  return "?";
}

absl::Status EvalError(std::string_view message) {
  return InvalidArgument("EvalError", absl::StrCat("EvalError: ", AV(message)));
}

std::optional<Value> LookupPath(const Value& doc, std::string_view path) {
  const Value* current = &doc;
  for (absl::string_view part : absl::StrSplit(AV(path), '.')) {
    current = current->Find(SV(part));
    if (current == nullptr) return std::nullopt;
  }
  return *current;
}

int CompareOptional(const std::optional<Value>& a, const std::optional<Value>& b) {
  if (!a.has_value() || !b.has_value()) return a.has_value() - b.has_value();
  return CompareValues(*a, *b);
}

absl::StatusOr<std::optional<Value>> Arithmetic(Expr::Op op, const std::optional<Value>& a,
                                                const std::optional<Value>& b) {
  if (a && b && a->is_int64() && b->is_int64()) {
    int64_t x = a->int64(), y = b->int64(), r = 0;
    bool overflow = false;
    switch (op) {
      case Expr::Op::kAdd: overflow = __builtin_add_overflow(x, y, &r); break;
      case Expr::Op::kSub: overflow = __builtin_sub_overflow(x, y, &r); break;
      case Expr::Op::kMul: overflow = __builtin_mul_overflow(x, y, &r); break;
      case Expr::Op::kDiv:
      case Expr::Op::kMod:
        if (y == 0) return EvalError("Division by zero");
        if (x == INT64_MIN && y == -1) {
          overflow = op == Expr::Op::kDiv;
          r = 0;
        } else {
          r = op == Expr::Op::kDiv ? x / y : x % y;
        }
        break;
      default: break;
    }
    if (overflow) return EvalError("Int64 overflow");
    return std::optional<Value>(Value::Int64(r));
  }
  if (a && b && a->is_float64() && b->is_float64()) {
    double x = a->float64(), y = b->float64(), r = 0;
    switch (op) {
      case Expr::Op::kAdd: r = x + y; break;
      case Expr::Op::kSub: r = x - y; break;
      case Expr::Op::kMul: r = x * y; break;
      case Expr::Op::kDiv: r = x / y; break;
      case Expr::Op::kMod: r = std::fmod(x, y); break;
      default: break;
    }
    return std::optional<Value>(Value::Float64(r));
  }
  return EvalError(absl::StrCat("Arithmetic needs two int64 or two float64 operands, got ",
                                FormatOptional(a), " and ", FormatOptional(b)));
}

absl::StatusOr<bool> AsBool(const std::optional<Value>& v) {
  if (!v || !v->is_boolean()) {
    return EvalError(absl::StrCat("Expected a boolean, got ", FormatOptional(v)));
  }
  return v->boolean();
}

Expr Make(Expr::Op op, std::vector<Expr> operands, std::string field = "",
          std::optional<Value> literal = std::nullopt) {
  auto node = std::make_shared<Expr::Node>();
  node->op = op;
  node->operands = std::move(operands);
  node->field = std::move(field);
  node->literal = std::move(literal);
  return Expr(std::move(node));
}

}  // namespace

IndexRangeBuilder& IndexRangeBuilder::Eq(std::string field, std::optional<Value> value) {
  clauses_.push_back({Op::kEq, std::move(field), std::move(value)});
  return *this;
}
IndexRangeBuilder& IndexRangeBuilder::Gt(std::string field, Value value) {
  clauses_.push_back({Op::kGt, std::move(field), std::move(value)});
  return *this;
}
IndexRangeBuilder& IndexRangeBuilder::Gte(std::string field, Value value) {
  clauses_.push_back({Op::kGte, std::move(field), std::move(value)});
  return *this;
}
IndexRangeBuilder& IndexRangeBuilder::Lt(std::string field, Value value) {
  clauses_.push_back({Op::kLt, std::move(field), std::move(value)});
  return *this;
}
IndexRangeBuilder& IndexRangeBuilder::Lte(std::string field, Value value) {
  clauses_.push_back({Op::kLte, std::move(field), std::move(value)});
  return *this;
}

absl::StatusOr<std::optional<Value>> Expr::Evaluate(const Value& doc) const {
  const Node& n = *node_;
  switch (n.op) {
    case Op::kField: return LookupPath(doc, n.field);
    case Op::kLiteral: return n.literal;
    case Op::kEq:
    case Op::kNeq:
    case Op::kLt:
    case Op::kLte:
    case Op::kGt:
    case Op::kGte: {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> a, n.operands[0].Evaluate(doc));
      CVX_ASSIGN_OR_RETURN(std::optional<Value> b, n.operands[1].Evaluate(doc));
      int c = CompareOptional(a, b);
      bool r = n.op == Op::kEq ? c == 0 : n.op == Op::kNeq ? c != 0 : n.op == Op::kLt ? c < 0
             : n.op == Op::kLte ? c <= 0 : n.op == Op::kGt ? c > 0 : c >= 0;
      return std::optional<Value>(Value::Boolean(r));
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> a, n.operands[0].Evaluate(doc));
      CVX_ASSIGN_OR_RETURN(std::optional<Value> b, n.operands[1].Evaluate(doc));
      return Arithmetic(n.op, a, b);
    }
    case Op::kNeg: {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> a, n.operands[0].Evaluate(doc));
      if (a && a->is_int64()) {
        if (a->int64() == INT64_MIN) return EvalError("Int64 overflow");
        return std::optional<Value>(Value::Int64(-a->int64()));
      }
      if (a && a->is_float64()) return std::optional<Value>(Value::Float64(-a->float64()));
      return EvalError(absl::StrCat("Cannot negate ", FormatOptional(a)));
    }
    case Op::kNot: {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> a, n.operands[0].Evaluate(doc));
      CVX_ASSIGN_OR_RETURN(bool b, AsBool(a));
      return std::optional<Value>(Value::Boolean(!b));
    }
    case Op::kAnd:
    case Op::kOr: {
      bool is_and = n.op == Op::kAnd;
      for (const Expr& e : n.operands) {
        CVX_ASSIGN_OR_RETURN(std::optional<Value> v, e.Evaluate(doc));
        CVX_ASSIGN_OR_RETURN(bool b, AsBool(v));
        if (b != is_and) return std::optional<Value>(Value::Boolean(!is_and));
      }
      return std::optional<Value>(Value::Boolean(is_and));
    }
  }
  return EvalError("unknown operator");
}

namespace q {
Expr Field(std::string path) { return Make(Expr::Op::kField, {}, std::move(path)); }
Expr Literal(std::optional<Value> value) {
  return Make(Expr::Op::kLiteral, {}, "", std::move(value));
}
Expr Eq(Expr a, Expr b) { return Make(Expr::Op::kEq, {std::move(a), std::move(b)}); }
Expr Neq(Expr a, Expr b) { return Make(Expr::Op::kNeq, {std::move(a), std::move(b)}); }
Expr Lt(Expr a, Expr b) { return Make(Expr::Op::kLt, {std::move(a), std::move(b)}); }
Expr Lte(Expr a, Expr b) { return Make(Expr::Op::kLte, {std::move(a), std::move(b)}); }
Expr Gt(Expr a, Expr b) { return Make(Expr::Op::kGt, {std::move(a), std::move(b)}); }
Expr Gte(Expr a, Expr b) { return Make(Expr::Op::kGte, {std::move(a), std::move(b)}); }
Expr Add(Expr a, Expr b) { return Make(Expr::Op::kAdd, {std::move(a), std::move(b)}); }
Expr Sub(Expr a, Expr b) { return Make(Expr::Op::kSub, {std::move(a), std::move(b)}); }
Expr Mul(Expr a, Expr b) { return Make(Expr::Op::kMul, {std::move(a), std::move(b)}); }
Expr Div(Expr a, Expr b) { return Make(Expr::Op::kDiv, {std::move(a), std::move(b)}); }
Expr Mod(Expr a, Expr b) { return Make(Expr::Op::kMod, {std::move(a), std::move(b)}); }
Expr Neg(Expr a) { return Make(Expr::Op::kNeg, {std::move(a)}); }
Expr Not(Expr a) { return Make(Expr::Op::kNot, {std::move(a)}); }
Expr And(std::vector<Expr> operands) { return Make(Expr::Op::kAnd, std::move(operands)); }
Expr Or(std::vector<Expr> operands) { return Make(Expr::Op::kOr, std::move(operands)); }
}  // namespace q

Query::Query(Transaction* txn, ExecutionState* state, std::string table, absl::Status deferred)
    : txn_(txn), state_(state), table_(std::move(table)), deferred_error_(std::move(deferred)) {}

Query& Query::WithIndex(std::string index,
                        const std::function<void(IndexRangeBuilder&)>& range) {
  index_ = std::move(index);
  if (range) {
    IndexRangeBuilder builder;
    range(builder);
    clauses_ = builder.clauses();
  }
  return *this;
}

Query& Query::Order(cvx::Order order) {
  if (order_set_ && deferred_error_.ok()) {
    deferred_error_ = InvalidArgument("OrderAlreadySet",
                                      "Queries may only specify order at most once");
  }
  order_ = order;
  order_set_ = true;
  return *this;
}

Query& Query::Filter(Expr predicate) {
  filters_.push_back(std::move(predicate));
  return *this;
}

absl::StatusOr<ScanRequest> Query::Compile() const {
  CVX_RETURN_IF_ERROR(deferred_error_);
  ScanRequest req;
  req.table = table_;
  req.index = index_;
  req.order = order_;
  if (clauses_.empty()) return req;
  CVX_ASSIGN_OR_RETURN(std::vector<std::string> fields, txn_->IndexFields(table_, index_));
  const std::string full_name = absl::StrCat(table_, ".", index_);
  // Convex prints an index's fields without the implicit _id tiebreak.
  const std::vector<std::string> shown(fields.begin(), fields.end() - 1);
  using Op = IndexRangeBuilder::Op;
  std::map<std::string, std::optional<Value>> eqs;
  std::optional<IndexRangeBuilder::Clause> lower, upper, first_bound;
  auto already = [&](const char* kind, const std::string& field, Op op,
                     const std::optional<Value>& shown_value) {
    return InvalidArgument("AlreadyDefinedBound",
                           absl::StrCat("Already defined ", kind, " bound in index range. Can't add \"",
                                        field, "\" ", OpSymbol(op), " ", FormatOptional(shown_value),
                                        "."));
  };
  // First how the clauses relate to each other (as Convex's IndexRange::compile does)...
  for (const auto& c : clauses_) {
    if (c.op == Op::kEq) {
      if (auto it = eqs.find(c.field); it != eqs.end()) {
        return already("equality", c.field, Op::kEq, it->second);
      }
      eqs[c.field] = c.value;
      continue;
    }
    bool is_lower = c.op == Op::kGt || c.op == Op::kGte;
    std::optional<IndexRangeBuilder::Clause>& slot = is_lower ? lower : upper;
    if (slot) return already(is_lower ? "lower" : "upper", c.field, c.op, c.value);
    slot = c;
    if (!first_bound) first_bound = c;
  }
  if (lower && upper && lower->field != upper->field) {
    const std::string& a = first_bound->field;
    const std::string& b = (a == lower->field) ? upper->field : lower->field;
    return InvalidArgument(
        "BoundsOnMultipleFields",
        absl::StrCat("Upper and lower bounds in `range` can only be applied to a single index "
                     "field. This query against index ",
                     full_name, " attempted to set a range bound on both \"", a, "\" and \"", b,
                     "\". Consider using `filter` instead. See "
                     "https://docs.convex.dev/using/indexes for more info."));
  }
  std::string bound_field = lower ? lower->field : upper ? upper->field : "";
  if (!bound_field.empty()) {
    if (auto it = eqs.find(bound_field); it != eqs.end()) {
      return already("inequality", bound_field, Op::kEq, it->second);
    }
  }
  // ...then against the index's fields.
  auto not_in_index = [&](const std::string& field) {
    return InvalidArgument("FieldNotInIndex",
                           absl::StrCat("The index range included a comparison with \"", field,
                                        "\", but ", full_name, " with fields ", QuotedFields(shown),
                                        " doesn't index this field. ", kIndexDocs));
  };
  for (const auto& c : clauses_) {
    if (std::find(fields.begin(), fields.end(), c.field) == fields.end()) return not_in_index(c.field);
  }
  // The used fields, equalities in index order then the bound field, must be a prefix.
  std::vector<std::string> used;
  for (const std::string& f : fields) {
    if (eqs.count(f)) used.push_back(f);
  }
  if (!bound_field.empty()) used.push_back(bound_field);
  for (size_t i = 0; i < used.size(); ++i) {
    if (used[i] != fields[i]) {
      return InvalidArgument(
          "InvalidIndexRange",
          absl::StrCat("Tried to query index ", full_name,
                       " but the query didn't use the index fields in order.\nIndex fields: ",
                       QuotedFields(shown), "\nQuery fields: ", QuotedFields(used),
                       "\nFirst incorrect field: \"", used[i], "\"\n", kIndexDocs));
    }
  }
  for (size_t i = 0; i < eqs.size(); ++i) req.range.eq.push_back(eqs[fields[i]]);
  if (lower) {
    req.range.lower = IndexRange::Bound{lower->value, lower->op == Op::kGte};
  }
  if (upper) {
    req.range.upper = IndexRange::Bound{upper->value, upper->op == Op::kLte};
  }
  return req;
}

absl::StatusOr<Query::Page> Query::Run(size_t limit, std::optional<std::string> after,
                                       std::optional<std::string> until, size_t max_rows) {
  CVX_RETURN_IF_ERROR(state_->poisoned());
  CVX_ASSIGN_OR_RETURN(ScanRequest req, Compile());
  Page page;
  req.after = std::move(after);
  req.until = std::move(until);
  while (page.documents.size() < limit && page.rows_read < max_rows) {
    size_t want = limit - page.documents.size();
    if (!filters_.empty()) want = std::max<size_t>(want, 64);
    req.limit = std::min(want, max_rows - page.rows_read);
    CVX_ASSIGN_OR_RETURN(ScanResult r, txn_->Scan(req));
    page.rows_read += r.documents.size();  // (all rows walked count toward limits)
    page.bytes_read += r.bytes_read;
    CVX_RETURN_IF_ERROR(state_->CountRead(r.documents.size(), r.bytes_read, 1));
    bool filled = false;
    for (size_t i = 0; i < r.documents.size() && !filled; ++i) {
      Value v = r.documents[i].ToValue();
      page.cursor = r.keys[i];
      bool keep = true;
      for (const Expr& f : filters_) {
        CVX_ASSIGN_OR_RETURN(std::optional<Value> result, f.Evaluate(v));
        if (!result || !result->is_boolean()) {
          return EvalError(absl::StrCat("Filter expression must evaluate to a boolean, got ",
                                        FormatOptional(result)));
        }
        if (!result->boolean()) {
          keep = false;
          break;
        }
      }
      if (keep) {
        page.documents.push_back(std::move(v));
        filled = page.documents.size() >= limit;
      }
    }
    if (filled) break;
    if (!r.cursor.empty()) {
      page.cursor = r.cursor;
      req.after = r.cursor;
    }
    if (r.done) {
      page.done = true;
      break;
    }
  }
  return page;
}

absl::StatusOr<std::vector<Value>> Query::Collect() {
  CVX_ASSIGN_OR_RETURN(Page page, Run(SIZE_MAX, std::nullopt, std::nullopt));
  return std::move(page.documents);
}

absl::StatusOr<std::vector<Value>> Query::Take(size_t n) {
  if (n == 0) return std::vector<Value>();
  CVX_ASSIGN_OR_RETURN(Page page, Run(n, std::nullopt, std::nullopt));
  return std::move(page.documents);
}

absl::StatusOr<std::optional<Value>> Query::First() {
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Take(1));
  if (docs.empty()) return std::optional<Value>();
  return std::optional<Value>(std::move(docs[0]));
}

absl::StatusOr<std::optional<Value>> Query::Unique() {
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Take(2));
  if (docs.empty()) return std::optional<Value>();
  if (docs.size() > 1) {
    return InvalidArgument(
        "UniqueQueryReturnedMultiple",
        absl::StrCat("unique() query returned more than one result from table ", table_,
                     ":\n [", docs[0].Find("_id")->string(), ", ", docs[1].Find("_id")->string(),
                     ", ...]"));
  }
  return std::optional<Value>(std::move(docs[0]));
}

}  // namespace cvx
