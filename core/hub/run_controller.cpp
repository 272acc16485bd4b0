// The run manifest route.
#include "core/hub/run_controller.h"

#include <httplib.h>

#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/hub/route_table.h"

namespace tessera::hub {

void RunController::mount(RouteTable& routes) {
  const protocol::RunManifest* manifest = &manifest_;
  routes.Get(protocol::hub_api::kManifest, [manifest](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, protocol::to_json(*manifest));
  });
}

}  // namespace tessera::hub
