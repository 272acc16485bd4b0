// Signed hub requests, checked (see request_verifier.h).
#include "core/hub/request_verifier.h"

#include <cstdlib>

#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

wallet::PublicKey key_field(const nlohmann::json& body, const char* name) {
  const auto key = wallet::fixed_from_hex<32>(net::json_field<std::string>(body, name));
  if (!key) throw std::invalid_argument(std::string("field '") + name + "' is not 64 hex digits");
  return *key;
}

wallet::PublicKey RequestVerifier::verify(const std::string& path, const nlohmann::json& body) const {
  const auto key = key_field(body, "node_key");
  const auto at = net::json_field<std::int64_t>(body, "at_ms");
  const auto signature = wallet::fixed_from_hex<64>(net::json_field<std::string>(body, "signature"));
  if (!signature) throw std::invalid_argument("field 'signature' is not 128 hex digits");
  if (std::llabs(unix_ms() - at) > skew_.count())
    throw net::HttpError(403, "request time is too far from the hub's clock (check the node's clock)");
  if (!wallet::verify(wallet::SignatureDomain::Challenge, protocol::hub_request_message(path, body), *signature, key))
    throw net::HttpError(403, "the request's signature does not match its node key");
  return key;
}

}  // namespace tessera::hub
