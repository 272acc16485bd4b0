// What every request to a cpp-httplib server in core must pass before a route sees it: a body
// bounded by its route's limit, checked against Content-Length before a byte of the body is read
// (413); bodies of unknown length (chunked, or read until the connection closes), multipart or
// compressed bodies refused (411, 415); only GET, HEAD and POST (405). And the server's own limits:
// its worker count, one request per connection, and read, write and idle timeouts.
//
// What cpp-httplib 0.11 cannot do, so a hub facing the internet sits behind a reverse proxy that
// does it (HTTPS terminates there anyway): bound the total time of a request (its timeouts are per
// read, so a client trickling a byte within each read timeout keeps its worker), and bound the
// number of header lines (each is at most 8 KiB, but their count is not limited).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace httplib {
struct Response;
class Server;
}  // namespace httplib

namespace tessera::net {

struct HttpServerLimits {
  std::size_t threads = 8;                        // workers: requests served at once
  std::chrono::milliseconds read_timeout{5000};   // longest silence while a request arrives
  std::chrono::milliseconds write_timeout{5000};  // longest stall while a reply leaves
  std::chrono::seconds idle_timeout{2};           // longest wait for the first byte of a request
};

struct BodyLimits {
  std::function<std::size_t(const std::string& path)> for_path;  // a POST body's limit by path
  std::size_t largest = 0;                                         // the largest for_path returns
};

// How a refusal is written (net::reply_error by default; the gateway writes OpenAI's shape).
using RefusalWriter = std::function<void(httplib::Response&, int status, const std::string& message)>;

// Applies the limits and the body checks to `server`, before it listens. Replaces the server's
// pre-routing handler.
void limit_requests(httplib::Server& server, const HttpServerLimits& limits, BodyLimits bodies,
                    RefusalWriter refuse = {});

}  // namespace tessera::net
