// The hub's step API (docs/hub.md "Credit follows commits"): the driver the hub names signs a
// step record when a step commits and sends it with the step's figures (POST /api/steps). The
// hub refuses a record that is not the named driver's, not this run's, not above the last stored
// step, not the manifest's micro-batches and tokens, names replicas or committers that are not
// members at their stage, or routes a stage's replicas in another order than the hub's route seed
// for that step gives (route_seeder.h). Otherwise it stores the record, credits the receipts that
// waited for it (committed_work.h), draws the next step's seed and answers it, in one transaction.
#pragma once

#include <nlohmann/json.hpp>

#include "core/protocol/route_seed.h"
#include "core/protocol/step_record.h"

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class RouteTable;

class CommittedWork;
class HubStore;
class MembershipController;
class PeerDirectory;
class RequestVerifier;
class RouteSeeder;
class RunRoster;
class StepProgress;

class StepsController {
 public:
  struct Parts {  // everything must outlive the controller, which must outlive its server
    const protocol::RunManifest& manifest;
    MembershipController& membership;  // names the driver
    const PeerDirectory& directory;    // the throughput each replica reported at join
    const RunRoster& roster;
    const RequestVerifier& verifier;
    HubStore& store;
    CommittedWork& work;
    const RouteSeeder& seeds;
    StepProgress& progress;
  };
  explicit StepsController(Parts parts) : parts_(parts) {}

  // POST /api/steps.
  void mount(RouteTable& routes);
  // A signed step report's answer: {"step", "route_seed": hex of the next step's seed (with a hub
  // key)}. Throws net::HttpError (400 malformed, 403 refused, 409 a step not above the last).
  nlohmann::json commit(const wallet::PublicKey& sender, const nlohmann::json& body);

 private:
  void check_driver(const wallet::PublicKey& sender, const protocol::SignedStepRecord& signed_record);
  void check_shape(const protocol::StepRecord& record) const;
  void check_members(const protocol::StepRecord& record) const;
  std::vector<std::vector<protocol::WeightedReplica>> weights(const protocol::StepRecord& record) const;

  Parts parts_;
};

}  // namespace tessera::hub
