// /admin/keys over cpp-httplib, behind the admin token.
#include "core/hub/admin_controller.h"

#include <httplib.h>
#include <sodium.h>

#include "core/hub/api_key_book.h"
#include "core/net/http_json.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_admin_api;

std::array<std::uint8_t, 32> token_hash(const std::string& token) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     nullptr, 0);
  return hash;
}

// Runs `route` for a request with the admin token; refusals and the book's errors become replies.
template <typename Route>
void guarded(bool authorized, httplib::Response& response, Route&& route) {
  if (!authorized) return net::reply_error(response, 401, "the admin token is missing or wrong");
  try {
    net::reply_json(response, route());
  } catch (const std::out_of_range& error) {
    net::reply_error(response, 404, error.what());
  } catch (const std::invalid_argument& error) {
    net::reply_error(response, 400, error.what());
  }
}

}  // namespace

AdminController::AdminController(ApiKeyBook& keys, std::string currency)
    : keys_(keys), currency_(std::move(currency)) {
  std::array<std::uint8_t, 32> random{};
  randombytes_buf(random.data(), random.size());
  token_ = wallet::to_hex(random);
  token_hash_ = token_hash(token_);
}

protocol::AdminAccess AdminController::access(const std::string& url) const { return {url, token_}; }

bool AdminController::authorized(const std::string& token) const {
  const auto presented = token_hash(token);
  return sodium_memcmp(presented.data(), token_hash_.data(), presented.size()) == 0;
}

bool AdminController::admits(const httplib::Request& request) const {
  return authorized(request.get_header_value(api::kTokenHeader));
}

void AdminController::mount(httplib::Server& server) {
  const auto allowed = [this](const httplib::Request& request) { return admits(request); };
  server.Get(api::kKeys, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    guarded(allowed(request), response, [&] {
      nlohmann::json keys = nlohmann::json::array();
      for (const auto& key : keys_.list()) keys.push_back(protocol::to_json(key));
      return nlohmann::json{{"currency", currency_}, {"keys", keys}};
    });
  });
  server.Post(api::kKeys, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    guarded(allowed(request), response, [&] {
      const auto body = net::json_object_body(request, net::EmptyBody::IsEmptyObject);
      const auto name = body.contains("name") ? net::json_field<std::string>(body, "name") : std::string();
      const auto balance = body.contains("balance") ? net::json_field<std::int64_t>(body, "balance") : 0;
      const auto created = keys_.add(name, balance);
      return nlohmann::json{{"key", created.key}, {"record", protocol::to_json(created.info)}};
    });
  });
  server.Post(api::kCredit, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    guarded(allowed(request), response, [&] {
      const auto body = net::json_object_body(request);
      return protocol::to_json(
          keys_.credit(net::json_field<std::int64_t>(body, "id"), net::json_field<std::int64_t>(body, "amount")));
    });
  });
  server.Post(api::kRevoke, [this, allowed](const httplib::Request& request, httplib::Response& response) {
    guarded(allowed(request), response, [&] {
      return protocol::to_json(keys_.revoke(net::json_field<std::int64_t>(net::json_object_body(request), "id")));
    });
  });
}

}  // namespace tessera::hub
