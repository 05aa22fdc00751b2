#include "functions/js/syscalls.h"

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "boost/json.hpp"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/app.h"
#include "functions/errors.h"
#include "functions/function_path.h"

namespace cvx::js {
namespace json = boost::json;
namespace {

constexpr char kHandlePrefix[] = "function://convexlite#";

absl::Status Bad(std::string_view op, std::string_view what) {
  return InvalidArgument("InvalidSyscall", absl::StrCat(AV(op), ": ", AV(what)));
}

bool IsUndefined(const json::value& v) {
  return v.is_object() && v.get_object().size() == 1 && v.get_object().contains("$undefined");
}

// A Convex JSON value (nullopt for {"$undefined": null}).
absl::StatusOr<std::optional<Value>> ConvexValue(const json::value& v) {
  if (IsUndefined(v)) return std::optional<Value>();
  CVX_ASSIGN_OR_RETURN(Value value, ParseConvexJson(json::serialize(v)));
  return std::optional<Value>(std::move(value));
}

absl::StatusOr<Value> DefinedValue(std::string_view op, const json::value* v) {
  if (v == nullptr) return Bad(op, "missing value");
  CVX_ASSIGN_OR_RETURN(std::optional<Value> value, ConvexValue(*v));
  if (!value) return Bad(op, "undefined is not a value");
  return *std::move(value);
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

absl::StatusOr<Expr> ParseExpr(const json::value& v, int depth = 0) {
  if (depth > 64 || !v.is_object() || v.get_object().size() != 1) {
    return InvalidArgument("InvalidFilter", "a filter expression is an object with one operator");
  }
  const auto& [key, operand] = *v.get_object().begin();
  std::string op(key);
  if (op == "$field") {
    if (!operand.is_string()) return InvalidArgument("InvalidFilter", "$field takes a field path");
    return q::Field(std::string(operand.get_string()));
  }
  if (op == "$literal") {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> literal, ConvexValue(operand));
    return q::Literal(std::move(literal));
  }
  if (op == "$neg" || op == "$not") {
    CVX_ASSIGN_OR_RETURN(Expr x, ParseExpr(operand, depth + 1));
    return op == "$neg" ? q::Neg(std::move(x)) : q::Not(std::move(x));
  }
  if (!operand.is_array()) return InvalidArgument("InvalidFilter", absl::StrCat(op, " takes an array"));
  std::vector<Expr> args;
  for (const json::value& a : operand.get_array()) {
    CVX_ASSIGN_OR_RETURN(Expr e, ParseExpr(a, depth + 1));
    args.push_back(std::move(e));
  }
  if (op == "$and") return q::And(std::move(args));
  if (op == "$or") return q::Or(std::move(args));
  if (args.size() != 2) return InvalidArgument("InvalidFilter", absl::StrCat(op, " takes two operands"));
  using Binary = Expr (*)(Expr, Expr);
  static const std::map<std::string, Binary> kBinary = {
      {"$eq", q::Eq},   {"$neq", q::Neq}, {"$lt", q::Lt},   {"$lte", q::Lte}, {"$gt", q::Gt},
      {"$gte", q::Gte}, {"$add", q::Add}, {"$sub", q::Sub}, {"$mul", q::Mul}, {"$div", q::Div},
      {"$mod", q::Mod}};
  auto it = kBinary.find(op);
  if (it == kBinary.end()) return InvalidArgument("InvalidFilter", absl::StrCat("unknown operator ", op));
  return it->second(std::move(args[0]), std::move(args[1]));
}

// A serialized query: the Query it denotes, and the operators after its first limit.
struct ParsedQuery {
  std::optional<cvx::Query> query;
  std::optional<size_t> limit;
  std::vector<std::pair<std::optional<Expr>, size_t>> after_limit;  // filter, or a limit
};

absl::StatusOr<ParsedQuery> ParseQuery(DatabaseReader& reader, const json::value* q) {
  if (q == nullptr || !q->is_object()) return InvalidArgument("InvalidQuery", "missing query");
  const json::object& query = q->get_object();
  const json::value* source_v = query.if_contains("source");
  if (source_v == nullptr || !source_v->is_object()) return InvalidArgument("InvalidQuery", "missing source");
  const json::object& source = source_v->get_object();
  std::string type = Str(source, "type");
  ParsedQuery parsed;
  auto table_query = [&](const std::string& table) {
    return !table.empty() && table[0] == '_' ? reader.System().Query(table) : reader.Query(table);
  };
  if (type == "FullTableScan") {
    parsed.query.emplace(table_query(Str(source, "tableName")));
  } else if (type == "IndexRange") {
    std::string name = Str(source, "indexName");
    size_t dot = name.find('.');
    if (dot == std::string::npos) return InvalidArgument("InvalidQuery", absl::StrCat("bad index name ", name));
    parsed.query.emplace(table_query(name.substr(0, dot)));
    const json::value* range = source.if_contains("range");
    std::vector<IndexRangeBuilder::Clause> clauses;
    if (range != nullptr && range->is_array()) {
      for (const json::value& r : range->get_array()) {
        if (!r.is_object()) return InvalidArgument("InvalidQuery", "bad range expression");
        std::string op = Str(r.get_object(), "type");
        IndexRangeBuilder::Clause clause;
        clause.field = Str(r.get_object(), "fieldPath");
        const json::value* value = r.get_object().if_contains("value");
        if (value == nullptr) return InvalidArgument("InvalidQuery", "a range expression needs a value");
        CVX_ASSIGN_OR_RETURN(clause.value, ConvexValue(*value));
        if (op == "Eq") clause.op = IndexRangeBuilder::Op::kEq;
        else if (op == "Gt") clause.op = IndexRangeBuilder::Op::kGt;
        else if (op == "Gte") clause.op = IndexRangeBuilder::Op::kGte;
        else if (op == "Lt") clause.op = IndexRangeBuilder::Op::kLt;
        else if (op == "Lte") clause.op = IndexRangeBuilder::Op::kLte;
        else return InvalidArgument("InvalidQuery", absl::StrCat("unknown range operator ", op));
        if (clause.op != IndexRangeBuilder::Op::kEq && !clause.value) {
          return InvalidArgument("InvalidQuery", "a range bound cannot be undefined");
        }
        clauses.push_back(std::move(clause));
      }
    }
    parsed.query->WithIndex(name.substr(dot + 1), [&clauses](IndexRangeBuilder& b) {
      for (const auto& c : clauses) {
        switch (c.op) {
          case IndexRangeBuilder::Op::kEq: b.Eq(c.field, c.value); break;
          case IndexRangeBuilder::Op::kGt: b.Gt(c.field, *c.value); break;
          case IndexRangeBuilder::Op::kGte: b.Gte(c.field, *c.value); break;
          case IndexRangeBuilder::Op::kLt: b.Lt(c.field, *c.value); break;
          case IndexRangeBuilder::Op::kLte: b.Lte(c.field, *c.value); break;
        }
      }
    });
  } else if (type == "Search") {
    return MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                     "Search queries (withSearchIndex) are not supported by convexlite yet");
  } else {
    return InvalidArgument("InvalidQuery", absl::StrCat("unknown query source ", type));
  }
  std::string order = Str(source, "order");
  if (order == "desc") parsed.query->Order(Order::kDesc);
  else if (order == "asc") parsed.query->Order(Order::kAsc);
  if (const json::value* ops = query.if_contains("operators"); ops != nullptr && ops->is_array()) {
    for (const json::value& op : ops->get_array()) {
      if (!op.is_object()) return InvalidArgument("InvalidQuery", "bad operator");
      if (const json::value* filter = op.get_object().if_contains("filter")) {
        CVX_ASSIGN_OR_RETURN(Expr e, ParseExpr(*filter));
        if (parsed.limit) parsed.after_limit.emplace_back(std::move(e), 0);
        else parsed.query->Filter(std::move(e));
      } else if (const json::value* limit = op.get_object().if_contains("limit"); limit != nullptr && limit->is_number()) {
        double n = limit->to_number<double>();
        size_t cap = n <= 0 ? 0 : static_cast<size_t>(n);
        if (parsed.limit) parsed.after_limit.emplace_back(std::nullopt, cap);
        else parsed.limit = cap;
      } else {
        return InvalidArgument("InvalidQuery", "unknown query operator");
      }
    }
  }
  return parsed;
}

// The function a syscall names: {functionHandle} or {name} (components: refused).
absl::StatusOr<std::string> TargetPath(const json::object& args) {
  std::string handle = Str(args, "functionHandle");
  if (!handle.empty()) {
    std::optional<std::string> path = PathOfFunctionHandle(handle);
    if (!path) return InvalidArgument("InvalidFunctionHandle", absl::StrCat("Invalid function handle: ", handle));
    return *path;
  }
  if (args.contains("reference")) {
    return MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                     "Component function references are not supported by convexlite yet");
  }
  return CanonicalizeFunctionPath(Str(args, "name"));
}

