// The hub's receipts and progress API (DESIGN.md "The protocol", Receipts): a node reports its
// neighbours' receipts in signed batches; each is checked (this run, the reporting node's own
// work, the receiver's signature, neighbouring stages, not seen before) and, once verified,
// credited to the sender's owner in the settlement book. The step driver (a stage-0 replica)
// reports each committed step. Owns the verified receipts, their tally and the steps.
#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"

namespace httplib {
class Server;
}

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class PeerDirectory;
class RequestVerifier;
class RunRoster;
class SettlementBook;

class ReceiptsController {
 public:
  // Everything passed must outlive the controller, which must outlive the server it is mounted
  // on. `book` may be null (a hub without a hub key credits nothing).
  ReceiptsController(const protocol::RunManifest& manifest, const PeerDirectory& directory, const RunRoster& roster,
                     const RequestVerifier& verifier, SettlementBook* book);

  // POST and GET /api/receipts, GET /api/receipts/summary, POST and GET /api/progress.
  void mount(httplib::Server& server);

  // A verified receipt batch's answer: {"accepted", "duplicates", "rejected": [reasons]}.
  nlohmann::json report(const wallet::PublicKey& sender, const nlohmann::json& body);

  protocol::ReceiptTally tally() const;
  std::vector<protocol::SignedReceipt> verified_receipts() const;
  std::vector<nlohmann::json> progress() const;

 private:
  const protocol::RunManifest& manifest_;
  const PeerDirectory& directory_;
  const RunRoster& roster_;
  const RequestVerifier& verifier_;
  SettlementBook* book_;

  mutable std::mutex mutex_;
  std::set<std::string> receipt_ids_;
  std::vector<protocol::SignedReceipt> receipts_;
  protocol::ReceiptTally tally_;
  std::vector<nlohmann::json> progress_;  // one entry per committed step, from the step driver
};

}  // namespace tessera::hub
