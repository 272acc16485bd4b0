// The TLS binding route.
#include "core/hub/tls_controller.h"

#include <httplib.h>

#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/hub/route_table.h"

namespace tessera::hub {

void TlsController::mount(RouteTable& routes) {
  routes.Get(protocol::hub_api::kTls, [reply = protocol::to_json(binding_)](const httplib::Request&,
                                                                            httplib::Response& response) {
    net::reply_json(response, 200, reply);
  });
}

}  // namespace tessera::hub
