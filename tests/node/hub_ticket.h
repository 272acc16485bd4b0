// What the hub's SwarmInference does for a ticket, for tests that play the hub (or a forger): the
// ticket authenticated with `hub`'s key for every node of its route.
#pragma once

#include <string>
#include <vector>

#include "core/net/curve.h"
#include "core/protocol/inference_ticket.h"

namespace tessera::test {

inline std::string hub_ticket(const protocol::InferenceTicket& ticket, const wallet::KeyPair& hub) {
  const auto hub_curve = net::curve_keys_from(hub);
  std::vector<wallet::SecureBytes> keys;
  for (const auto& node : ticket.route)
    keys.push_back(protocol::hub_ticket_key(hub_curve.public_key, hub_curve.secret_key, net::curve_public_from(node)));
  std::vector<const wallet::SecureBytes*> pointers;
  for (const auto& key : keys) pointers.push_back(&key);
  return protocol::authenticate_inference_ticket(ticket, pointers).to_hex();
}

}  // namespace tessera::test
