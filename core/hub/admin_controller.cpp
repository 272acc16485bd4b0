// /admin/keys over cpp-httplib, behind the admin token.
#include "core/hub/admin_controller.h"

#include <httplib.h>

#include "core/hub/admin_token.h"
#include "core/hub/api_key_book.h"
#include "core/hub/admin_reply.h"
#include "core/net/http_json.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_admin_api;

}  // namespace

AdminController::AdminController(ApiKeyBook& keys, std::string currency, std::shared_ptr<const AdminToken> token)
    : keys_(keys), currency_(std::move(currency)), token_(token ? std::move(token) : std::make_shared<AdminToken>()) {}

protocol::AdminAccess AdminController::access(const std::string& url) const { return {url, token_->clear()}; }

void AdminController::mount(RouteTable& routes) {
  const auto allowed = [token = token_](const httplib::Request& request) { return token->admits(request); };
  routes.Get(api::kKeys, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    admin_reply(allowed(request), response, [&] {
      nlohmann::json keys = nlohmann::json::array();
      for (const auto& key : keys_.list()) keys.push_back(protocol::to_json(key));
      return nlohmann::json{{"currency", currency_}, {"keys", keys}};
    });
  });
  routes.Post(api::kKeys, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    admin_reply(allowed(request), response, [&] {
      const auto body = net::json_object_body(request, net::EmptyBody::IsEmptyObject);
      const auto name = body.contains("name") ? net::json_field<std::string>(body, "name") : std::string();
      const auto balance = body.contains("balance") ? net::json_field<std::int64_t>(body, "balance") : 0;
      const auto created = keys_.add(name, balance);
      return nlohmann::json{{"key", created.key}, {"record", protocol::to_json(created.info)}};
    });
  });
  routes.Post(api::kCredit, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    admin_reply(allowed(request), response, [&] {
      const auto body = net::json_object_body(request);
      return protocol::to_json(
          keys_.credit(net::json_field<std::int64_t>(body, "id"), net::json_field<std::int64_t>(body, "amount")));
    });
  });
  routes.Post(api::kRevoke, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    admin_reply(allowed(request), response, [&] {
      return protocol::to_json(keys_.revoke(net::json_field<std::int64_t>(net::json_object_body(request), "id")));
    });
  });
}

}  // namespace tessera::hub