// A syscall's `args` object ([args] is accepted, as Convex accepts the legacy form).
absl::StatusOr<Object> CallArgs(std::string_view op, const json::object& args) {
  const json::value* a = args.if_contains("args");
  if (a == nullptr) return Object{};
  CVX_ASSIGN_OR_RETURN(Value v, DefinedValue(op, a));
  if (v.is_array() && v.array().size() == 1 && v.array()[0].is_object()) return v.array()[0].object();
  if (!v.is_object()) return Bad(op, "args must be an object");
  return v.object();
}

absl::StatusOr<json::object> ParseArgs(std::string_view op, std::string_view args_json) {
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(args_json.data(), args_json.size()), ec);
  if (ec || !parsed.is_object()) return Bad(op, "arguments are not a JSON object");
  return std::move(parsed.get_object());
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string FunctionMetadata(std::string_view path) {
  return absl::StrCat("{\"name\":", JsonString(path), ",\"componentPath\":\"\"}");
}

// ctx.meta.getRequestMetadata().
std::string RequestMetadataJson(const RequestMetadata* request) {
  RequestMetadata none;
  const RequestMetadata& r = request != nullptr ? *request : none;
  auto optional = [](const std::optional<std::string>& v) { return v ? JsonString(*v) : std::string("null"); };
  return absl::StrCat("{\"ip\":", optional(r.ip), ",\"userAgent\":", optional(r.user_agent),
                      ",\"requestId\":", JsonString(r.request_id),
                      ",\"scheduledFunctionId\":", optional(r.scheduled_function_id),
                      ",\"authToken\":", optional(r.auth_token), "}");
}

