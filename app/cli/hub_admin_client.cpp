// The admin API's client for tessera-hub's subcommands (see hub_admin_client.h).
#include "app/cli/hub_admin_client.h"

#include <filesystem>
#include <stdexcept>

#include <httplib.h>

#include "app/cli/global_options.h"
#include "core/hub/hub_daemon.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/secure_file.h"

namespace tessera::cli {

namespace api = protocol::hub_admin_api;

AdminClient::AdminClient(const GlobalOptions& global) {
  const auto file = hub::hub_state_dir(global.data_dir) / api::kAccessFileName;
  if (!std::filesystem::exists(file))
    throw std::runtime_error("no tessera-hub is running on " + file.parent_path().string() +
                             " (its admin access file is missing): start the hub with the same --data-dir first");
  wallet::warn_if_permissions_too_open(file);
  access_ = protocol::admin_access_from_json(nlohmann::json::parse(wallet::read_file_text(file, 4096)));
  client_ = std::make_unique<httplib::Client>(access_.url);
  client_->set_read_timeout(std::chrono::seconds(60));  // adding a run opens its database
  client_->set_default_headers({{api::kTokenHeader, access_.token}});
}

AdminClient::~AdminClient() = default;

nlohmann::json AdminClient::get(const std::string& path) { return answer(client_->Get(path)); }

nlohmann::json AdminClient::post(const std::string& path, const nlohmann::json& body) {
  return answer(client_->Post(path, body.dump(), "application/json"));
}

nlohmann::json AdminClient::answer(const httplib::Result& result) {
  if (!result)
    throw std::runtime_error("the hub's admin server at " + access_.url +
                             " does not answer: is the hub still running? (" + httplib::to_string(result.error()) + ")");
  if (result->status == 404 && result->body.empty())
    throw std::runtime_error("the hub does not serve this admin request (an older tessera-hub?)");
  auto parsed = sys::parse_bounded_json(result->body, {1 << 24, 16});
  if (!parsed.value) throw std::runtime_error("the hub's admin server answered something that is not JSON");
  if (result->status != 200) {
    const auto& error = (*parsed.value)["error"];
    throw std::runtime_error(error.is_object() && error["message"].is_string() ? error["message"].get<std::string>()
                                                                             : "the hub refused the request");
  }
  return std::move(*parsed.value);
}

}  // namespace tessera::cli
