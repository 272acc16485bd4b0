// Route tables over cpp-httplib's request type (see route_table.h).
#include "core/hub/route_table.h"

#include <httplib.h>

#include <utility>

namespace tessera::hub {

void RouteTable::Get(const std::string& pattern, Handler handler) {
  get_.push_back({std::regex(pattern), std::move(handler)});
}

void RouteTable::Post(const std::string& pattern, Handler handler) {
  post_.push_back({std::regex(pattern), std::move(handler)});
}

bool RouteTable::dispatch(const httplib::Request& request, httplib::Response& response, const std::string& path) const {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (!get && request.method != "POST") return false;
  const auto& routes = get ? get_ : post_;
  // The matches point into `relative`, which outlives the handler's call. They are set on the
  // request itself, as cpp-httplib's own routing does: its server hands handlers a request it owns
  // and does not read `matches` after them, and a copy would duplicate a body of up to 64 MiB.
  const std::string relative = path;
  for (const auto& route : routes) {
    std::smatch matches;
    if (!std::regex_match(relative, matches, route.pattern)) continue;
    auto& routed = const_cast<httplib::Request&>(request);
    routed.matches = std::move(matches);
    route.handler(routed, response);
    routed.matches = std::smatch{};  // nothing keeps iterators into `relative`
    return true;
  }
  return false;
}

void reply_unrouted(httplib::Response& response) {
  response.status = 404;
  response.body.clear();
}

void route_everything(httplib::Server& server, RouteTable::Handler route) {
  server.Get(".*", route);
  server.Post(".*", std::move(route));
}

void serve_routes(httplib::Server& server, std::shared_ptr<const RouteTable> routes) {
  route_everything(server, [routes = std::move(routes)](const httplib::Request& request, httplib::Response& response) {
    if (!routes->dispatch(request, response, request.path)) reply_unrouted(response);
  });
}

}  // namespace tessera::hub
