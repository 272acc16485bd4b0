// The hub's membership API (DESIGN.md "The protocol", Join): a node fetches a challenge and joins
// with a signed request carrying it, proving its node key and its owner's delegation; it is
// assigned the least-served stage that fits its memory. Signed ready, heartbeat and leave requests
// keep its place in the peer directory; the signed peer list is served to members only and names
// no owners, and carries the hub's route seed for the next step (route_seeder.h). Challenges and
// joins are rate limited per address, joins per node key and per owner address (a Sybil cannot
// re-join its way to a neighbour it likes: 429 with Retry-After). Refusals are 403, an unknown
// peer 404 ("join again").
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "core/hub/challenges.h"
#include "core/hub/member_gate.h"
#include "core/hub/rate_limiter.h"
#include "core/protocol/hub_api.h"

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class RouteTable;

class AssignmentIssuer;
class HubStore;
class PeerDirectory;
class ReachabilityCheck;
class RelayCredits;
class RequestVerifier;
class RouteSeeder;
class RunRoster;
class TrafficReports;

// Defaults: a flood is cut off quickly; a network behind one address (a home, a lab) can still
// rejoin all at once after a hub restart, and a node retrying a failed join is not locked out.
struct MembershipLimits {
  RateLimit challenges_per_address{20.0, 40.0};  // 20 a second, 40 at once
  RateLimit joins_per_address{0.2, 20.0};        // 12 a minute, 20 at once
  RateLimit joins_per_key{0.1, 4.0};             // 6 a minute, 4 at once
  RateLimit joins_per_owner{0.1, 6.0};           // 6 a minute, 6 at once: all of one owner's keys together
};

class MembershipController {
 public:
  // Everything passed must outlive the controller, which must outlive the table it is mounted in.
  MembershipController(const protocol::RunManifest& manifest, PeerDirectory& directory, RunRoster& roster,
                       const RequestVerifier& verifier, std::chrono::milliseconds heartbeat_timeout,
                       MembershipLimits limits = {});

  // POST /api/challenge, /api/join, /api/ready, /api/heartbeat, /api/leave, /api/endpoint; GET
  // /api/peers, /api/relays.
  void mount(RouteTable& routes);
  // Join and heartbeat replies carry the member's stage assignment from `issuer` (which must
  // outlive the controller).
  void issue_assignments(const AssignmentIssuer& issuer) { assignments_ = &issuer; }
  // The peer list carries the next step's route seed from `seeds`, kept in `store` (both must
  // outlive the controller).
  void issue_route_seeds(const RouteSeeder& seeds, HubStore& store) {
    seeds_ = &seeds;
    store_ = &store;
  }
  // Join, ready and heartbeat are refused (403) for nodes and owners `gate` bars, and heartbeat
  // replies carry what it adds (spot-check tickets); `gate` must outlive the controller.
  void admit_through(const MemberGate& gate) { gate_ = &gate; }
  // A heartbeat's relay byte counts go to `credits` (relay_credits.h; must outlive the controller).
  void credit_relays_with(RelayCredits& credits) { relay_credits_ = &credits; }
  // A heartbeat's traffic report is kept in `reports` (which must outlive the controller).
  void keep_traffic_in(TrafficReports& reports) { traffic_ = &reports; }

  // Joins and address updates are checked by `check` (reachability.h; must outlive the controller).
  void check_reachability(ReachabilityCheck& check) { reachability_ = &check; }

  // A verified join's answer: {"stage", "stages", "run", "endpoint" (as peers will reach it),
  // "address" (where the hub saw the request come from)}. `seen` is that address.
  nlohmann::json join(const wallet::PublicKey& node_key, const protocol::JoinBody& body, const std::string& seen = {});
  // Live peers, ready ones first in their ready order, and the step driver: the oldest ready
  // stage-0 replica.
  protocol::PeerList peer_list();

 private:
  const protocol::RunManifest& manifest_;
  PeerDirectory& directory_;
  RunRoster& roster_;
  const RequestVerifier& verifier_;
  std::chrono::milliseconds heartbeat_timeout_;
  ReachabilityCheck* reachability_ = nullptr;
  RelayCredits* relay_credits_ = nullptr;
  ChallengeBook challenges_;
  RateLimiter challenges_per_address_;
  RateLimiter joins_per_address_;
  RateLimiter joins_per_key_;
  RateLimiter joins_per_owner_;
  const AssignmentIssuer* assignments_ = nullptr;
  const RouteSeeder* seeds_ = nullptr;
  HubStore* store_ = nullptr;
  const MemberGate* gate_ = nullptr;
  TrafficReports* traffic_ = nullptr;
};

}  // namespace tessera::hub
