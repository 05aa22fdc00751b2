#include "http/fetch.h"

#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "boost/beast/version.hpp"
#include "boost/url/parse.hpp"
#include "boost/url/url.hpp"
#include "boost/url/url_view.hpp"

namespace cvx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBody = 1 << 20;
constexpr int kMaxRedirects = 5;

struct Reply {
  unsigned status = 0;
  std::string location;
  std::string body;
};

// Runs one asynchronous operation to completion on `ioc`; the stream's expiry (set by the
// caller) cancels it when the deadline passes. Throws on error.
template <typename Start>
void Await(asio::io_context& ioc, Start start) {
  beast::error_code result;
  bool done = false;
  start([&](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  ioc.run();
  if (!done) result = asio::error::timed_out;
  if (result) throw beast::system_error(result);
}

// One request and response, every step bounded by the deadline of the lowest layer.
template <typename Stream>
Reply Exchange(asio::io_context& ioc, Stream& stream, const std::string& host,
               const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "convexlite");
  req.set(http::field::accept, "application/json");
  Await(ioc, [&](auto handler) { http::async_write(stream, req, handler); });
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  Await(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); });
  Reply r;
  r.status = parser.get().result_int();
  if (auto it = parser.get().find(http::field::location); it != parser.get().end()) {
    r.location = std::string(it->value());
  }
  r.body = std::move(parser.get().body());
  return r;
}

absl::StatusOr<Reply> GetOnce(const std::string& url, std::chrono::milliseconds timeout) {
  boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return absl::InvalidArgumentError(absl::StrCat("not a URL: ", url));
  std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("only http and https URLs are fetched: ", url));
  }
  const bool tls = scheme == "https";
  std::string host(parsed->host());
  std::string port = parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80");
  std::string target(parsed->encoded_target());
  if (target.empty()) target = "/";
  std::string host_header = parsed->has_port() ? absl::StrCat(host, ":", port) : host;
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, port);
    if (!tls) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(timeout);
      Await(ioc, [&](auto handler) { stream.async_connect(endpoints, handler); });
      return Exchange(ioc, stream, host_header, target);
    }
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
      return absl::UnavailableError(absl::StrCat("TLS setup failed for ", host));
    }
    stream.set_verify_callback(ssl::host_name_verification(host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    Await(ioc, [&](auto handler) { beast::get_lowest_layer(stream).async_connect(endpoints, handler); });
    Await(ioc, [&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); });
    return Exchange(ioc, stream, host_header, target);
  } catch (const boost::system::system_error& e) {
    return absl::UnavailableError(absl::StrCat("fetching ", url, " failed: ", e.code().message()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("fetching ", url, " failed: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::string> FetchUrl(const std::string& url, std::chrono::milliseconds timeout) {
  std::string current = url;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    absl::StatusOr<Reply> reply = GetOnce(current, timeout);
    if (!reply.ok()) return reply.status();
    if (reply->status == 200) return std::move(reply->body);
    bool redirect = reply->status == 301 || reply->status == 302 || reply->status == 303 ||
                    reply->status == 307 || reply->status == 308;
    if (!redirect || reply->location.empty()) {
      return absl::UnavailableError(absl::StrCat("fetching ", current, " failed: HTTP ", reply->status));
    }
    boost::system::result<boost::urls::url_view> base = boost::urls::parse_absolute_uri(current);
    boost::system::result<boost::urls::url_view> ref = boost::urls::parse_uri_reference(reply->location);
    boost::urls::url next;
    if (!base || !ref || !boost::urls::resolve(*base, *ref, next)) {
      return absl::UnavailableError(absl::StrCat("bad redirect from ", current));
    }
    std::string next_url(next.buffer());
    if (current.rfind("https:", 0) == 0 && next_url.rfind("https:", 0) != 0) {
      return absl::UnavailableError(absl::StrCat("refusing a redirect from https to ", next_url));
    }
    current = next_url;
  }
  return absl::UnavailableError(absl::StrCat("too many redirects fetching ", url));
}

}  // namespace cvx
