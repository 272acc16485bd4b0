// Request framing limits over cpp-httplib (see http_limits.h).
#include "core/net/http_limits.h"

#include <httplib.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/net/http_json.h"

namespace tessera::net {
namespace {

// Content-Length as a number; nothing when it is absent or not a plain decimal number.
std::optional<std::uint64_t> content_length(const httplib::Request& request) {
  if (!request.has_header("Content-Length") || request.get_header_value_count("Content-Length") != 1) return std::nullopt;
  const auto text = request.get_header_value("Content-Length");
  std::uint64_t length = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return length;
}

// Why a request may not have its body read, as (status, message); nothing when it may.
std::optional<std::pair<int, std::string>> refusal(const httplib::Request& request, const BodyLimits& bodies) {
  const auto& method = request.method;
  if (method == "GET" || method == "HEAD") return std::nullopt;  // cpp-httplib reads no body for these
  if (method != "POST") return std::pair{405, "method " + method.substr(0, 16) + " is not served here"};
  if (request.has_header("Transfer-Encoding"))
    return std::pair{411, std::string("send the body with a Content-Length (no Transfer-Encoding)")};
  const auto length = content_length(request);
  if (!length) return std::pair{411, std::string("a POST needs one Content-Length (0 for an empty body)")};
  const auto limit = bodies.for_path(request.path);
  if (*length > limit)
    return std::pair{413, "the body is " + std::to_string(*length) + " bytes; this route accepts at most " +
                              std::to_string(limit)};
  const auto encoding = request.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity")
    return std::pair{415, std::string("compressed bodies are not accepted")};
  if (request.is_multipart_form_data()) return std::pair{415, std::string("multipart bodies are not accepted")};
  return std::nullopt;
}

}  // namespace

void limit_requests(httplib::Server& server, const HttpServerLimits& limits, BodyLimits bodies, RefusalWriter refuse) {
  const auto threads = limits.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_read_timeout(limits.read_timeout);
  server.set_write_timeout(limits.write_timeout);
  server.set_keep_alive_timeout(static_cast<time_t>(limits.idle_timeout.count()));
  // One request per connection: a refused body is never read, so the connection cannot carry
  // another request after it; and a client cannot hold a worker between requests.
  server.set_keep_alive_max_count(1);
  server.set_payload_max_length(bodies.largest);
  if (!refuse) refuse = [](httplib::Response& response, int status, const std::string& message) {
    reply_error(response, status, message);
  };
  // A client that asks before sending its body (Expect: 100-continue, as curl does for bodies over
  // 1 KiB) is refused before it uploads anything.
  server.set_expect_100_continue_handler([bodies, refuse](const httplib::Request& request, httplib::Response& response) {
    const auto refused = refusal(request, bodies);
    if (!refused) return 100;
    refuse(response, refused->first, refused->second);
    response.status = refused->first;
    return refused->first;
  });
  server.set_pre_routing_handler([bodies = std::move(bodies), refuse = std::move(refuse)](
                                     const httplib::Request& request, httplib::Response& response) {
    const auto refused = refusal(request, bodies);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    refuse(response, refused->first, refused->second);
    return httplib::Server::HandlerResponse::Handled;
  });
}

}  // namespace tessera::net
