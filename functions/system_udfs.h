// File: functions/system_udfs.h
//
// The `_system/cli/*` queries that the `npx convex` CLI (and `convexlite`'s remote mode)
// subscribe to or call, with the result shapes of get-convex/convex-backend's
// system-udfs (see docs/design/remote-cli.md):
//
//   _system/cli/queryEnvironmentVariables       {} -> [{_id,_creationTime,name,value}] by name
//   _system/cli/queryEnvironmentVariables:get   {name} -> that document | null
//   _system/cli/tables                          {paginationOpts} -> {page:[{name}],isDone,continueCursor}
//   _system/cli/tableData                       {table, order?, paginationOpts} -> a page of documents
//   _system/cli/exports:getLatest               {} -> the newest _exports row | null
//   _system/cli/queryImport                     {importId} -> that _snapshot_imports row | null
//   _system/cli/queryImport:list                {} -> the newest 20 _snapshot_imports rows
//   _system/cli/convexUrl:cloudUrl              {} -> CONVEX_CLOUD_URL
//   _system/cli/modules:apiSpec                 {componentId?} -> [{identifier:"dir/f.js:fn",
//                                                 functionType, visibility, args, returns} |
//                                                 {functionType:"HttpAction", method, path}]
//
// They run as queries (reactive over the sync protocol) and only for admins: any other
// caller gets kPermissionDenied "Unauthorized" ("Operation query not permitted"), as
// Convex answers. They shadow any function an app registers under the same path.

#ifndef CVX_FUNCTIONS_SYSTEM_UDFS_H_
#define CVX_FUNCTIONS_SYSTEM_UDFS_H_

#include <string_view>

#include "functions/app.h"

namespace cvx {

inline constexpr char kExportsTable[] = "_exports";
inline constexpr char kSnapshotImportsTable[] = "_snapshot_imports";

// The system function at a canonical path ("_system/cli/tables:default"), or nullptr.
const RegisteredFunction* FindSystemFunction(std::string_view canonical_path);

}  // namespace cvx

#endif  // CVX_FUNCTIONS_SYSTEM_UDFS_H_
