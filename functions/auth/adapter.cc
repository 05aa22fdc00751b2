#include "functions/auth/adapter.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"

namespace cvx::auth {
namespace {

using Op = Where::Op;

absl::Status Invalid(std::string message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "BetterAuthAdapterError",
                   std::move(message));
}

bool IsNumber(const Value& v) { return v.is_float64() || v.is_int64(); }
double AsNumber(const Value& v) {
  return v.is_float64() ? v.float64() : static_cast<double>(v.int64());
}

// JS-like comparison: numbers numerically (int64 and float64 alike), same-type values by
// Convex's order. nullopt when the types are not comparable (a JS `<` would be false).
std::optional<int> Compare(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    double x = AsNumber(a), y = AsNumber(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.type() != b.type()) return std::nullopt;
  return CompareValues(a, b);
}

bool Equal(const Value* field, const Value& value) {
  if (field == nullptr) return false;
  std::optional<int> c = Compare(*field, value);
  return c.has_value() && *c == 0;
}

bool Holds(const Value& doc, const Where& w) {
  const Value* f = doc.Find(w.field);
  switch (w.op) {
    case Op::kEq:
      return Equal(f, w.value);
    case Op::kNe:
      return !Equal(f, w.value);
    case Op::kLt:
    case Op::kLte:
    case Op::kGt:
    case Op::kGte: {
      if (f == nullptr) return false;
      std::optional<int> c = Compare(*f, w.value);
      if (!c) return false;
      return w.op == Op::kLt ? *c < 0 : w.op == Op::kLte ? *c <= 0 : w.op == Op::kGt ? *c > 0 : *c >= 0;
    }
    case Op::kIn:
    case Op::kNotIn: {
      bool in = std::any_of(w.value.array().begin(), w.value.array().end(),
                            [&](const Value& v) { return Equal(f, v); });
      return w.op == Op::kIn ? in : !in;
    }
    case Op::kContains:
      if (f == nullptr) return false;
      if (f->is_array()) {
        return std::any_of(f->array().begin(), f->array().end(),
                           [&](const Value& v) { return Equal(&v, w.value); });
      }
      return f->is_string() && w.value.is_string() &&
             f->string().find(w.value.string()) != std::string::npos;
    case Op::kStartsWith:
      return f != nullptr && f->is_string() && w.value.is_string() &&
             f->string().compare(0, w.value.string().size(), w.value.string()) == 0;
    case Op::kEndsWith:
      return f != nullptr && f->is_string() && w.value.is_string() &&
             f->string().size() >= w.value.string().size() &&
             f->string().compare(f->string().size() - w.value.string().size(),
                                 w.value.string().size(), w.value.string()) == 0;
  }
  return false;
}

// (every AND clause) and (some OR clause, if any).
bool Matches(const Value& doc, const WhereList& where) {
  bool any_or = false, or_hit = false;
  for (const Where& w : where) {
    if (w.or_connector) {
      any_or = true;
      or_hit = or_hit || Holds(doc, w);
    } else if (!Holds(doc, w)) {
      return false;
    }
  }
  return !any_or || or_hit;
}

bool IsRange(Op op) { return op == Op::kLt || op == Op::kLte || op == Op::kGt || op == Op::kGte; }

// An index scan: equality on the leading fields, then optional bounds on the next one.
struct Scan {
  std::string index = "by_creation_time";
  std::vector<std::pair<std::string, Value>> eqs;
  std::vector<const Where*> bounds;
  std::vector<std::string> ids;  // by_id: point reads instead
  bool by_id = false;
  size_t score = 0;
};

// findIndex over the clauses of one conjunction: the index covering the most equality
// fields (as a prefix) plus one range field after them.
Scan PlanConjunction(const ModelSpec& model, const std::vector<const Where*>& clauses) {
  Scan best;
  for (const Where* w : clauses) {
    if (w->field == "_id" && w->op == Op::kEq) {
      best.by_id = true;
      best.index = "by_id";
      if (w->value.is_string()) best.ids = {w->value.string()};
      return best;
    }
  }
  for (const Where* w : clauses) {
    if (w->field == "_id" && w->op == Op::kIn) {
      best.by_id = true;
      best.index = "by_id";
      for (const Value& v : w->value.array()) {
        if (v.is_string()) best.ids.push_back(v.string());
      }
      return best;
    }
  }
  std::map<std::string, const Value*> eq;
  for (const Where* w : clauses) {
    if (w->op == Op::kEq) eq.emplace(w->field, &w->value);
  }
  for (const auto& fields : model.indexes) {
    Scan s;
    s.index = ModelSpec::IndexName(fields);
    size_t i = 0;
    for (; i < fields.size(); ++i) {
      auto it = eq.find(fields[i]);
      if (it == eq.end()) break;
      s.eqs.emplace_back(fields[i], *it->second);
    }
    if (i < fields.size()) {
      for (const Where* w : clauses) {
        if (IsRange(w->op) && w->field == fields[i]) s.bounds.push_back(w);
      }
    }
    s.score = 2 * s.eqs.size() + (s.bounds.empty() ? 0 : 1);  // equality first
    if (s.score > best.score) best = std::move(s);
  }
  return best;
}

}  // namespace

