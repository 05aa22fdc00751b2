// `convexlite data [TABLE] [--limit N] [--order asc|desc] [--format ...]`: lists the tables,
// or a table's documents, printed as `npx convex data` prints them (convex@1.48.0
// src/cli/lib/data.ts): sorted table names one per line; documents newest first by
// default, as a table with `_id`, `_creationTime`, then the other fields sorted, cells
// padded to the widest value and joined with " | "; or JSON-ish lines with --format.

#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/value/json.h"
#include "functions/auth/crypto.h"
#include "functions/context.h"
#include "tools/target.h"

#include "engine/base/status_macros.h"

namespace cvx::tools {
namespace {

constexpr char kDataUsage[] =
    "usage: convexlite data [TABLE] [--limit N] [--order asc|desc]\n"
    "                       [--format pretty|json|jsonArray|jsonLines|jsonl]\n"
    "                       [--data DIR | --url URL --admin-key KEY]\n"
    "\n"
    "Lists the tables, or the documents of TABLE (newest first, 100 by default), like\n"
    "`npx convex data`.\n";

// The CLI's stringify(): JS-like text of a Convex value.
std::string Stringify(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: return "null";
    case ValueType::kInt64: return absl::StrCat(v.int64(), "n");
    case ValueType::kFloat64: return FormatJsNumber(v.float64());
    case ValueType::kBoolean: return v.boolean() ? "true" : "false";
    case ValueType::kString: {
      std::string out;
      AppendConvexJson(v, &out);
      return out;
    }
    case ValueType::kBytes: return absl::StrCat("Bytes(\"", Base64Encode(v.bytes()), "\")");
    case ValueType::kArray: {
      std::vector<std::string> parts;
      for (const Value& e : v.array()) parts.push_back(Stringify(e));
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case ValueType::kObject: {
      std::vector<std::string> parts;
      for (const auto& [k, e] : v.object()) parts.push_back(absl::StrCat("\"", k, "\": ", Stringify(e)));
      return absl::StrCat("{ ", absl::StrJoin(parts, ", "), " }");
    }
  }
  return "";
}

std::string PadEnd(const std::string& s, size_t width) {
  size_t len = auth::Utf16Length(s);
  return len >= width ? s : s + std::string(width - len, ' ');
}

void PrintTable(const std::vector<Value>& docs) {
  std::map<std::string, size_t> widths;
  for (const Value& d : docs) {
    for (const auto& [k, v] : d.object()) {
      widths[k] = std::max(widths[k], auth::Utf16Length(Stringify(v)));
    }
  }
  std::vector<std::string> fields = {"_id", "_creationTime"};
  for (const auto& [k, w] : widths) {
    if (k != "_id" && k != "_creationTime") fields.push_back(k);
  }
  std::vector<std::string> header, rule;
  for (const std::string& f : fields) {
    header.push_back(PadEnd(f, widths[f]));
    rule.push_back(std::string(widths[f], '-'));
  }
  std::printf("%s\n%s\n", absl::StrJoin(header, " | ").c_str(), absl::StrJoin(rule, "-|-").c_str());
  for (const Value& d : docs) {
    std::vector<std::string> cells;
    for (const std::string& f : fields) {
      const Value* v = d.Find(f);
      cells.push_back(PadEnd(v ? Stringify(*v) : "", widths[f]));
    }
    std::printf("%s\n", absl::StrJoin(cells, " | ").c_str());
  }
}

}  // namespace

absl::Status ReadLocal(const App& app, const Target& target, const std::optional<std::string>& table,
                       size_t count, const std::string& order, std::vector<std::string>* names,
                       std::vector<Value>* docs) {
  CVX_RETURN_IF_ERROR(RequireDataDir(target.data));
  CVX_ASSIGN_OR_RETURN(LocalBackend local, OpenLocal(app, target.data));
  if (!table) {
    for (const std::string& name : local.db->TableNames()) {
      if (!name.empty() && name[0] != '_') names->push_back(name);
    }
    return absl::OkStatus();
  }
  std::unique_ptr<Transaction> txn = local.db->Begin();
  ExecutionState state(Limits{}, 0, 1);
  DatabaseReader reader(txn.get(), &state, &app.schema(), /*system=*/false);
  CVX_ASSIGN_OR_RETURN(std::optional<uint32_t> number, txn->TableNumber(*table));
  if (!number) return absl::OkStatus();
  CVX_ASSIGN_OR_RETURN(*docs, reader.Query(*table).Order(order == "asc" ? Order::kAsc : Order::kDesc).Take(count));
  return absl::OkStatus();
}

absl::Status ReadRemote(const Target& target, const std::optional<std::string>& table, size_t count,
                        const std::string& order, std::vector<std::string>* names,
                        std::vector<Value>* docs) {
  Value cursor = Value::Null();
  for (;;) {
    size_t want = table ? count - docs->size() : 10000;
    Object args{{"paginationOpts", Value::FromObject({{"cursor", cursor},
                                                      {"numItems", Value::Float64(static_cast<double>(want))}})}};
    if (table) {
      args["table"] = Value::String(*table);
      args["order"] = Value::String(order);
    }
    CVX_ASSIGN_OR_RETURN(Value page, CallRemote(target, table ? "_system/cli/tableData" : "_system/cli/tables",
                                                Value::FromObject(std::move(args))));
    const Value* rows = page.Find("page");
    if (rows == nullptr || !rows->is_array()) return absl::UnavailableError("unexpected reply from the server");
    for (const Value& row : rows->array()) {
      if (table) {
        docs->push_back(row);
      } else if (const Value* name = row.Find("name"); name && name->is_string()) {
        names->push_back(name->string());
      }
    }
    const Value* done = page.Find("isDone");
    if (done == nullptr || !done->is_boolean() || done->boolean() || (table && docs->size() >= count)) break;
    cursor = *page.Find("continueCursor");
  }
  std::sort(names->begin(), names->end());
  return absl::OkStatus();
}

int Data(const App& app, int argc, char** argv) {
  Target target;
  std::optional<std::string> table;
  size_t limit = 100;
  std::string order = "desc", format = "pretty";
  auto data_flag = [&](int* i, int* exit_code) {
    std::string_view arg = argv[*i];
    if (arg != "--limit" && arg != "--order" && arg != "--format") return false;
    const char* value = FlagValue(argc, argv, i);
    std::string text = value ? value : "";
    const char* error = nullptr;
    if (arg == "--limit") {
      if (!absl::SimpleAtoi(text, &limit) || limit == 0) error = "--limit needs a positive integer";
    } else if (arg == "--order") {
      order = text;
      if (order != "asc" && order != "desc") error = "--order is asc or desc";
    } else {
      format = text;
      if (format != "pretty" && format != "json" && format != "jsonArray" && format != "jsonLines" &&
          format != "jsonl") {
        error = "--format is pretty, json, jsonArray, jsonLines or jsonl";
      }
    }
    if (error != nullptr) {
      std::fprintf(stderr, "convexlite data: %s\n", error);
      *exit_code = 2;
    }
    return true;
  };
  std::vector<std::string> words;
  if (std::optional<int> code = ParseCommand(argc, argv, "data", kDataUsage, &target, &words, data_flag)) {
    return *code;
  }
  if (words.size() > 1) {
    std::fputs(kDataUsage, stderr);
    return 2;
  }
  if (!words.empty()) table = words[0];
  // The table names (no table given) or the table's newest/oldest limit + 1 documents, from
  // the data directory or, like `npx convex data`, from the _system/cli queries.
  std::vector<std::string> names;
  std::vector<Value> docs;
  absl::Status status = target.remote() ? ReadRemote(target, table, limit + 1, order, &names, &docs)
                                        : ReadLocal(app, target, table, limit + 1, order, &names, &docs);
  if (!status.ok()) {
    std::fprintf(stderr, "convexlite data: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  if (!table) {
    if (names.empty()) {
      std::fprintf(stderr, "There are no tables in the database.\n");
      return 0;
    }
    std::printf("%s\n", absl::StrJoin(names, "\n").c_str());
    return 0;
  }
  if (docs.empty()) {
    std::fprintf(stderr, "There are no documents in this table.\n");
    return 0;
  }
  bool more = docs.size() > limit;
  if (more) docs.resize(limit);
  if (format == "json" || format == "jsonArray") {
    std::vector<std::string> parts;
    for (const Value& d : docs) parts.push_back(Stringify(d));
    std::printf("[\n%s\n]\n", absl::StrJoin(parts, ",\n").c_str());
  } else if (format == "jsonLines" || format == "jsonl") {
    for (const Value& d : docs) std::printf("%s\n", Stringify(d).c_str());
  } else {
    PrintTable(docs);
    if (more) {
      std::fprintf(stderr, "Showing the %zu %s created document%s. Use the --limit option to see more.\n",
                   limit, order == "desc" ? "most recently" : "oldest", limit > 1 ? "s" : "");
    }
  }
  return 0;
}

}  // namespace cvx::tools
