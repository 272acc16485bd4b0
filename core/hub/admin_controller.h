// The hub's admin API (core/protocol/hub_admin_api.h): the gateway's API keys, listed, created,
// credited and revoked by `tessera-hub keys …` while the hub runs. It is mounted on a server of
// its own bound to 127.0.0.1 (HubService), and every request must carry the admin token, a random
// secret of this hub process that only its operator can read (the 0600 access file in the state
// folder); the controller keeps only the token's hash. Errors are {"error": {"message"}}: 401
// without the right token, 400 for a bad body, 404 for an unknown key id.
#pragma once

#include <memory>
#include <string>

#include "core/protocol/hub_admin_api.h"

namespace tessera::hub {

class AdminToken;
class RouteTable;

class ApiKeyBook;

class AdminController {
 public:
  // `keys` must outlive the table the routes are mounted in. `token` null: a new admin token (a
  // standalone hub); a hub serving several runs passes its one token to each run's controller.
  AdminController(ApiKeyBook& keys, std::string currency, std::shared_ptr<const AdminToken> token = nullptr);

  void mount(RouteTable& routes);
  // What the keys command needs to reach this controller at `url` (the token in clear: for the
  // 0600 access file only).
  protocol::AdminAccess access(const std::string& url) const;
  // The token its routes admit (the hub's other admin areas share it: shard_admin.h).
  const std::shared_ptr<const AdminToken>& token() const { return token_; }

 private:
  ApiKeyBook& keys_;
  std::string currency_;
  std::shared_ptr<const AdminToken> token_;
};

}  // namespace tessera::hub
