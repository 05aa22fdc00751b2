#include "tools/target.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "engine/base/status_macros.h"
#include "engine/value/json.h"
#include "functions/auth/crypto.h"
#include "schema/schema.h"

namespace cvx::tools {

// The flag loop every target-taking command shares: --help, the target flags, then
// `extra` (which returns true when it consumed argv[*i]), else a positional word (after
// "--" every word is one); an unknown "--flag" is an error. Then the target's fallbacks.
// Returns an exit code to stop with, or nullopt to go on.
std::optional<int> ParseCommand(int argc, char** argv, const char* command, const char* usage,
                                Target* target, std::vector<std::string>* words,
                                const std::function<bool(int* i, int* exit_code)>& extra) {
  bool only_words = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (only_words) {
      words->emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_words = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    std::string error;
    if (target->TakeFlag(argc, argv, &i, &error)) continue;
    if (!error.empty()) {
      std::fprintf(stderr, "convexlite %s: %s\n", command, error.c_str());
      return 2;
    }
    int exit_code = -1;
    if (extra && extra(&i, &exit_code)) {
      if (exit_code >= 0) return exit_code;
      continue;
    }
    if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      std::fprintf(stderr, "convexlite %s: unknown flag %s (try --help)\n", command, argv[i]);
      return 2;
    }
    words->emplace_back(arg);
  }
  if (std::optional<std::string> error = target->Finish()) {
    std::fprintf(stderr, "convexlite %s: %s\n", command, error->c_str());
    return 2;
  }
  return std::nullopt;
}

const char* FlagValue(int argc, char** argv, int* i) {
  if (*i + 1 >= argc || std::string_view(argv[*i + 1]).substr(0, 2) == "--") return nullptr;
  return argv[++*i];
}

bool Target::TakeFlag(int argc, char** argv, int* i, std::string* error) {
  std::string_view arg = argv[*i];
  std::string* slot = arg == "--url" ? &url : arg == "--admin-key" ? &admin_key
                      : arg == "--data" ? &data : nullptr;
  if (slot == nullptr) return false;
  const char* value = FlagValue(argc, argv, i);
  if (value == nullptr) {
    *error = std::string(arg) + " needs a value";
    return false;
  }
  *slot = value;
  if (arg == "--data") data_given = true;
  return true;
}

std::optional<std::string> Target::Finish() {
  if (url.empty() && !data_given) {
    if (const char* env = std::getenv("CONVEXLITE_URL"); env && *env) url = env;
  }
  if (!url.empty() && admin_key.empty()) {
    if (const char* env = std::getenv("CONVEXLITE_ADMIN_KEY"); env && *env) admin_key = env;
  }
  if (!url.empty() && data_given) return "give --url or --data, not both";
  if (!url.empty() && admin_key.empty()) {
    return "--url needs --admin-key (or CONVEXLITE_ADMIN_KEY); `convexlite dev` prints it";
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return std::nullopt;
}

std::string DefaultSecret(const std::string& data_dir, bool persist, const char* file) {
  if (!persist) return auth::GenerateId(48);
  std::string path = data_dir + "/" + file;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[128] = {0};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    std::string secret(buf, n);
    if (secret.size() >= 32) return secret;
  }
  std::string secret = auth::GenerateId(48);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, secret.data(), secret.size());
    ::close(fd);
  }
  return secret;
}

std::function<std::optional<std::string>(std::string_view)> BuiltinEnv(
    std::function<std::string()> site_url, std::function<std::string()> cloud_url,
    std::string secret, std::string default_secret, bool fast_hash) {
  if (secret.empty()) {
    if (const char* env = std::getenv("BETTER_AUTH_SECRET"); env && *env) secret = env;
  }
  return [site_url = std::move(site_url), cloud_url = std::move(cloud_url), secret = std::move(secret),
          default_secret = std::move(default_secret),
          fast_hash](std::string_view name) -> std::optional<std::string> {
    if (name == "CONVEX_SITE_URL") return site_url();
    if (name == "CONVEX_CLOUD_URL") return cloud_url();
    if (name == "BETTER_AUTH_SECRET" && !secret.empty()) return secret;
    if (name == "CONVEXLITE_DEFAULT_AUTH_SECRET") return default_secret;
    if (name == "CONVEXLITE_FAST_PASSWORD_HASH") return fast_hash ? "1" : "0";
    return std::nullopt;
  };
}

absl::Status RequireDataDir(const std::string& data) {
  if (access((data + "/CURRENT").c_str(), F_OK) == 0) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("there is no convexlite data directory at ", data,
                                          " (`convexlite dev --data ", data, "` creates one)"));
}

