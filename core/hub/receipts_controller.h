// The hub's receipts and progress API (DESIGN.md "The protocol", Receipts): a node reports its
// neighbours' receipts in signed batches; each is checked (this run, the reporting node's own
// work, the receiver's signature, the receiver a member) with no lock held, then the batch goes
// to committed_work.h in one transaction of the hub's store (credited when it matches a slot of
// a committed step, pending when its step is not committed yet, else rejected and counted), and
// is answered only once that committed: a batch whose answer was lost is sent again and counted
// as duplicates. POST /api/progress (a stage-0 replica's step figures) is still accepted; the
// driver's figures now come with its step record (steps_controller.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/member_gate.h"
#include "core/hub/receipt_log.h"
#include "core/hub/receipt_slots.h"
#include "core/hub/step_progress.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class RouteTable;

class CommittedWork;
class HubStore;
class PeerDirectory;
class RequestVerifier;
class RunRoster;
struct Member;

class ReceiptsController {
 public:
  // Everything passed must outlive the controller, which must outlive the server it is mounted
  // on.
  ReceiptsController(const protocol::RunManifest& manifest, const PeerDirectory& directory, const RunRoster& roster,
                     const RequestVerifier& verifier, HubStore& store, CommittedWork& work, StepProgress& progress);

  // POST and GET /api/receipts, GET /api/receipts/summary, POST and GET /api/progress.
  void mount(RouteTable& routes);
  // Receipt batches from nodes `gate` bars (excluded from the run) are refused with 403.
  void admit_through(const MemberGate& gate) { gate_ = &gate; }

  // A verified receipt batch's answer: {"accepted", "duplicates", "pending", "rejected": [reasons]},
  // each reason "<code>: <why>" (codes in receipt_slots.h and committed_work.h).
  nlohmann::json report(const wallet::PublicKey& sender, const nlohmann::json& body);

  protocol::ReceiptTally tally() const { return log_.tally(); }
  // Verified receipts in the order they were credited (GET /api/receipts pages the same).
  std::vector<protocol::SignedReceipt> verified_receipts(std::size_t offset, std::size_t limit) const {
    return log_.page(offset, limit);
  }
  std::vector<nlohmann::json> progress() const { return progress_.kept(); }

 private:
  struct CheckedBatch {
    std::vector<protocol::SignedReceipt> checked;
    std::vector<ReceiptRejection> refused;
  };
  CheckedBatch check(const wallet::PublicKey& sender, const nlohmann::json& list) const;
  nlohmann::json credit(const wallet::PublicKey& sender, const Member& member, const CheckedBatch& batch);

  const protocol::RunManifest& manifest_;
  const PeerDirectory& directory_;
  const RunRoster& roster_;
  const RequestVerifier& verifier_;
  HubStore& store_;
  CommittedWork& work_;
  const MemberGate* gate_ = nullptr;
  ReceiptLog log_;
  StepProgress& progress_;
};

}  // namespace tessera::hub
