// The admin token of one hub process (core/protocol/hub_admin_api.h): a random secret drawn at
// start, handed out once in clear for the 0600 access file and otherwise kept only as its hash.
// Every admin controller of the process (each run's keys, the hub's runs) checks the same one.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace httplib {
struct Request;
}

namespace tessera::hub {

class AdminToken {
 public:
  AdminToken();  // draws the token

  // True when the request carries the token (header hub_admin_api::kTokenHeader).
  bool admits(const httplib::Request& request) const;
  // The token in clear: for the access file only.
  const std::string& clear() const { return token_; }

 private:
  std::string token_;
  std::array<std::uint8_t, 32> hash_{};
};

}  // namespace tessera::hub
