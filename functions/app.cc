#include "functions/app.h"

#include <cstdio>
#include <cstdlib>

#include "functions/function_path.h"

namespace cvx {

const char* FunctionTypeName(FunctionType type) {
  switch (type) {
    case FunctionType::kQuery: return "Query";
    case FunctionType::kMutation: return "Mutation";
    case FunctionType::kAction: return "Action";
  }
  return "Unknown";
}

Value RegisteredFunction::ArgsJson() const { return args ? args->ToJson() : v::Any().ToJson(); }

Value RegisteredFunction::ReturnsJson() const { return returns ? returns->ToJson() : Value::Null(); }

App& App::SetSchema(SchemaDefinition schema) {
  schema_ = std::move(schema);
  return *this;
}

App& App::Register(RegisteredFunction function) {
  absl::StatusOr<std::string> canonical = CanonicalizeFunctionPath(function.path);
  if (!canonical.ok()) {
    std::fprintf(stderr, "convexlite: cannot register function: %s\n",
                 std::string(canonical.status().message()).c_str());
    std::abort();
  }
  if (function.args && function.args->kind() != Validator::Kind::kObject &&
      function.args->kind() != Validator::Kind::kAny) {
    std::fprintf(stderr, "convexlite: %s: Args validator must be an object or any\n",
                 canonical->c_str());
    std::abort();
  }
  function.path = *canonical;
  if (!functions_.emplace(*canonical, std::move(function)).second) {
    std::fprintf(stderr, "convexlite: function %s registered twice\n", canonical->c_str());
    std::abort();
  }
  return *this;
}

#define CVX_REGISTER(Method, Type, Vis, Handler)                                         \
  App& App::Method(std::string_view path, std::optional<Validator> args, Handler handler, \
                   std::optional<Validator> returns) {                                   \
    return Register(RegisteredFunction{std::string(path), FunctionType::Type,            \
                                       Visibility::Vis, std::move(args),                 \
                                       std::move(returns), std::move(handler)});          \
  }
CVX_REGISTER(Query, kQuery, kPublic, QueryHandler)
CVX_REGISTER(Mutation, kMutation, kPublic, MutationHandler)
CVX_REGISTER(Action, kAction, kPublic, ActionHandler)
CVX_REGISTER(InternalQuery, kQuery, kInternal, QueryHandler)
CVX_REGISTER(InternalMutation, kMutation, kInternal, MutationHandler)
CVX_REGISTER(InternalAction, kAction, kInternal, ActionHandler)
#undef CVX_REGISTER

const RegisteredFunction* App::Find(std::string_view canonical_path) const {
  auto it = functions_.find(canonical_path);
  return it == functions_.end() ? nullptr : &it->second;
}

}  // namespace cvx
