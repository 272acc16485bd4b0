// The running hub's admin API (core/protocol/hub_admin_api.h) as `tessera-hub keys` and
// `tessera-hub runs` reach it: found through the access file the hub wrote in this --data-dir's
// state folder, every request carrying its token; an error reply becomes an exception with the
// hub's message.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/protocol/hub_admin_api.h"

namespace httplib {
class Client;
class Result;
}  // namespace httplib

namespace tessera::cli {

struct GlobalOptions;

class AdminClient {
 public:
  // Throws std::runtime_error saying how to start a hub when none runs on this data folder.
  explicit AdminClient(const GlobalOptions& global);
  ~AdminClient();

  nlohmann::json get(const std::string& path);
  nlohmann::json post(const std::string& path, const nlohmann::json& body);

 private:
  nlohmann::json answer(const httplib::Result& result);

  protocol::AdminAccess access_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace tessera::cli