// ctx.meta.getTransactionMetrics(): {used, remaining} per limit. convexlite has no file
// storage, so the file metrics have nothing used and nothing remaining.
std::string TransactionMetricsJson(const ExecutionState& state) {
  ExecutionState::Metrics m = state.metrics();
  auto metric = [](std::string_view name, ExecutionState::Metric v) {
    return absl::StrCat("\"", AV(name), "\":{\"used\":", v.used,
                        ",\"remaining\":", v.limit > v.used ? v.limit - v.used : 0, "}");
  };
  ExecutionState::Metric none;
  return absl::StrCat(
      "{", metric("bytesRead", m.bytes_read), ",", metric("bytesWritten", m.bytes_written), ",",
      metric("databaseQueries", m.database_queries), ",", metric("documentsRead", m.documents_read), ",",
      metric("documentsWritten", m.documents_written), ",", metric("functionsScheduled", m.functions_scheduled),
      ",", metric("scheduledFunctionArgsBytes", m.scheduled_function_args_bytes), ",",
      metric("filesWritten", none), ",", metric("fileWriteBytes", none), ",", metric("filesRead", none), ",",
      metric("fileReadBytes", none), "}");
}

// ctx.meta.getDeploymentMetadata(): the instance name /instance_name reports; no region
// (self-hosted).
constexpr char kDeploymentMetadata[] = R"({"name":"convexlite","region":null,"class":"s16"})";

}  // namespace

std::string FunctionHandleFor(std::string_view canonical_path) {
  return absl::StrCat(kHandlePrefix, AV(canonical_path));
}

std::optional<std::string> PathOfFunctionHandle(std::string_view handle) {
  if (!absl::StartsWith(AV(handle), kHandlePrefix)) return std::nullopt;
  return std::string(handle.substr(sizeof(kHandlePrefix) - 1));
}

