// /admin/shards over cpp-httplib, behind the admin token.
#include "core/hub/route_table.h"
#include "core/hub/shard_admin.h"

#include <httplib.h>

#include "core/hub/shard_store.h"
#include "core/hub/admin_reply.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_admin_api.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_admin_api;

}  // namespace

void ShardAdmin::mount(RouteTable& routes) {
  routes.Get(api::kShards, [this](const httplib::Request& request, httplib::Response& response) {
    admin_reply(admits_(request), response, [&] {
      nlohmann::json shards = nlohmann::json::array();
      for (const auto& shard : store_.pending(request.get_param_value("run"))) shards.push_back(protocol::to_json(shard));
      return nlohmann::json{{"shards", shards}};
    });
  });
  using Decision = protocol::PendingShard (ShardStore::*)(const std::string&, const std::string&);
  const auto decide = [this](Decision decision) {
    return [this, decision](const httplib::Request& request, httplib::Response& response) {
      admin_reply(admits_(request), response, [&] {
        const auto body = net::json_object_body(request);
        return protocol::to_json((store_.*decision)(net::json_field<std::string>(body, "run"),
                                                     net::json_field<std::string>(body, "hash")));
      });
    };
  };
  routes.Post(api::kRejectShard, decide(&ShardStore::reject));
  routes.Post(api::kAcceptShard, decide(&ShardStore::accept));
}

}  // namespace tessera::hub
