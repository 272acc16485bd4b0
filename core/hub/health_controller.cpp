// The health route.
#include "core/hub/health_controller.h"

#include <httplib.h>

#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/hub/route_table.h"

namespace tessera::hub {

void HealthController::mount(RouteTable& routes) {
  const auto* report = &report_;
  routes.Get(protocol::hub_api::kHealth, [report](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, (*report)());
  });
}

}  // namespace tessera::hub
