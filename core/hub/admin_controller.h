// The hub's admin API (core/protocol/hub_admin_api.h): the gateway's API keys, listed, created,
// credited and revoked by `tessera-hub keys …` while the hub runs. It is mounted on a server of
// its own bound to 127.0.0.1 (HubService), and every request must carry the admin token, a random
// secret of this hub process that only its operator can read (the 0600 access file in the state
// folder); the controller keeps only the token's hash. Errors are {"error": {"message"}}: 401
// without the right token, 400 for a bad body, 404 for an unknown key id.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/protocol/hub_admin_api.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace tessera::hub {

class ApiKeyBook;

class AdminController {
 public:
  // `keys` must outlive the server the routes are mounted on. Draws a new admin token.
  AdminController(ApiKeyBook& keys, std::string currency);

  void mount(httplib::Server& server);
  // What the keys command needs to reach this controller at `url` (the token in clear: for the
  // 0600 access file only).
  protocol::AdminAccess access(const std::string& url) const;
  // True when `request` carries the admin token (for the other admin areas: shard_admin.h).
  bool admits(const httplib::Request& request) const;

 private:
  bool authorized(const std::string& token) const;

  ApiKeyBook& keys_;
  std::string currency_;
  std::string token_;  // handed out once, by access()
  std::array<std::uint8_t, 32> token_hash_{};
};

}  // namespace tessera::hub
