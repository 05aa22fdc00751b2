// File: functions/app.h
//
// An App is what a convexlite user builds: a schema, named functions and triggers. It is
// the registry the Runner executes from. Build it on one thread before serving; it is
// read-only (and thread-safe) afterwards.
//
//   App app;
//   app.SetSchema(DefineSchema().Table("blobs", DefineTable(v::Object({{"value", v::Any()}}))));
//   app.Query("values:echo", v::Object({{"value", v::Any()}}),
//             [](QueryCtx&, const Object& args) -> absl::StatusOr<Value> {
//               return args.at("value");
//             });

#ifndef CVX_FUNCTIONS_APP_H_
#define CVX_FUNCTIONS_APP_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "engine/value/value.h"
#include "functions/auth/jwt.h"
#include "functions/context.h"
#include "functions/http_router.h"
#include "functions/triggers.h"
#include "schema/schema.h"
#include "schema/validator.h"

namespace cvx {

enum class FunctionType { kQuery, kMutation, kAction };
enum class Visibility { kPublic, kInternal };

const char* FunctionTypeName(FunctionType type);  // "Query", "Mutation", "Action"

using QueryHandler = std::function<absl::StatusOr<Value>(QueryCtx&, const Object& args)>;
using MutationHandler = std::function<absl::StatusOr<Value>(MutationCtx&, const Object& args)>;
using ActionHandler = std::function<absl::StatusOr<Value>(ActionCtx&, const Object& args)>;

struct RegisteredFunction {
  std::string path;  // canonical "dir/file:fn"
  FunctionType type;
  Visibility visibility;
  std::optional<Validator> args;     // nullopt: v.any()
  std::optional<Validator> returns;  // nullopt: unchecked
  std::variant<QueryHandler, MutationHandler, ActionHandler> handler;

  // exportArgs() / exportReturns() JSON.
  Value ArgsJson() const;
  Value ReturnsJson() const;
};

class App {
 public:
  App& SetSchema(SchemaDefinition schema);
  const SchemaDefinition& schema() const { return schema_; }

  // Registration. `path` may be given in any accepted form ("messages:list",
  // "dir/file.js:fn"); it is canonicalized. An invalid path or a duplicate aborts the
  // program at registration time (a programming error, like a bad static table).
  App& Query(std::string_view path, std::optional<Validator> args, QueryHandler handler,
             std::optional<Validator> returns = std::nullopt);
  App& Mutation(std::string_view path, std::optional<Validator> args, MutationHandler handler,
                std::optional<Validator> returns = std::nullopt);
  App& Action(std::string_view path, std::optional<Validator> args, ActionHandler handler,
              std::optional<Validator> returns = std::nullopt);
  App& InternalQuery(std::string_view path, std::optional<Validator> args, QueryHandler handler,
                     std::optional<Validator> returns = std::nullopt);
  App& InternalMutation(std::string_view path, std::optional<Validator> args,
                        MutationHandler handler,
                        std::optional<Validator> returns = std::nullopt);
  App& InternalAction(std::string_view path, std::optional<Validator> args, ActionHandler handler,
                      std::optional<Validator> returns = std::nullopt);

  // HTTP actions, served at the site port's root and under /http/ on the API port.
  HttpRouter& http() { return http_; }
  const HttpRouter& http() const { return http_; }

  // auth.config.ts: the providers whose JWTs identify callers (see functions/auth/jwt.h).
  App& AddAuthProvider(AuthProvider provider) {
    auth_providers_.push_back(std::move(provider));
    return *this;
  }
  const std::vector<AuthProvider>& auth_providers() const { return auth_providers_; }

  // Keeps `object` alive as long as the App (for registrations whose handlers point into
  // it, like auth::BetterAuth).
  void Retain(std::shared_ptr<void> object) { retained_.push_back(std::move(object)); }

  TriggerRegistry& triggers() { return triggers_; }
  const TriggerRegistry& triggers() const { return triggers_; }

  // The function at a canonical path, or nullptr.
  const RegisteredFunction* Find(std::string_view canonical_path) const;
  const std::map<std::string, RegisteredFunction, std::less<>>& functions() const {
    return functions_;
  }

 private:
  App& Register(RegisteredFunction function);
  SchemaDefinition schema_;
  std::map<std::string, RegisteredFunction, std::less<>> functions_;
  TriggerRegistry triggers_;
  HttpRouter http_;
  std::vector<AuthProvider> auth_providers_;
  std::vector<std::shared_ptr<void>> retained_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_APP_H_
