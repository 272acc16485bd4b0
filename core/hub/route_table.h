// The routes of one run's API area, dispatched at request time (issue 21: one hub serves several
// runs, each added, updated or retired while the hub serves, so a run's routes cannot be mounted
// once into cpp-httplib). Controllers mount into a RouteTable with cpp-httplib's handler
// signature; the server's catch-all handler finds the run and calls dispatch() with the
// run-relative path (the request keeps the path as sent: signatures cover it).
#pragma once

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace httplib {
struct Request;
struct Response;
class Server;
}  // namespace httplib

namespace tessera::hub {

class RouteTable {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // `pattern` is a regular expression matched against the whole run-relative path (its groups
  // reach the handler as request.matches, as cpp-httplib's own routes do).
  void Get(const std::string& pattern, Handler handler);
  void Post(const std::string& pattern, Handler handler);

  // Runs the first route of the request's method (HEAD as GET) whose pattern matches `path`;
  // false when none does (the response is untouched then).
  bool dispatch(const httplib::Request& request, httplib::Response& response, const std::string& path) const;
  bool empty() const { return get_.empty() && post_.empty(); }

 private:
  struct Route {
    std::regex pattern;
    Handler handler;
  };
  std::vector<Route> get_;
  std::vector<Route> post_;
};

// Answers a request no route served as cpp-httplib does: 404 with an empty body.
void reply_unrouted(httplib::Response& response);

// Sends every GET and POST of `server` to `route` (its only handlers; mount before it listens).
void route_everything(httplib::Server& server, RouteTable::Handler route);
// Serves `routes` on `server` with the path as received; a request no route serves is a 404.
void serve_routes(httplib::Server& server, std::shared_ptr<const RouteTable> routes);

// One controller's routes alone on `server` (tests stand one API area up by itself).
template <typename Controller>
void serve_controller(httplib::Server& server, Controller&& controller) {
  auto routes = std::make_shared<RouteTable>();
  controller.mount(*routes);
  serve_routes(server, std::move(routes));
}

}  // namespace tessera::hub
