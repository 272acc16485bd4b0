// The bytes of an HTTP exchange, from what cpp-httplib wrote and read.
#include "core/client/http_traffic.h"

#include <cstdint>
#include <string>

#include <httplib.h>

namespace tessera::client {
namespace {

std::uint64_t headers_bytes(const httplib::Headers& headers) {
  std::uint64_t bytes = 2;  // the blank line that ends them
  for (const auto& [name, value] : headers) bytes += name.size() + 2 + value.size() + 2;  // "name: value\r\n"
  return bytes;
}

}  // namespace

// cpp-httplib hands its logger the request as written, with the headers it adds (Host, Accept,
// User-Agent, Connection, Content-Length, Content-Type), and the response with all its headers,
// once a reply has come: the request line, headers and body each way are what went over the
// connection, as the hub sends neither chunked nor compressed bodies. Not counted: TCP and IP
// headers (as for the swarm's sockets) and a request that got no reply.
void count_http_traffic(httplib::Client& client, net::TrafficMeter* traffic) {
  if (!traffic) return;
  client.set_logger([traffic](const httplib::Request& request, const httplib::Response& response) {
    const auto request_line = request.method.size() + 1 + request.path.size() + std::string(" HTTP/1.1\r\n").size();
    traffic->count_sent(net::TrafficKind::control, request_line + headers_bytes(request.headers) + request.body.size());
    const auto status_line = response.version.size() + 1 + std::to_string(response.status).size() + 1 +
                             response.reason.size() + 2;
    traffic->count_received(net::TrafficKind::control,
                            status_line + headers_bytes(response.headers) + response.body.size());
  });
}

}  // namespace tessera::client