absl::StatusOr<LocalBackend> OpenLocal(const App& app, const std::string& data) {
  DatabaseOptions options;
  options.path = data;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(options);
  if (!db.ok()) return db.status();
  RunnerOptions runner_options;
  runner_options.builtin_env = BuiltinEnv([] { return std::string("http://127.0.0.1:3211"); },
                                          [] { return std::string("http://127.0.0.1:3210"); }, "",
                                          DefaultSecret(data, true), false);
  runner_options.cursor_key = DefaultSecret(data, true, kCursorKeyFile);
  LocalBackend out;
  out.db = std::move(*db);
  out.runner = std::make_unique<Runner>(&app, out.db.get(), runner_options);
  // A pushed version's tables and indexes belong to the schema too (applying the built-in
  // schema alone would drop their indexes).
  js::TypeScriptOptions ts_options;
  ts_options.code_root = data + "/functions";
  if (absl::StatusOr<js::NodeRuntime> node = js::NodeRuntime::Find(); node.ok()) ts_options.node = *node;
  else ts_options.node_error = node.status();
  Runner* runner = out.runner.get();
  ts_options.environment = [runner] {
    std::map<std::string, std::string> env = runner->ListEnv().value_or(std::map<std::string, std::string>{});
    env["CONVEX_SITE_URL"] = "http://127.0.0.1:3211";
    env["CONVEX_CLOUD_URL"] = "http://127.0.0.1:3210";
    return env;
  };
  absl::StatusOr<js::TypeScriptSupport> typescript = js::StartTypeScript(runner, &app, std::move(ts_options));
  if (!typescript.ok()) return typescript.status();
  out.typescript = *std::move(typescript);
  if (absl::Status s = ApplySchema(*out.db, out.runner->app()->schema()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("the schema cannot be applied: ", s.message()));
  }
  return out;
}

absl::StatusOr<AdminReply> AdminRequest(const Target& target, std::string_view method,
                                        std::string_view path, std::string body,
                                        std::string_view content_type,
                                        const std::optional<Object>& identity) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  std::string_view rest = target.url;
  if (rest.substr(0, 7) != "http://") {
    return absl::InvalidArgumentError("--url must be an http:// URL, e.g. http://127.0.0.1:3210");
  }
  rest.remove_prefix(7);
  std::string host(rest.substr(0, rest.find('/')));
  std::string port = "80";
  if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  std::string auth = "Convex " + target.admin_key;
  if (identity) auth += ":" + absl::Base64Escape(ToCleanJson(Value::FromObject(*identity)));
  try {
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::string_to_verb(std::string(method)), std::string(path), 11};
    req.set(http::field::host, host);
    if (!content_type.empty()) req.set(http::field::content_type, std::string(content_type));
    req.set(http::field::authorization, auth);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);  // snapshot downloads
    http::read(stream, buffer, parser);
    AdminReply reply;
    reply.status = parser.get().result_int();
    reply.body = std::move(parser.get().body());
    return reply;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", target.url, ": ", e.what()));
  }
}

absl::Status AdminReply::Check() const {
  if (status >= 200 && status < 300) return absl::OkStatus();
  absl::StatusOr<Value> error = ParseConvexJson(body);
  const Value* message = error.ok() ? error->Find("message") : nullptr;
  return absl::FailedPreconditionError(message && message->is_string()
                                           ? message->string()
                                           : absl::StrCat("HTTP ", status, ": ", body));
}

absl::StatusOr<Value> CallRemote(const Target& target, std::string_view path, const Value& args,
                                 const std::optional<Object>& identity) {
  std::string body = absl::StrCat("{\"path\":", ToConvexJson(Value::String(std::string(path))),
                                  ",\"args\":", ToConvexJson(args),
                                  ",\"format\":\"convex_encoded_json\"}");
  CVX_ASSIGN_OR_RETURN(AdminReply res, AdminRequest(target, "POST", "/api/function", std::move(body),
                                                     "application/json", identity));
  absl::StatusOr<Value> reply = ParseConvexJson(res.body);
  if (!reply.ok() || !reply->is_object()) {
    return absl::UnavailableError(absl::StrCat("unexpected reply (HTTP ", res.status, "): ", res.body));
  }
  const Value* status = reply->Find("status");
  if (status && status->is_string() && status->string() == "success") {
    const Value* value = reply->Find("value");
    return value ? *value : Value::Null();
  }
  const Value* message = reply->Find("errorMessage");
  if (message == nullptr) message = reply->Find("message");
  std::string text = message && message->is_string() ? message->string() : res.body;
  return absl::FailedPreconditionError(text);
}

}  // namespace cvx::tools
