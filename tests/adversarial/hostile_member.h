// The attacker the node suites start from: a member with a fresh wallet that joined the run,
// listens with a hostile stage server, told the hub it is ready (so every honest node admits its
// key, as it would a real replica's) and holds a CurveZMQ link to every honest node.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "tests/adversarial/hostile_peer.h"
#include "tests/adversarial/hostile_stage.h"

namespace tessera::adversarial {

class HostileMember {
 public:
  explicit HostileMember(const std::string& hub_url);
  ~HostileMember();

  // Joins, reports ready and connects to every ready honest node; false with the reason.
  bool enter(std::string& why);

  HostilePeer& peer() { return peer_; }
  HostileStage& server() { return *server_; }
  const RunShape& run() const { return run_; }
  const std::vector<Target>& honest() const { return honest_; }
  std::vector<std::unique_ptr<NodeLink>>& links() { return links_; }
  // The link to the honest node serving `stage` (the first one when it has replicas).
  NodeLink& link_to_stage(int stage);
  const wallet::PublicKey& key() const { return peer_.key().public_key(); }

 private:
  zmq::context_t context_;
  HostilePeer peer_;
  RunShape run_;
  std::unique_ptr<HostileStage> server_;
  std::vector<Target> honest_;
  std::vector<std::unique_ptr<NodeLink>> links_;
};

}  // namespace tessera::adversarial
