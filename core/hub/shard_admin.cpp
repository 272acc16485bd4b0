// /admin/shards over cpp-httplib, behind the admin token.
#include "core/hub/shard_admin.h"

#include <httplib.h>

#include "core/hub/shard_store.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_admin_api.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_admin_api;

template <typename Route>
void guarded(bool admitted, httplib::Response& response, Route&& route) {
  if (!admitted) return net::reply_error(response, 401, "the admin token is missing or wrong");
  try {
    net::reply_json(response, route());
  } catch (const std::out_of_range& error) {
    net::reply_error(response, 404, error.what());
  } catch (const std::invalid_argument& error) {
    net::reply_error(response, 400, error.what());
  }
}

}  // namespace

void ShardAdmin::mount(httplib::Server& server) {
  server.Get(api::kShards, [this](const httplib::Request& request, httplib::Response& response) {
    guarded(admits_(request), response, [&] {
      nlohmann::json shards = nlohmann::json::array();
      for (const auto& shard : store_.pending(request.get_param_value("run"))) shards.push_back(protocol::to_json(shard));
      return nlohmann::json{{"shards", shards}};
    });
  });
  using Decision = protocol::PendingShard (ShardStore::*)(const std::string&, const std::string&);
  const auto decide = [this](Decision decision) {
    return [this, decision](const httplib::Request& request, httplib::Response& response) {
      guarded(admits_(request), response, [&] {
        const auto body = net::json_object_body(request);
        return protocol::to_json((store_.*decision)(net::json_field<std::string>(body, "run"),
                                                     net::json_field<std::string>(body, "hash")));
      });
    };
  };
  server.Post(api::kRejectShard, decide(&ShardStore::reject));
  server.Post(api::kAcceptShard, decide(&ShardStore::accept));
}

}  // namespace tessera::hub
