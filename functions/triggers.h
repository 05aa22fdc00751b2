// File: functions/triggers.h
//
// Per-table write hooks with better-auth-convex's semantics, run by DatabaseWriter inside
// the writing mutation's transaction:
//   beforeCreate(db, data)        -> replacement data (or an error to abort)
//   onCreate(db, doc)             after the insert, sees the new document
//   beforeUpdate(db, old, fields) -> replacement fields
//   onUpdate(db, new_doc, old_doc)
//   beforeDelete(db, doc), onDelete(db, doc)
// A trigger's own writes go through the same writer (and fire triggers, to a depth of 16).
// Any error aborts the whole mutation: nothing it or its triggers wrote persists.
//
// Register before the runner starts; read-only afterwards (thread-safe for reading).

#ifndef CVX_FUNCTIONS_TRIGGERS_H_
#define CVX_FUNCTIONS_TRIGGERS_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/value/value.h"

namespace cvx {

class DatabaseWriter;

struct TableTriggers {
  std::function<absl::StatusOr<Object>(DatabaseWriter&, Object data)> before_create;
  std::function<absl::Status(DatabaseWriter&, const Value& doc)> on_create;
  std::function<absl::StatusOr<Object>(DatabaseWriter&, const Value& old_doc, Object fields)>
      before_update;
  std::function<absl::Status(DatabaseWriter&, const Value& new_doc, const Value& old_doc)>
      on_update;
  std::function<absl::Status(DatabaseWriter&, const Value& doc)> before_delete;
  std::function<absl::Status(DatabaseWriter&, const Value& doc)> on_delete;
};

class TriggerRegistry {
 public:
  TableTriggers& For(std::string table) { return tables_[std::move(table)]; }
  const TableTriggers* Find(std::string_view table) const {
    auto it = tables_.find(std::string(table));
    return it == tables_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, TableTriggers> tables_;
};

inline constexpr int kMaxTriggerDepth = 16;

}  // namespace cvx

#endif  // CVX_FUNCTIONS_TRIGGERS_H_
