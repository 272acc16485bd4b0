// A node's tallies per epoch over cpp-httplib.
#include "core/hub/work_controller.h"

#include <httplib.h>

#include "core/hub/node_tally.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"
#include "core/hub/route_table.h"

namespace tessera::hub {

void WorkController::mount(RouteTable& routes) {
  routes.Get(protocol::hub_api::kWork, [this](const httplib::Request& request, httplib::Response& response) {
    const auto text = request.has_param("node") ? request.get_param_value("node") : std::string();
    const auto node = wallet::fixed_from_hex<32>(text);
    if (!node) throw net::HttpError(400, "node must be a node key: 64 hex digits");
    auto epochs = nlohmann::json::array();
    for (const auto& tally : tally_.of_node(*node, kWorkEpochs)) epochs.push_back(to_json(tally));
    net::reply_json(response, 200, {{"node", wallet::to_hex(*node)}, {"epochs", std::move(epochs)}});
  });
}

}  // namespace tessera::hub