std::optional<double> ParseIsoDateMs(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return std::nullopt;
  return static_cast<double>(absl::ToUnixMillis(t));
}

absl::StatusOr<Where> Where::FromValue(const Value& clause) {
  if (!clause.is_object()) return Invalid("a where clause must be an object");
  Where w;
  const Value* field = clause.Find("field");
  if (field == nullptr || !field->is_string()) return Invalid("a where clause needs a field");
  w.field = field->string();
  if (const Value* value = clause.Find("value")) w.value = *value;
  if (const Value* op = clause.Find("operator"); op != nullptr && !op->is_null()) {
    static const std::map<std::string, Op, std::less<>> kOps = {
        {"eq", Op::kEq},     {"ne", Op::kNe},         {"lt", Op::kLt},
        {"lte", Op::kLte},   {"gt", Op::kGt},         {"gte", Op::kGte},
        {"in", Op::kIn},     {"not_in", Op::kNotIn},  {"contains", Op::kContains},
        {"starts_with", Op::kStartsWith},             {"ends_with", Op::kEndsWith}};
    auto it = op->is_string() ? kOps.find(op->string()) : kOps.end();
    if (it == kOps.end()) {
      return Invalid(absl::StrCat("unknown where operator ", ToConvexJson(*op)));
    }
    w.op = it->second;
  }
  if (const Value* c = clause.Find("connector"); c != nullptr && !c->is_null()) {
    if (!c->is_string() || (c->string() != "AND" && c->string() != "OR")) {
      return Invalid("a where connector must be \"AND\" or \"OR\"");
    }
    w.or_connector = c->string() == "OR";
  }
  // `mode` ("sensitive"/"insensitive", newer Better Auth) is accepted; comparisons here
  // are case-sensitive, as the Convex adapters' are.
  return w;
}

absl::StatusOr<WhereList> WhereListFromValue(const Value& where) {
  WhereList out;
  if (where.is_null()) return out;
  if (!where.is_array()) return Invalid("where must be an array of clauses");
  for (const Value& c : where.array()) {
    CVX_ASSIGN_OR_RETURN(Where w, Where::FromValue(c));
    out.push_back(std::move(w));
  }
  return out;
}

Adapter::Adapter(MutationCtx* ctx, const Models* models, const Triggers* triggers)
    : ctx_(ctx), writer_(ctx->db().WithoutTriggers()), models_(models), triggers_(triggers) {}

Adapter::Adapter(QueryCtx* qctx, const Models* models) : qctx_(qctx), models_(models) {}

DatabaseReader& Adapter::reader() {
  if (writer_) return *writer_;
  return qctx_->db();
}

absl::StatusOr<DatabaseWriter*> Adapter::writer() {
  if (!writer_) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "ReadOnly",
                     "Better Auth cannot write from a query");
  }
  return &*writer_;
}

const ModelTriggers* Adapter::TriggersFor(std::string_view model) const {
  if (triggers_ == nullptr) return nullptr;
  auto it = triggers_->find(model);
  return it == triggers_->end() ? nullptr : &it->second;
}

absl::StatusOr<const ModelSpec*> Adapter::Spec(std::string_view model) const {
  const ModelSpec* spec = models_->Find(model);
  if (spec == nullptr) return Invalid(absl::StrCat("Model \"", AV(model), "\" not found in schema"));
  return spec;
}