struct UdfSyscalls::Stream {
  ParsedQuery parsed;
  std::optional<std::string> cursor;
  size_t produced = 0;
  std::vector<size_t> after_counts;
  bool done = false;
};

UdfSyscalls::UdfSyscalls(QueryCtx* ctx, std::string function_path)
    : query_ctx_(ctx), state_(ctx->execution_state()), function_path_(std::move(function_path)) {}
UdfSyscalls::UdfSyscalls(MutationCtx* ctx, std::string function_path)
    : mutation_ctx_(ctx), state_(ctx->execution_state()), function_path_(std::move(function_path)) {}
UdfSyscalls::~UdfSyscalls() = default;

DatabaseReader& UdfSyscalls::reader() {
  return query_ctx_ != nullptr ? query_ctx_->db() : mutation_ctx_->db();
}

absl::StatusOr<std::string> UdfSyscalls::Syscall(std::string_view op, std::string_view args_json, bool sync) {
  CVX_ASSIGN_OR_RETURN(const json::object args, ParseArgs(op, args_json));
  auto need_mutation = [&]() -> absl::Status {
    if (mutation_ctx_ != nullptr) return absl::OkStatus();
    return InvalidArgument("ReadOnly", absl::StrCat(AV(op), " is only allowed in mutations"));
  };
  const Auth& auth = query_ctx_ != nullptr ? query_ctx_->auth() : mutation_ctx_->auth();

  if (op == "1.0/get") {
    std::string id = Str(args, "id");
    const json::value* system = args.if_contains("isSystem");
    bool is_system = system != nullptr && system->is_bool() && system->get_bool();
    absl::StatusOr<std::optional<Value>> doc = is_system ? reader().System().Get(id) : reader().Get(id);
    if (!doc.ok()) return doc.status();
    if (std::string table = Str(args, "table"); !table.empty() && doc->has_value()) {
      std::optional<std::string> normalized = reader().NormalizeId(table, id);
      if (!normalized && !is_system) return std::string("null");
    }
    return doc->has_value() ? ToConvexJson(**doc) : std::string("null");
  }
  if (op == "1.0/queryStream") {
    CVX_ASSIGN_OR_RETURN(ParsedQuery parsed, ParseQuery(reader(), args.if_contains("query")));
    auto stream = std::make_unique<Stream>();
    stream->after_counts.assign(parsed.after_limit.size(), 0);
    stream->parsed = std::move(parsed);
    int64_t id = next_query_id_++;
    streams_[id] = std::move(stream);
    return absl::StrCat("{\"queryId\":", id, "}");
  }
  if (op == "1.0/queryStreamNext") {
    const json::value* id = args.if_contains("queryId");
    auto it = id != nullptr && id->is_number() ? streams_.find(id->to_number<int64_t>()) : streams_.end();
    if (it == streams_.end()) return Bad(op, "unknown queryId");
    Stream& s = *it->second;
    size_t batch = 16;
    if (const json::value* b = args.if_contains("batch"); b != nullptr && b->is_number()) {
      batch = std::clamp<size_t>(static_cast<size_t>(std::max(1.0, b->to_number<double>())), 1, 1024);
    }
    std::string out = "{\"values\":[";
    bool first = true;
    while (!s.done) {
      size_t want = batch;
      if (s.parsed.limit) want = std::min(want, *s.parsed.limit - s.produced);
      if (want == 0) {
        s.done = true;
        break;
      }
      CVX_ASSIGN_OR_RETURN(cvx::Query::Page page, s.parsed.query->Run(want, s.cursor, std::nullopt));
      if (!page.cursor.empty()) s.cursor = page.cursor;
      s.produced += page.documents.size();
      if (page.done || (s.parsed.limit && s.produced >= *s.parsed.limit)) s.done = true;
      size_t emitted = 0;
      for (Value& doc : page.documents) {
        bool keep = true;
        for (size_t i = 0; i < s.parsed.after_limit.size() && keep; ++i) {
          auto& [filter, cap] = s.parsed.after_limit[i];
          if (filter) {
            CVX_ASSIGN_OR_RETURN(std::optional<Value> r, filter->Evaluate(doc));
            keep = r && r->is_boolean() && r->boolean();
          } else if (s.after_counts[i] >= cap) {
            keep = false;
            s.done = true;
          } else {
            ++s.after_counts[i];
          }
        }
        if (!keep) continue;
        if (!first) out += ",";
        first = false;
        AppendConvexJson(doc, &out);
        ++emitted;
      }
      if (emitted > 0) break;  // answer with what there is; the worker asks again
    }
    absl::StrAppend(&out, "],\"done\":", s.done ? "true" : "false", "}");
    return out;
  }
  if (op == "1.0/queryCleanup") {
    if (const json::value* id = args.if_contains("queryId"); id != nullptr && id->is_number()) {
      streams_.erase(id->to_number<int64_t>());
    }
    return std::string("true");
  }
  if (op == "1.0/queryPage") {
    CVX_ASSIGN_OR_RETURN(ParsedQuery parsed, ParseQuery(reader(), args.if_contains("query")));
    if (parsed.limit) return InvalidArgument("InvalidQuery", "paginate() cannot follow take() or limit()");
    Object opts;
    auto put = [&](const char* from, const char* to) -> absl::Status {
      const json::value* v = args.if_contains(from);
      if (v == nullptr || v->is_null()) return absl::OkStatus();
      CVX_ASSIGN_OR_RETURN(Value value, DefinedValue(op, v));
      opts[to] = std::move(value);
      return absl::OkStatus();
    };
    CVX_RETURN_IF_ERROR(put("pageSize", "numItems"));
    CVX_RETURN_IF_ERROR(put("endCursor", "endCursor"));
    CVX_RETURN_IF_ERROR(put("maximumRowsRead", "maximumRowsRead"));
    CVX_RETURN_IF_ERROR(put("maximumBytesRead", "maximumBytesRead"));
    const json::value* cursor = args.if_contains("cursor");
    if (cursor != nullptr && cursor->is_string()) opts["cursor"] = Value::String(std::string(cursor->get_string()));
    else opts["cursor"] = Value::Null();
    CVX_ASSIGN_OR_RETURN(Value page, parsed.query->Paginate(Value::FromObject(std::move(opts))));
    return ToConvexJson(page);
  }
  if (op == "1.0/count") {
    std::string table = Str(args, "table");
    CVX_ASSIGN_OR_RETURN(std::vector<Value> all, reader().Query(table).Collect());
    return FormatJsNumber(static_cast<double>(all.size()));
  }
  if (op == "1.0/db/normalizeId") {
    std::optional<std::string> id = reader().NormalizeId(Str(args, "table"), Str(args, "idString"));
    std::string out = "{\"id\":";
    if (id) AppendJsonString(*id, &out);
    else out += "null";
    return out + "}";
  }
  if (op == "1.0/insert") {
    CVX_RETURN_IF_ERROR(need_mutation());
    CVX_ASSIGN_OR_RETURN(Value value, DefinedValue(op, args.if_contains("value")));
    if (!value.is_object()) return Bad(op, "the value must be an object");
    CVX_ASSIGN_OR_RETURN(std::string id, mutation_ctx_->db().Insert(Str(args, "table"), value.object()));
    std::string out = "{\"_id\":";
    AppendJsonString(id, &out);
    return out + "}";
  }
  if (op == "1.0/shallowMerge") {
    CVX_RETURN_IF_ERROR(need_mutation());
    const json::value* value = args.if_contains("value");
    if (value == nullptr || !value->is_object()) return Bad(op, "the value must be an object");
    Patch patch;
    for (const auto& [key, field] : value->get_object()) {
      CVX_ASSIGN_OR_RETURN(std::optional<Value> v, ConvexValue(field));
      patch[std::string(key)] = std::move(v);
    }
    CVX_RETURN_IF_ERROR(mutation_ctx_->db().Patch(Str(args, "id"), patch));
    return std::string("null");
  }
  if (op == "1.0/replace") {
    CVX_RETURN_IF_ERROR(need_mutation());
    CVX_ASSIGN_OR_RETURN(Value value, DefinedValue(op, args.if_contains("value")));
    if (!value.is_object()) return Bad(op, "the value must be an object");
    Object fields = value.object();
    fields.erase("_id");
    fields.erase("_creationTime");
    CVX_RETURN_IF_ERROR(mutation_ctx_->db().Replace(Str(args, "id"), std::move(fields)));
    return std::string("null");
  }
  if (op == "1.0/remove") {
    CVX_RETURN_IF_ERROR(need_mutation());
    CVX_RETURN_IF_ERROR(mutation_ctx_->db().Delete(Str(args, "id")));
    return std::string("null");
  }
  if (op == "1.0/getUserIdentity") {
    std::optional<Value> identity = auth.GetUserIdentity();
    return identity ? ToConvexJson(*identity) : std::string("null");
  }
  if (op == "1.0/schedule") {
    CVX_RETURN_IF_ERROR(need_mutation());
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    CVX_ASSIGN_OR_RETURN(Object a, CallArgs(op, args));
    const json::value* ts = args.if_contains("ts");
    if (ts == nullptr || !ts->is_number()) return Bad(op, "ts must be a number of seconds");
    CVX_ASSIGN_OR_RETURN(std::string id, mutation_ctx_->scheduler().RunAt(ts->to_number<double>() * 1000, path, std::move(a)));
    std::string out;
    AppendJsonString(id, &out);
    return out;
  }
  if (op == "1.0/cancel_job") {
    CVX_RETURN_IF_ERROR(need_mutation());
    CVX_RETURN_IF_ERROR(mutation_ctx_->scheduler().Cancel(Str(args, "id")));
    return std::string("null");
  }
  if (op == "1.0/createFunctionHandle") {
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    if (state_->app == nullptr || state_->app->Find(path) == nullptr) {
      return InvalidArgument("FunctionNotFound", absl::StrCat("Function ", FunctionPathWithJs(path), " does not exist"));
    }
    std::string out;
    AppendJsonString(FunctionHandleFor(path), &out);
    return out;
  }
  if (op == "1.0/runUdf") {
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    std::string udf = Str(args, "udfType");
    const RegisteredFunction* fn = state_->app ? state_->app->Find(path) : nullptr;
    if (fn == nullptr) {
      return InvalidArgument("FunctionNotFound", absl::StrCat("Could not find function for '",
                                                              FunctionPathForDisplay(path), "'"));
    }
    FunctionType want = udf == "mutation" ? FunctionType::kMutation : FunctionType::kQuery;
    if (fn->type != want) {
      return InvalidArgument("WrongFunctionType",
                             absl::StrCat("Trying to execute ", FunctionPathWithJs(path), " as ",
                                          FunctionTypeName(want), ", but it is defined as ",
                                          FunctionTypeName(fn->type), "."));
    }
    if (want == FunctionType::kMutation) CVX_RETURN_IF_ERROR(need_mutation());
    CVX_ASSIGN_OR_RETURN(Object a, CallArgs(op, args));
    TableNameResolver resolver = reader().Resolver();
    if (fn->args) {
      if (absl::Status s = fn->args->Check(Value::FromObject(a), resolver); !s.ok()) {
        return InvalidArgument("ArgumentValidationError", absl::StrCat("ArgumentValidationError: ", s.message()));
      }
    }
    absl::StatusOr<Value> result;
    if (want == FunctionType::kMutation) {
      // A sub-transaction, as in Convex: when the callee fails its writes are dropped, and
      // the caller may catch the error and go on. Its reads stay in the read set.
      Transaction* txn = mutation_ctx_->db().transaction();
      Transaction::Savepoint savepoint = txn->Save();
      result = std::get<MutationHandler>(fn->handler)(*mutation_ctx_, a);
      if (!result.ok()) txn->RollbackTo(std::move(savepoint));
    } else if (query_ctx_ != nullptr) {
      result = std::get<QueryHandler>(fn->handler)(*query_ctx_, a);
    } else {
      QueryCtx nested(mutation_ctx_->db(), mutation_ctx_->auth(), state_);
      result = std::get<QueryHandler>(fn->handler)(nested, a);
    }
    if (!result.ok()) return result.status();
    if (fn->returns) {
      if (absl::Status s = fn->returns->Check(*result, resolver); !s.ok()) {
        return InvalidArgument("ReturnsValidationError", absl::StrCat("ReturnsValidationError: ", s.message()));
      }
    }
    return ToConvexJson(*result);
  }
  if (op == "1.0/getFunctionMetadata") return FunctionMetadata(function_path_);
  if (op == "1.0/getRequestMetadata") return RequestMetadataJson(state_->request);
  if (op == "1.0/getTransactionMetrics") return TransactionMetricsJson(*state_);
  if (op == "1.0/getDeploymentMetadata") return std::string(kDeploymentMetadata);
  if (op == "1.0/getSnapshotTs") {
    return ToConvexJson(Value::Int64(static_cast<int64_t>(reader().transaction()->begin_ts())));
  }
  (void)sync;
  return MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                   absl::StrCat(AV(op), " is not supported by convexlite yet"));
}

