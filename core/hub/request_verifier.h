// Who sent a signed hub request (protocol/hub_api.h signed_request): the node key named in the
// body, once its signature over the path and the body verifies and its time is within the
// accepted clock difference. Routes that change a node's standing (ready, heartbeat, leave,
// receipts, progress) take the sender from here, never from an unchecked field.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::hub {

// Milliseconds since the Unix epoch (signed requests carry it; delegations expire by it).
std::int64_t unix_ms();

// A node key in a request body: 64 hex digits; throws std::invalid_argument otherwise.
wallet::PublicKey key_field(const nlohmann::json& body, const char* name);

class RequestVerifier {
 public:
  explicit RequestVerifier(std::chrono::milliseconds skew) : skew_(skew) {}

  // The sender of a request to `path`. Throws std::invalid_argument for a malformed body and
  // net::HttpError 403 for a stale time or a signature that does not match the node key.
  wallet::PublicKey verify(const std::string& path, const nlohmann::json& body) const;

 private:
  std::chrono::milliseconds skew_;
};

}  // namespace tessera::hub