absl::Status Adapter::Normalize(const ModelSpec& model, WhereList* where) const {
  for (Where& w : *where) {
    if (w.field == "id" || w.field == "_id") {
      w.field = "_id";
    } else if (w.field != "_creationTime" && model.Field(w.field) == nullptr) {
      return Invalid(absl::StrCat("Field ", w.field, " not found in model ", model.name));
    }
    if ((w.op == Op::kIn || w.op == Op::kNotIn) && !w.value.is_array()) {
      return Invalid(absl::StrCat("Value must be an array for the ",
                                  w.op == Op::kIn ? "in" : "not_in", " operator"));
    }
    if (model.IsDate(w.field)) {
      auto convert = [](Value& v) {
        if (!v.is_string()) return;
        if (std::optional<double> ms = ParseIsoDateMs(v.string())) v = Value::Float64(*ms);
      };
      if (w.value.is_array()) {
        for (Value& v : w.value.mutable_array()) convert(v);
      } else {
        convert(w.value);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Adapter::NormalizeData(const ModelSpec& model, Object* data) const {
  data->erase("id");  // newer Better Auth may send one; Convex assigns _id
  data->erase("_id");
  for (auto it = data->begin(); it != data->end();) {
    if (model.Field(it->first) == nullptr) {
      it = data->erase(it);  // the factory drops keys that are not in the schema
      continue;
    }
    if (model.IsDate(it->first) && it->second.is_string()) {
      std::optional<double> ms = ParseIsoDateMs(it->second.string());
      if (!ms) {
        return Invalid(absl::StrCat("Field ", it->first, " of model ", model.name,
                                    " is not a date: ", it->second.string()));
      }
      it->second = Value::Float64(*ms);
    }
    ++it;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Value>> Adapter::Match(const ModelSpec& model, const WhereList& where) {
  std::vector<const Where*> and_group, or_group;
  for (const Where& w : where) (w.or_connector ? or_group : and_group).push_back(&w);

  std::vector<Scan> scans;
  Scan conj = PlanConjunction(model, and_group);
  if (conj.by_id || conj.score > 0) {
    scans.push_back(std::move(conj));
  } else if (!or_group.empty()) {
    // Every OR branch must be indexable, else one table scan serves them all.
    for (const Where* w : or_group) {
      Scan s = PlanConjunction(model, {w});
      if (!s.by_id && s.score == 0) {
        scans.clear();
        break;
      }
      scans.push_back(std::move(s));
    }
  }
  if (scans.empty()) scans.push_back(Scan{});  // the whole table

  DatabaseReader& db = reader();
  std::vector<Value> out;
  std::set<std::string> seen;
  auto consider = [&](Value doc) {
    const std::string& id = doc.Find("_id")->string();
    if (seen.count(id) || !Matches(doc, where)) return;
    seen.insert(id);
    out.push_back(std::move(doc));
  };
  for (const Scan& s : scans) {
    if (s.by_id) {
      for (const std::string& id : s.ids) {
        std::optional<std::string> normalized = db.NormalizeId(model.name, id);
        if (!normalized) continue;  // not an ID of this table: no row
        CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, db.Get(*normalized));
        if (doc) consider(std::move(*doc));
      }
      continue;
    }
    cvx::Query query = db.Query(model.name);
    if (s.index != "by_creation_time") {
      query.WithIndex(s.index, [&](IndexRangeBuilder& q) {
        for (const auto& [field, value] : s.eqs) q.Eq(field, value);
        for (const Where* b : s.bounds) {
          switch (b->op) {
            case Op::kLt: q.Lt(b->field, b->value); break;
            case Op::kLte: q.Lte(b->field, b->value); break;
            case Op::kGt: q.Gt(b->field, b->value); break;
            default: q.Gte(b->field, b->value); break;
          }
        }
      });
    }
    absl::StatusOr<std::vector<Value>> docs = query.Collect();
    if (!docs.ok() && s.bounds.size() > 1 && absl::IsInvalidArgument(docs.status())) {
      // Contradictory or repeated bounds (gt 5 and gt 7): scan the eq prefix and filter.
      cvx::Query prefix = db.Query(model.name);
      prefix.WithIndex(s.index, [&](IndexRangeBuilder& q) {
        for (const auto& [field, value] : s.eqs) q.Eq(field, value);
      });
      docs = prefix.Collect();
    }
    if (!docs.ok()) return docs.status();
    for (Value& d : *docs) consider(std::move(d));
  }
  if (scans.size() > 1 || scans[0].by_id || scans[0].index != "by_creation_time") {
    // by_creation_time order: (_creationTime, _id).
    std::sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
      double x = AsNumber(*a.Find("_creationTime")), y = AsNumber(*b.Find("_creationTime"));
      if (x != y) return x < y;
      return CompareValues(*a.Find("_id"), *b.Find("_id")) < 0;
    });
  }
  return out;
}

absl::StatusOr<std::string> Adapter::ChosenIndex(std::string_view model_name,
                                                 const WhereList& where_in) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  std::vector<const Where*> and_group;
  for (const Where& w : where) {
    if (!w.or_connector) and_group.push_back(&w);
  }
  return PlanConjunction(*model, and_group).index;
}

Value Adapter::ToOutput(const Value& doc) {
  Object out;
  for (const auto& [k, v] : doc.object()) {
    if (k == "_creationTime") continue;
    out.emplace(k == "_id" ? "id" : k, v);
  }
  return Value::FromObject(std::move(out));
}

absl::Status Adapter::CheckUnique(const ModelSpec& model, const Object& data,
                                  std::optional<std::string_view> self_id) {
  for (const FieldSpec& f : model.fields) {
    if (!f.unique) continue;
    auto it = data.find(f.name);
    if (it == data.end() || it->second.is_null()) continue;
    const std::vector<std::string>* index = nullptr;
    for (const auto& idx : model.indexes) {
      if (idx.front() == f.name) {
        index = &idx;
        break;
      }
    }
    if (index == nullptr) {
      return Invalid(absl::StrCat("No index found for ", model.name, " ", f.name));
    }
    CVX_ASSIGN_OR_RETURN(
        std::vector<Value> docs,
        reader()
            .Query(model.name)
            .WithIndex(ModelSpec::IndexName(*index),
                       [&](IndexRangeBuilder& q) { q.Eq(f.name, it->second); })
            .Take(2));
    for (const Value& d : docs) {
      if (self_id && d.Find("_id")->string() == *self_id) continue;
      return MakeError(absl::StatusCode::kAlreadyExists, "BetterAuthAdapterError",
                       absl::StrCat(model.name, " ", f.name, " already exists"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Adapter::Create(std::string_view model_name, Object data,
                                      const std::vector<std::string>& select) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  CVX_ASSIGN_OR_RETURN(DatabaseWriter * db, writer());
  CVX_RETURN_IF_ERROR(NormalizeData(*model, &data));
  for (const FieldSpec& f : model->fields) {
    if (f.default_value && !data.count(f.name)) data.emplace(f.name, *f.default_value);
  }
  const ModelTriggers* hooks = TriggersFor(model->name);
  if (hooks && hooks->before_create) {
    CVX_ASSIGN_OR_RETURN(std::optional<Object> replaced, hooks->before_create(*ctx_, data));
    if (replaced) data = std::move(*replaced);
  }
  CVX_RETURN_IF_ERROR(CheckUnique(*model, data, std::nullopt));
  CVX_ASSIGN_OR_RETURN(std::string id, db->Insert(model->name, std::move(data)));
  CVX_ASSIGN_OR_RETURN(std::optional<Value> doc, db->Get(id));
  if (!doc) return absl::InternalError("inserted document vanished");
  if (hooks && hooks->on_create) CVX_RETURN_IF_ERROR(hooks->on_create(*ctx_, *doc));
  Value out = convex_shape_ ? *doc : ToOutput(*doc);
  if (!select.empty()) {
    Object picked;
    for (const auto& [k, v] : out.object()) {
      if (k == "id" || k == "_id" || std::find(select.begin(), select.end(), k) != select.end()) {
        picked.emplace(k, v);
      }
    }
    out = Value::FromObject(std::move(picked));
  }
  return out;
}

absl::StatusOr<std::optional<Value>> Adapter::FindOne(std::string_view model_name,
                                                      const WhereList& where) {
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, FindMany(model_name, where, 1));
  if (docs.empty()) return std::nullopt;
  return std::move(docs.front());
}

absl::StatusOr<std::vector<Value>> Adapter::FindMany(std::string_view model_name,
                                                     const WhereList& where_in, size_t limit,
                                                     const std::optional<SortBy>& sort,
                                                     size_t offset) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  if (sort) {
    std::string field = sort->field == "id" ? "_id" : sort->field;
    if (field != "_id" && model->Field(field) == nullptr) {
      return Invalid(absl::StrCat("Field ", sort->field, " not found in model ", model->name));
    }
    std::stable_sort(docs.begin(), docs.end(), [&](const Value& a, const Value& b) {
      const Value* x = a.Find(field);
      const Value* y = b.Find(field);
      if (x == nullptr || y == nullptr) {  // undefined sorts first, as in Convex
        return sort->descending ? (y == nullptr && x != nullptr) : (x == nullptr && y != nullptr);
      }
      std::optional<int> c = Compare(*x, *y);
      int order = c ? *c : CompareValues(*x, *y);
      return sort->descending ? order > 0 : order < 0;
    });
  }
  std::vector<Value> out;
  for (size_t i = offset; i < docs.size() && out.size() < limit; ++i) {
    out.push_back(convex_shape_ ? docs[i] : ToOutput(docs[i]));
  }
  return out;
}

absl::StatusOr<int64_t> Adapter::Count(std::string_view model_name, const WhereList& where_in) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  return static_cast<int64_t>(docs.size());
}

absl::StatusOr<std::optional<Value>> Adapter::UpdateDoc(const ModelSpec& model, const Value& doc,
                                                        Object update) {
  CVX_ASSIGN_OR_RETURN(DatabaseWriter * db, writer());
  CVX_RETURN_IF_ERROR(NormalizeData(model, &update));
  const ModelTriggers* hooks = TriggersFor(model.name);
  if (hooks && hooks->before_update) {
    CVX_ASSIGN_OR_RETURN(std::optional<Object> replaced, hooks->before_update(*ctx_, doc, update));
    if (replaced) update = std::move(*replaced);
  }
  const std::string& id = doc.Find("_id")->string();
  CVX_RETURN_IF_ERROR(CheckUnique(model, update, id));
  cvx::Patch patch;
  for (auto& [k, v] : update) patch.emplace(k, std::move(v));
  CVX_RETURN_IF_ERROR(db->Patch(id, patch));
  CVX_ASSIGN_OR_RETURN(std::optional<Value> updated, db->Get(id));
  if (!updated) return std::nullopt;  // a before hook deleted it
  if (hooks && hooks->on_update) CVX_RETURN_IF_ERROR(hooks->on_update(*ctx_, *updated, doc));
  return convex_shape_ ? *updated : ToOutput(*updated);
}

absl::StatusOr<std::optional<Value>> Adapter::UpdateOne(std::string_view model_name,
                                                        const WhereList& where_in, Object update) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  if (docs.empty()) return std::nullopt;
  return UpdateDoc(*model, docs.front(), std::move(update));
}

absl::StatusOr<int64_t> Adapter::UpdateMany(std::string_view model_name, const WhereList& where_in,
                                            Object update) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  for (const Value& doc : docs) CVX_RETURN_IF_ERROR(UpdateDoc(*model, doc, update).status());
  return static_cast<int64_t>(docs.size());
}

absl::Status Adapter::DeleteDoc(const ModelSpec& model, const Value& doc) {
  CVX_ASSIGN_OR_RETURN(DatabaseWriter * db, writer());
  const ModelTriggers* hooks = TriggersFor(model.name);
  Value hook_doc = doc;
  if (hooks && hooks->before_delete) {
    CVX_ASSIGN_OR_RETURN(std::optional<Value> replaced, hooks->before_delete(*ctx_, doc));
    if (replaced) hook_doc = std::move(*replaced);
  }
  const std::string& id = doc.Find("_id")->string();
  CVX_ASSIGN_OR_RETURN(std::optional<Value> still_there, db->Get(id));
  if (still_there) CVX_RETURN_IF_ERROR(db->Delete(id));
  if (hooks && hooks->on_delete) CVX_RETURN_IF_ERROR(hooks->on_delete(*ctx_, hook_doc));
  return absl::OkStatus();
}

absl::Status Adapter::DeleteOne(std::string_view model_name, const WhereList& where_in) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  if (docs.empty()) return absl::OkStatus();
  return DeleteDoc(*model, docs.front());
}

absl::StatusOr<int64_t> Adapter::DeleteMany(std::string_view model_name,
                                            const WhereList& where_in) {
  CVX_ASSIGN_OR_RETURN(const ModelSpec* model, Spec(model_name));
  WhereList where = where_in;
  CVX_RETURN_IF_ERROR(Normalize(*model, &where));
  CVX_ASSIGN_OR_RETURN(std::vector<Value> docs, Match(*model, where));
  for (const Value& doc : docs) CVX_RETURN_IF_ERROR(DeleteDoc(*model, doc));
  return static_cast<int64_t>(docs.size());
}

}  // namespace cvx::auth
