// The hub's stage assignments (core/protocol/assignment.h): each join and heartbeat reply carries
// a fresh one for the member, signed with the run's hub key, which the member presents to the
// replicas of its stage. A hub started without its hub key cannot sign and issues none; its nodes
// then admit a replica's requests by the hub's peer list alone (docs/swarm.md).
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/protocol/assignment.h"

namespace tessera::hub {

class AssignmentIssuer {
 public:
  // `hub_key` may be null (no assignments); it must outlive the issuer.
  AssignmentIssuer(std::string run_id, const wallet::KeyPair* hub_key,
                   std::chrono::milliseconds lifetime = std::chrono::milliseconds(protocol::kAssignmentLifetimeMs));

  bool signs() const { return hub_key_ != nullptr; }
  // The assignment of `node_key` to `stage` from now on, signed; nothing without a hub key.
  std::optional<protocol::SignedStageAssignment> issue(const wallet::PublicKey& node_key, int stage) const;
  // Adds "assignment" (hex of the signed assignment) to a join or heartbeat reply.
  void add_to(nlohmann::json& reply, const wallet::PublicKey& node_key, int stage) const;

 private:
  std::string run_id_;
  const wallet::KeyPair* hub_key_;
  std::chrono::milliseconds lifetime_;
};

}  // namespace tessera::hub
