// Stage assignments signed for join and heartbeat replies.
#include "core/hub/assignments.h"

#include "core/protocol/unix_time.h"

namespace tessera::hub {

AssignmentIssuer::AssignmentIssuer(std::string run_id, const wallet::KeyPair* hub_key, std::chrono::milliseconds lifetime)
    : run_id_(std::move(run_id)), hub_key_(hub_key), lifetime_(lifetime) {}

std::optional<protocol::SignedStageAssignment> AssignmentIssuer::issue(const wallet::PublicKey& node_key, int stage) const {
  if (!hub_key_) return std::nullopt;
  protocol::StageAssignment assignment;
  assignment.run_id = run_id_;
  assignment.node_key = node_key;
  assignment.stage = static_cast<std::uint16_t>(stage);
  assignment.issued_ms = protocol::unix_now_ms();
  assignment.expires_ms = assignment.issued_ms + lifetime_.count();
  return protocol::sign_assignment(assignment, *hub_key_);
}

void AssignmentIssuer::add_to(nlohmann::json& reply, const wallet::PublicKey& node_key, int stage) const {
  if (const auto signed_assignment = issue(node_key, stage)) reply["assignment"] = signed_assignment->to_hex();
}

}  // namespace tessera::hub
