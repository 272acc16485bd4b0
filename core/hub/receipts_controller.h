// The hub's receipts and progress API (DESIGN.md "The protocol", Receipts): a node reports its
// neighbours' receipts in signed batches; each is checked (this run, the reporting node's own
// work, the receiver's signature, neighbouring stages) with no lock held, then the batch is
// recorded (new receipts only: receipt_log.h) and credited to the sender's owner in one
// transaction of the hub's store, and answered only once that committed: a batch whose answer
// was lost is sent again and counted as duplicates. The step driver (a stage-0 replica) reports
// each committed step (step_progress.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/member_gate.h"
#include "core/hub/receipt_log.h"
#include "core/hub/step_progress.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"

namespace httplib {
class Server;
}

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class HubStore;
class PeerDirectory;
class RequestVerifier;
class RunRoster;
class SettlementBook;
struct Member;

class ReceiptsController {
 public:
  // Everything passed must outlive the controller, which must outlive the server it is mounted
  // on. `book` may be null (a hub without a hub key credits nothing).
  ReceiptsController(const protocol::RunManifest& manifest, const PeerDirectory& directory, const RunRoster& roster,
                     const RequestVerifier& verifier, HubStore& store, SettlementBook* book);

  // POST and GET /api/receipts, GET /api/receipts/summary, POST and GET /api/progress.
  void mount(httplib::Server& server);
  // Receipt batches from nodes `gate` bars (excluded from the run) are refused with 403.
  void admit_through(const MemberGate& gate) { gate_ = &gate; }

  // A verified receipt batch's answer: {"accepted", "duplicates", "rejected": [reasons]}.
  nlohmann::json report(const wallet::PublicKey& sender, const nlohmann::json& body);

  protocol::ReceiptTally tally() const { return log_.tally(); }
  // Verified receipts in the order they were credited (GET /api/receipts pages the same).
  std::vector<protocol::SignedReceipt> verified_receipts(std::size_t offset, std::size_t limit) const {
    return log_.page(offset, limit);
  }
  std::vector<nlohmann::json> progress() const { return progress_.kept(); }

 private:
  struct CheckedBatch {
    std::vector<ReceiptCredit> verified;
    nlohmann::json rejected = nlohmann::json::array();  // reasons
  };
  CheckedBatch check(const wallet::PublicKey& sender, const Member& member, const nlohmann::json& list) const;
  nlohmann::json credit(const CheckedBatch& batch);

  const protocol::RunManifest& manifest_;
  const PeerDirectory& directory_;
  const RunRoster& roster_;
  const RequestVerifier& verifier_;
  HubStore& store_;
  SettlementBook* book_;
  const MemberGate* gate_ = nullptr;
  ReceiptLog log_;
  StepProgress progress_;
};

}  // namespace tessera::hub
