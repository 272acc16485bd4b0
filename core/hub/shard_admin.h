// The admin API's data shards (core/protocol/hub_admin_api.h): the proposals waiting in the hub's
// runs, listed, rejected, or accepted (their bytes move to the served shards; the publisher's
// `tessera-hub data accept` then posts the manifest revision naming them). Mounted on the admin
// server beside the other admin areas, behind the same token. Errors are {"error": {"message"}}:
// 401 without the token, 400 for a bad body, 404 for an unknown proposal.
#pragma once

#include <functional>

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace tessera::hub {

class ShardStore;

class ShardAdmin {
 public:
  using Admits = std::function<bool(const httplib::Request&)>;
  // `store` must outlive the server the routes are mounted on; `admits` checks the admin token.
  ShardAdmin(ShardStore& store, Admits admits) : store_(store), admits_(std::move(admits)) {}

  void mount(httplib::Server& server);

 private:
  ShardStore& store_;
  Admits admits_;
};

}  // namespace tessera::hub
