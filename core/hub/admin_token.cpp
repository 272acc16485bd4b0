// The admin token, compared by hash in constant time (see admin_token.h).
#include "core/hub/admin_token.h"

#include <httplib.h>
#include <sodium.h>

#include "core/protocol/hub_admin_api.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

std::array<std::uint8_t, 32> token_hash(const std::string& token) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     nullptr, 0);
  return hash;
}

}  // namespace

AdminToken::AdminToken() {
  std::array<std::uint8_t, 32> random{};
  randombytes_buf(random.data(), random.size());
  token_ = wallet::to_hex(random);
  hash_ = token_hash(token_);
}

bool AdminToken::admits(const httplib::Request& request) const {
  const auto presented = token_hash(request.get_header_value(protocol::hub_admin_api::kTokenHeader));
  return sodium_memcmp(presented.data(), hash_.data(), presented.size()) == 0;
}

}  // namespace tessera::hub
