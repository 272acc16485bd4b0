// Hands a planned check to a checker: a random live member other than the worker (and, for a
// second check, other than the first checker), preferably of another owner than the worker's and
// not one of the worker's neighbours at that slot; the ticket names the worker's weights digest
// for the step (it waits for that report) and the input digests its neighbours signed for. The
// hub signs the ticket; it lives protocol::kCheckLifetimeMs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/hub/check_book.h"
#include "core/hub/hub_store.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class Exclusions;
class PeerDirectory;
class TicketBoard;

enum class IssueOutcome { Issued, NoWeights, NoChecker };

class CheckIssuer {
 public:
  // Everything must outlive this.
  CheckIssuer(std::string run_id, const wallet::KeyPair& hub_key, const PeerDirectory& directory,
              const Exclusions& exclusions, TicketBoard& board);

  // Issues the planned, receipted `row` now (its state and ticket written in the transaction).
  IssueOutcome issue(HubStore::Transaction& transaction, CheckRow& row, std::int64_t now_ms) const;

 private:
  // Nothing when no live member may check the row; `avoid`: the first checker of a second check.
  std::optional<std::pair<wallet::PublicKey, std::string>> choose_checker(
      const CheckRow& row, const std::string& worker_owner, const std::optional<wallet::PublicKey>& avoid) const;

  std::string run_id_;
  const wallet::KeyPair& hub_key_;
  const PeerDirectory& directory_;
  const Exclusions& exclusions_;
  TicketBoard& board_;
};

}  // namespace tessera::hub
