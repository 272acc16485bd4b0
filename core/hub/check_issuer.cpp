// Choosing a checker and signing its ticket.
#include "core/hub/check_issuer.h"

#include <sodium.h>

#include <algorithm>

#include "core/hub/check_penalties.h"
#include "core/hub/exclusions.h"
#include "core/hub/peer_directory.h"
#include "core/hub/ticket_board.h"
#include "core/hub/weight_reports.h"
#include "core/protocol/spot_check.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

CheckIssuer::CheckIssuer(std::string run_id, const wallet::KeyPair& hub_key, const PeerDirectory& directory,
                         const Exclusions& exclusions, TicketBoard& board)
    : run_id_(std::move(run_id)), hub_key_(hub_key), directory_(directory), exclusions_(exclusions), board_(board) {}

std::optional<std::pair<wallet::PublicKey, std::string>> CheckIssuer::choose_checker(
    const CheckRow& row, const std::string& worker_owner, const std::optional<wallet::PublicKey>& avoid) const {
  // Tier 0: another owner, not a neighbour; 1: another owner; 2: not a neighbour; 3: anyone else.
  std::vector<std::pair<wallet::PublicKey, std::string>> tiers[4];
  for (const auto& peer : directory_.peers()) {
    if (peer.node_key == row.worker || (avoid && peer.node_key == *avoid)) continue;
    if (exclusions_.refusal(peer.node_key, &peer.owner)) continue;
    const bool same_owner = peer.owner == worker_owner;
    const bool neighbour = std::find(row.neighbours.begin(), row.neighbours.end(), peer.node_key) != row.neighbours.end();
    tiers[(same_owner ? 2 : 0) + (neighbour ? 1 : 0)].emplace_back(peer.node_key, peer.owner);
  }
  for (const auto& tier : tiers)
    if (!tier.empty()) return tier[randombytes_uniform(static_cast<std::uint32_t>(tier.size()))];
  return std::nullopt;
}

IssueOutcome CheckIssuer::issue(HubStore::Transaction& transaction, CheckRow& row, std::int64_t now_ms) const {
  auto& db = transaction.db();
  const auto weights = WeightReports::digest_of(db, row.worker, row.step);
  if (!weights) return IssueOutcome::NoWeights;
  std::optional<wallet::PublicKey> avoid;
  if (row.first_check)
    if (const auto first = check_book::find(db, *row.first_check)) avoid = first->checker;
  const auto chosen = choose_checker(row, CheckPenalties::owner_of(db, row.worker).value_or(""), avoid);
  if (!chosen) return IssueOutcome::NoChecker;

  protocol::CheckTicket ticket;
  ticket.run_id = run_id_;
  ticket.check_id = row.id;
  ticket.step = row.step;
  ticket.micro_batch = row.micro_batch;
  ticket.micro_batches = row.micro_batches;
  ticket.stage = row.stage;
  ticket.worker = row.worker;
  ticket.checker = chosen->first;
  ticket.weights = *weights;
  ticket.tokens = row.tokens_hash;
  ticket.forward_in = row.forward_in;
  ticket.backward_in = row.backward_in;
  ticket.issued_ms = now_ms;
  ticket.expires_ms = now_ms + protocol::kCheckLifetimeMs;

  row.checker = chosen->first;
  row.checker_owner = chosen->second;
  row.ticket = protocol::sign_check_ticket(ticket, hub_key_).encode();
  row.issued_ms = ticket.issued_ms;
  row.expires_ms = ticket.expires_ms;
  row.state = "issued";
  check_book::set_issued(db, row);
  check_book::count(db, "issued");
  board_.post(*row.checker, row.id, wallet::to_hex(row.ticket), *row.expires_ms);  // a rollback leaves a ticket
  return IssueOutcome::Issued;                                                     // its report would find undecidable
}

}  // namespace tessera::hub
