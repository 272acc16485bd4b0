// The hub's membership API (DESIGN.md "The protocol", Join): a node fetches a challenge, joins by
// proving its node key and its owner's delegation and is assigned the least-served stage that
// fits its memory; signed ready, heartbeat and leave requests keep its place in the peer
// directory; the peer list names every live peer, oldest ready first. Refusals are 403, an
// unknown peer 404 ("join again").
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/hub/challenges.h"

namespace httplib {
class Server;
}

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class AssignmentIssuer;
class PeerDirectory;
class RequestVerifier;
class RunRoster;

class MembershipController {
 public:
  // Everything passed must outlive the controller, which must outlive the server it is mounted on.
  MembershipController(const protocol::RunManifest& manifest, PeerDirectory& directory, RunRoster& roster,
                       const RequestVerifier& verifier, std::chrono::milliseconds heartbeat_timeout);

  // POST /api/challenge, /api/join, /api/ready, /api/heartbeat, /api/leave; GET /api/peers.
  void mount(httplib::Server& server);
  // Join and heartbeat replies carry the member's stage assignment from `issuer` (which must
  // outlive the controller).
  void issue_assignments(const AssignmentIssuer& issuer) { assignments_ = &issuer; }

  // A join request's answer: {"stage", "stages", "run"}.
  nlohmann::json join(const nlohmann::json& body);
  // Live peers, ready ones first in their ready order (the oldest ready stage-0 replica drives).
  nlohmann::json peers_json();

 private:
  const protocol::RunManifest& manifest_;
  PeerDirectory& directory_;
  RunRoster& roster_;
  const RequestVerifier& verifier_;
  std::chrono::milliseconds heartbeat_timeout_;
  ChallengeBook challenges_;
  const AssignmentIssuer* assignments_ = nullptr;
};

}  // namespace tessera::hub