absl::StatusOr<std::string> ActionSyscalls::Syscall(std::string_view op, std::string_view args_json, bool) {
  CVX_ASSIGN_OR_RETURN(const json::object args, ParseArgs(op, args_json));
  if (op == "1.0/actions/query" || op == "1.0/actions/mutation" || op == "1.0/actions/action") {
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    CVX_ASSIGN_OR_RETURN(Object a, CallArgs(op, args));
    absl::StatusOr<Value> value = op == "1.0/actions/query"      ? ctx_->RunQuery(path, std::move(a))
                                  : op == "1.0/actions/mutation" ? ctx_->RunMutation(path, std::move(a))
                                                                 : ctx_->RunAction(path, std::move(a));
    if (!value.ok()) return value.status();
    return ToConvexJson(*value);
  }
  if (op == "1.0/actions/schedule") {
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    CVX_ASSIGN_OR_RETURN(Object a, CallArgs(op, args));
    const json::value* ts = args.if_contains("ts");
    if (ts == nullptr || !ts->is_number()) return Bad(op, "ts must be a number of seconds");
    double delay = ts->to_number<double>() * 1000 - static_cast<double>(absl::ToUnixMillis(absl::Now()));
    CVX_ASSIGN_OR_RETURN(std::string id, ctx_->RunAfter(std::max(0.0, delay), path, std::move(a)));
    return JsonString(id);
  }
  if (op == "1.0/actions/cancel_job") {
    CVX_RETURN_IF_ERROR(ctx_->Cancel(Str(args, "id")));
    return std::string("null");
  }
  if (op == "1.0/getUserIdentity") {
    std::optional<Value> identity = ctx_->auth().GetUserIdentity();
    return identity ? ToConvexJson(*identity) : std::string("null");
  }
  if (op == "1.0/createFunctionHandle") {
    CVX_ASSIGN_OR_RETURN(std::string path, TargetPath(args));
    if (ctx_->app() != nullptr && ctx_->app()->Find(path) == nullptr) {
      return InvalidArgument("FunctionNotFound", absl::StrCat("Function ", FunctionPathWithJs(path), " does not exist"));
    }
    return JsonString(FunctionHandleFor(path));
  }
  if (op == "1.0/getFunctionMetadata") return FunctionMetadata(function_path_);
  if (op == "1.0/getRequestMetadata") return RequestMetadataJson(ctx_->execution_state()->request);
  if (op == "1.0/getDeploymentMetadata") return std::string(kDeploymentMetadata);
  if (op == "convexlite/requestBody") return std::string("{\"done\":true}");  // no streamed body
  return MakeError(absl::StatusCode::kUnimplemented, "NotSupported",
                   absl::StrCat(AV(op), " is not supported by convexlite yet"));
}

bool ActionSyscalls::AnswersLater(std::string_view op) const {
  return body_ != nullptr && op == "convexlite/requestBody";
}

void ActionSyscalls::StartLater(std::string_view, std::string_view, Answer answer) {
  body_->ReadAsync([answer = std::move(answer)](absl::StatusOr<std::string> piece) {
    if (!piece.ok()) return answer(piece.status());
    if (piece->empty()) return answer(std::string("{\"done\":true}"));
    answer(absl::StrCat("{\"chunk\":\"", Base64Encode(*piece), "\"}"));
  });
}

}  // namespace cvx::js
