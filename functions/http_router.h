// File: functions/http_router.h
//
// HTTP actions (convex-protocol.md §8): routes of {path | pathPrefix, method, handler}.
// Lookup takes the exact (path, method) match first, else the longest matching prefix for
// that method; HEAD is served as GET. A pathPrefix must start and end with '/'.
// Handlers run like actions (ActionCtx: runQuery/runMutation/runAction, no db).

#ifndef CVX_FUNCTIONS_HTTP_ROUTER_H_
#define CVX_FUNCTIONS_HTTP_ROUTER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cvx {

class ActionCtx;

// Where an HTTP action's response may go out as it is produced (a Response whose body is a
// ReadableStream that is still being written): Begin once with the status and headers,
// then Write each piece of the body. The server ends the body when the handler returns.
// Both return false once the client is gone (the handler may go on; what it writes is
// dropped). Called from the handler's thread only.
class HttpResponseStream {
 public:
  virtual ~HttpResponseStream() = default;
  virtual bool Begin(int status, const std::map<std::string, std::string>& headers,
                     const std::vector<std::string>& set_cookies) = 0;
  virtual bool Write(std::string_view chunk) = 0;
  // Whether Begin was called (a handler that fails afterwards cannot change the status).
  virtual bool begun() const = 0;
};

// A request body read as it arrives (a large or chunked upload to an HTTP action). Each
// read yields the next piece (never empty), or an empty string once the body has ended.
// Errors (the body is then over, and later reads fail the same way): kResourceExhausted
// "RequestTooLarge" past the server's limit for HTTP action bodies, kDeadlineExceeded
// "RequestTimeout" when the client sends nothing for the server's idle timeout,
// kUnavailable "StreamFailed" when the connection breaks or the encoding is malformed.
// One read at a time; the stream is valid until the handler returns.
class HttpRequestBodyStream {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;
  virtual ~HttpRequestBodyStream() = default;
  // Starts the next read; `done` is called once, on another thread, when it ends. A read
  // still running when the handler returns ends with an error, and its `done` still runs.
  virtual void ReadAsync(Done done) = 0;
  // The next read, waiting for it (it waits on the client).
  [[nodiscard]] absl::StatusOr<std::string> Next();
};

// Reads what is left of `stream` into one string.
[[nodiscard]] absl::StatusOr<std::string> ReadWholeBody(HttpRequestBodyStream& stream);

struct HttpActionRequest {
  std::string method;
  std::string url;   // path and query as received, e.g. "/hello?x=1"
  std::string path;  // the path alone, e.g. "/hello"
  std::map<std::string, std::string> headers;  // lower-case names
  // The body when it came whole; empty while `body_stream` is set.
  std::string body;
  // Set when the server streams this request's body: a handler that reads the body as it
  // comes was routed with `reads_body_stream`; every other handler finds the whole body in
  // `body` (the Runner reads it first).
  HttpRequestBodyStream* body_stream = nullptr;
  std::string remote_addr;  // the peer's IP address, when the server knows it
  // Set when the server can stream the response; may be null (then responses go whole).
  HttpResponseStream* stream = nullptr;
};

struct HttpActionResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<std::string> set_cookies;  // one Set-Cookie header each, in order
  // The handler sent its response through HttpActionRequest::stream (the fields above are
  // then unused).
  bool streamed = false;
};

using HttpActionHandler =
    std::function<absl::StatusOr<HttpActionResponse>(ActionCtx&, const HttpActionRequest&)>;

class HttpRouter {
 public:
  struct Target {
    HttpActionHandler handler;
    // The handler reads HttpActionRequest::body_stream itself (pushed TypeScript routes).
    bool reads_body_stream = false;
  };

  // Aborts the program on an invalid route (a programming error, found at start-up).
  void Route(std::string method, std::string path, HttpActionHandler handler,
             bool reads_body_stream = false);
  void RoutePrefix(std::string method, std::string path_prefix, HttpActionHandler handler,
                   bool reads_body_stream = false);

  // The route for a request, or nullptr (404 "No HttpAction routed for <path>").
  const Target* Lookup(std::string_view method, std::string_view path) const;
  bool empty() const { return exact_.empty() && prefixes_.empty(); }
  // Every route as {method, path}; a prefix route's path ends in '*', as Convex lists it.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  std::map<std::pair<std::string, std::string>, Target> exact_;
  std::vector<std::tuple<std::string, std::string, Target>> prefixes_;
};

}  // namespace cvx

#endif  // CVX_FUNCTIONS_HTTP_ROUTER_H_
