#include "functions/crons.h"

#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/base/error.h"
#include "engine/base/status_macros.h"
#include "engine/database.h"
#include "engine/value/json.h"
#include "functions/context.h"
#include "functions/function_path.h"
#include "functions/runner.h"

namespace cvx {
namespace {

absl::Status BadCron(std::string_view what) { return InvalidArgument("InvalidCron", what); }

double Number(const Value& schedule, const char* field, double fallback) {
  const Value* v = schedule.Find(field);
  if (v == nullptr) return fallback;
  if (v->is_float64()) return v->float64();
  if (v->is_int64()) return static_cast<double>(v->int64());
  return std::nan("");
}

// One cron field as the set of values it allows in [lo, hi].
absl::StatusOr<std::set<int>> ParseField(std::string_view text, int lo, int hi) {
  std::set<int> out;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    int step = 1;
    absl::string_view range = part;
    if (size_t slash = part.find('/'); slash != absl::string_view::npos) {
      if (!absl::SimpleAtoi(part.substr(slash + 1), &step) || step <= 0) return BadCron(absl::StrCat("bad step in ", part));
      range = part.substr(0, slash);
    }
    int from = lo, to = hi;
    if (range != "*") {
      size_t dash = range.find('-');
      if (!absl::SimpleAtoi(range.substr(0, dash), &from)) return BadCron(absl::StrCat("bad value ", part));
      to = from;
      if (dash != absl::string_view::npos && !absl::SimpleAtoi(range.substr(dash + 1), &to)) {
        return BadCron(absl::StrCat("bad range ", part));
      }
      if (part.find('/') != absl::string_view::npos && dash == absl::string_view::npos) to = hi;
    }
    if (from < lo || to > hi || from > to) return BadCron(absl::StrCat(part, " is out of range ", lo, "-", hi));
    for (int v = from; v <= to; v += step) out.insert(v);
  }
  return out;
}

absl::StatusOr<double> NextCronExpression(std::string_view expr, double after_ms) {
  std::vector<std::string> fields = absl::StrSplit(absl::string_view(expr.data(), expr.size()), ' ', absl::SkipEmpty());
  if (fields.size() != 5) return BadCron(absl::StrCat("a cron expression has 5 fields: ", AV(expr)));
  CVX_ASSIGN_OR_RETURN(std::set<int> minutes, ParseField(fields[0], 0, 59));
  CVX_ASSIGN_OR_RETURN(std::set<int> hours, ParseField(fields[1], 0, 23));
  CVX_ASSIGN_OR_RETURN(std::set<int> doms, ParseField(fields[2], 1, 31));
  CVX_ASSIGN_OR_RETURN(std::set<int> months, ParseField(fields[3], 1, 12));
  CVX_ASSIGN_OR_RETURN(std::set<int> dows, ParseField(fields[4], 0, 7));
  if (dows.count(7)) dows.insert(0);
  bool dom_any = fields[2] == "*", dow_any = fields[4] == "*";
  absl::Time after = absl::FromUnixMillis(static_cast<int64_t>(std::floor(after_ms)));
  absl::CivilMinute m = absl::ToCivilMinute(after, absl::UTCTimeZone()) + 1;
  for (int i = 0; i < 60 * 24 * 366 * 5; ++i, ++m) {
    if (!months.count(m.month())) {
      m = absl::CivilMinute(absl::CivilMonth(m) + 1) - 1;  // skip to the month's end
      continue;
    }
    int dow = static_cast<int>(absl::GetWeekday(absl::CivilDay(m)));  // Monday = 0 in absl
    dow = (dow + 1) % 7;                                               // Sunday = 0 in cron
    bool dom_ok = doms.count(m.day()) > 0, dow_ok = dows.count(dow) > 0;
    bool day_ok = dom_any && dow_any ? true : dom_any ? dow_ok : dow_any ? dom_ok : (dom_ok || dow_ok);
    if (!day_ok) {
      m = absl::CivilMinute(absl::CivilDay(m) + 1) - 1;
      continue;
    }
    if (!hours.count(m.hour())) {
      m = absl::CivilMinute(absl::CivilHour(m) + 1) - 1;
      continue;
    }
    if (minutes.count(m.minute())) {
      return static_cast<double>(absl::ToUnixMillis(absl::FromCivil(m, absl::UTCTimeZone())));
    }
  }
  return BadCron(absl::StrCat("the cron expression never runs: ", AV(expr)));
}

absl::StatusOr<std::string> ScheduleAsCron(const Value& schedule) {
  const Value* type = schedule.Find("type");
  if (type == nullptr || !type->is_string()) return BadCron("a schedule needs a type");
  double minute = Number(schedule, "minuteUTC", 0), hour = Number(schedule, "hourUTC", 0);
  auto whole = [](double v, int lo, int hi) { return v == std::floor(v) && v >= lo && v <= hi; };
  if (!whole(minute, 0, 59) || !whole(hour, 0, 23)) return BadCron("minuteUTC is 0-59 and hourUTC 0-23");
  std::string hm = absl::StrCat(static_cast<int>(minute), " ", static_cast<int>(hour));
  const std::string& t = type->string();
  if (t == "hourly") return absl::StrCat(static_cast<int>(minute), " * * * *");
  if (t == "daily") return absl::StrCat(hm, " * * *");
  if (t == "weekly") {
    static const char* kDays[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
    const Value* day = schedule.Find("dayOfWeek");
    for (int i = 0; i < 7; ++i) {
      if (day != nullptr && day->is_string() && day->string() == kDays[i]) return absl::StrCat(hm, " * * ", i);
    }
    return BadCron("weekly schedules need a dayOfWeek");
  }
  if (t == "monthly") {
    double day = Number(schedule, "day", 0);
    if (!whole(day, 1, 31)) return BadCron("monthly schedules need a day 1-31");
    return absl::StrCat(hm, " ", static_cast<int>(day), " * *");
  }
  if (t == "cron") {
    const Value* cron = schedule.Find("cron");
    if (cron == nullptr || !cron->is_string()) return BadCron("cron schedules need a cron expression");
    return cron->string();
  }
  return BadCron(absl::StrCat("unknown schedule type ", t));
}

Object RowFor(const CronSpec& spec, double next_ts) {
  return Object{{"name", Value::String(spec.name)},
                {"udfPath", Value::String(spec.function_path)},
                {"args", Value::FromArray({Value::FromObject(spec.args)})},
                {"schedule", spec.schedule},
                {"nextTs", Value::Float64(next_ts)}};
}

absl::StatusOr<std::vector<Document>> CronRows(Transaction& txn) {
  ScanRequest all;
  all.table = kCronJobsTable;
  all.index = "by_id";
  CVX_ASSIGN_OR_RETURN(ScanResult rows, txn.Scan(all));
  return std::move(rows.documents);
}

}  // namespace

absl::StatusOr<double> NextCronRun(const Value& schedule, double after_ms) {
  const Value* type = schedule.Find("type");
  if (type != nullptr && type->is_string() && type->string() == "interval") {
    double seconds = Number(schedule, "seconds", 0) + 60 * Number(schedule, "minutes", 0) +
                     3600 * Number(schedule, "hours", 0);
    if (!(seconds > 0)) return BadCron("an interval must be positive");
    return after_ms + seconds * 1000;
  }
  CVX_ASSIGN_OR_RETURN(std::string expr, ScheduleAsCron(schedule));
  return NextCronExpression(expr, after_ms);
}

absl::StatusOr<std::vector<CronSpec>> ParseCronSpecs(const Value& json) {
  if (!json.is_object()) return BadCron("crons.js's export() is not an object");
  std::vector<CronSpec> out;
  for (const auto& [name, job] : json.object()) {
    const Value* fn = job.Find("name");
    const Value* schedule = job.Find("schedule");
    if (fn == nullptr || !fn->is_string() || schedule == nullptr || !schedule->is_object()) {
      return BadCron(absl::StrCat("cron job '", name, "' needs a function name and a schedule"));
    }
    absl::StatusOr<std::string> path = CanonicalizeFunctionPath(fn->string());
    if (!path.ok()) return BadCron(absl::StrCat("cron job '", name, "': ", path.status().message()));
    Object args;
    if (const Value* a = job.Find("args"); a != nullptr && a->is_array() && !a->array().empty() && a->array()[0].is_object()) {
      args = a->array()[0].object();
    }
    if (absl::StatusOr<double> next = NextCronRun(*schedule, 0); !next.ok()) {
      return BadCron(absl::StrCat("cron job '", name, "': ", next.status().message()));
    }
    out.push_back(CronSpec{name, *path, std::move(args), *schedule});
  }
  return out;
}

absl::Status SyncCronJobs(Transaction& txn, const std::vector<CronSpec>& specs, double now_ms) {
  CVX_ASSIGN_OR_RETURN(std::vector<Document> rows, CronRows(txn));
  std::map<std::string, const CronSpec*> wanted;
  for (const CronSpec& s : specs) wanted[s.name] = &s;
  for (const Document& row : rows) {
    auto name = row.fields.find("name");
    auto it = name != row.fields.end() && name->second.is_string() ? wanted.find(name->second.string()) : wanted.end();
    if (it == wanted.end()) {
      CVX_RETURN_IF_ERROR(txn.Delete(row.id));
      continue;
    }
    Object fresh = RowFor(*it->second, 0);
    bool same = true;
    for (const char* field : {"udfPath", "args", "schedule"}) {
      auto have = row.fields.find(field);
      same = same && have != row.fields.end() && have->second == fresh.at(field);
    }
    if (!same) {
      CVX_ASSIGN_OR_RETURN(double next, NextCronRun(it->second->schedule, now_ms));
      CVX_RETURN_IF_ERROR(txn.Replace(row.id, RowFor(*it->second, next)));
    }
    wanted.erase(it);
  }
  for (const auto& [name, spec] : wanted) {
    CVX_ASSIGN_OR_RETURN(double next, NextCronRun(spec->schedule, now_ms));
    CVX_RETURN_IF_ERROR(txn.Insert(kCronJobsTable, RowFor(*spec, next)).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RunDueCrons(Runner& runner, double now_ms) {
  std::vector<Document> due;
  {
    auto txn = runner.db().Begin();
    CVX_ASSIGN_OR_RETURN(std::vector<Document> rows, CronRows(*txn));
    for (Document& row : rows) {
      auto next = row.fields.find("nextTs");
      if (next != row.fields.end() && next->second.is_float64() && next->second.float64() <= now_ms) {
        due.push_back(std::move(row));
      }
    }
  }
  int ran = 0;
  for (const Document& candidate : due) {
    bool scheduled = false;
    CVX_RETURN_IF_ERROR(CommitWithRetries(runner.db(), [&](Transaction& txn) -> absl::Status {
      scheduled = false;
      CVX_ASSIGN_OR_RETURN(std::optional<Document> row, txn.Get(candidate.id));
      if (!row) return absl::OkStatus();  // removed by a push
      const Value* next = row->fields.count("nextTs") ? &row->fields.at("nextTs") : nullptr;
      if (next == nullptr || !next->is_float64() || next->float64() > now_ms) return absl::OkStatus();
      ExecutionState state(Limits(), now_ms, 0);
      DatabaseWriter writer(&txn, &state, nullptr, nullptr);
      Scheduler scheduler(&writer, &state, &runner);
      const Value& args = row->fields.at("args");
      Object call_args = args.is_array() && !args.array().empty() && args.array()[0].is_object()
                             ? args.array()[0].object()
                             : Object{};
      absl::StatusOr<std::string> job =
          scheduler.RunAt(next->float64(), row->fields.at("udfPath").string(), std::move(call_args));
      // A cron whose function is gone (the app changed under it) just advances.
      CVX_ASSIGN_OR_RETURN(double following, NextCronRun(row->fields.at("schedule"), now_ms));
      Object updated = row->fields;
      updated["nextTs"] = Value::Float64(following);
      CVX_RETURN_IF_ERROR(txn.Replace(row->id, std::move(updated)));
      scheduled = job.ok();
      return absl::OkStatus();
    }, "run a cron job"));
    ran += scheduled ? 1 : 0;
  }
  return ran;
}

}  // namespace cvx
