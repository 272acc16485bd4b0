// What the membership and receipts controllers ask of the hub's verification (spot_checks.h)
// without depending on it: whether a node or its owner is barred from the run, and what a
// member's heartbeat reply carries for it (the spot-check tickets it is to run, key "checks").
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::hub {

class MemberGate {
 public:
  virtual ~MemberGate() = default;
  // Why `node` (working for `owner`, when known) may not take part: nothing when it may.
  virtual std::optional<std::string> refusal(const wallet::PublicKey& node, const std::string* owner) const = 0;
  virtual void add_to_heartbeat(nlohmann::json& reply, const wallet::PublicKey& node) const = 0;
};

// Throws net::HttpError 403 "excluded from this run: <reason>" when `gate` refuses the node.
void admit_or_refuse(const MemberGate* gate, const wallet::PublicKey& node, const std::string* owner);

}  // namespace tessera::hub
