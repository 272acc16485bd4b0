// The admin API's runs (core/protocol/hub_admin_api.h: GET and POST /admin/runs, POST
// /admin/runs/retire), behind the hub's admin token, on the host's loopback admin server: what
// `tessera-hub runs list|add|retire` calls. Errors are {"error": {"message"}}: 401 without the
// token, 400 for a manifest the hub refuses (with what to do), 404 for an unknown run, 503 when a
// run's service cannot be rebuilt now.
#pragma once

#include <memory>

#include "core/hub/route_table.h"

namespace tessera::hub {

class AdminToken;
class HubHost;

class RunsController {
 public:
  // `host` must outlive the controller.
  RunsController(HubHost& host, std::shared_ptr<const AdminToken> token);
  const RouteTable& routes() const { return routes_; }

 private:
  HubHost& host_;
  std::shared_ptr<const AdminToken> token_;
  RouteTable routes_;
};

}  // namespace tessera::hub
