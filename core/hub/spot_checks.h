// The hub's side of spot checks (protocol/spot_check.h has the whole flow; docs/verification.md
// "On the hub"): a WorkObserver that samples each committed step (check_sampler.h), collects the
// digests a sampled slot's ticket and verdict need as its receipts are credited, issues the
// ticket (check_issuer.h) once they are in, hands tickets to their checkers in heartbeat replies,
// decides reports (check_verdicts.h) and replicas' weights digests (weight_reports.h), and, on a
// timer, issues what waited for a checker and retires what outlived protocol::kCheckLifetimeMs.
// Everything is in the hub's store; the observer calls run inside the work accounting's
// transactions, the rest in transactions of their own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/check_issuer.h"
#include "core/hub/check_penalties.h"
#include "core/hub/check_sampler.h"
#include "core/hub/check_verdicts.h"
#include "core/hub/member_gate.h"
#include "core/hub/ticket_board.h"
#include "core/hub/weight_reports.h"
#include "core/hub/work_observer.h"

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class Exclusions;
class NodeTally;
class PeerDirectory;
class RunRoster;
class SettlementBook;

inline constexpr double kDefaultCheckRate = 0.1;

class SpotChecks : public WorkObserver, public MemberGate {
 public:
  // Everything must outlive this. `rate`: the probability that a node's work in a step is
  // checked (0 disables sampling; reports and weights are still handled).
  SpotChecks(const protocol::RunManifest& manifest, HubStore& store, SettlementBook& book, NodeTally& tally,
             Exclusions& exclusions, PeerDirectory& directory, RunRoster& roster, const wallet::KeyPair& hub_key,
             double rate = kDefaultCheckRate);

  void step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) override;
  void receipt_credited(HubStore::Transaction& transaction, const protocol::SignedReceipt& receipt,
                        double flops) override;

  // POST /api/weights from one node: its weights digests for the start of each report's step,
  // all of one stage, stored in one transaction. Throws net::HttpError 403 when the node is not a
  // member serving that stage, 400 for a step too far ahead of the last committed one (then none
  // is stored).
  void report_weights(const std::vector<WeightsReport>& reports);
  // POST /api/checks (check_verdicts.h).
  nlohmann::json report_check(const wallet::PublicKey& checker, const protocol::CheckReport& report);
  // Issues checks that waited, retires those past their lifetime; one transaction.
  void tick(std::int64_t now_ms);

  // The signed tickets (hex) handed to `checker` and not yet reported or expired.
  std::vector<std::string> tickets_for(const wallet::PublicKey& checker) const;
  // MemberGate: excluded nodes and owners are refused; a heartbeat reply carries "checks" (the
  // member's tickets, when it has any).
  std::optional<std::string> refusal(const wallet::PublicKey& node, const std::string* owner) const override;
  void add_to_heartbeat(nlohmann::json& reply, const wallet::PublicKey& node) const override;
  // GET /api/checks/summary: the counters, what waits and what is out now, and the rate.
  nlohmann::json summary() const;
  double rate() const { return sampler_.rate(); }

 private:
  void plan(HubStore::Transaction& transaction, const protocol::StepRecord& record, const SampledSlot& slot,
            std::int64_t now_ms);
  void retire_planned(HubStore::Transaction& transaction, const CheckRow& row, std::int64_t now_ms);

  const protocol::RunManifest& manifest_;
  HubStore& store_;
  PeerDirectory& directory_;
  RunRoster& roster_;
  const Exclusions& exclusions_;
  CheckSampler sampler_;
  TicketBoard board_;
  CheckPenalties penalties_;
  CheckIssuer issuer_;
  CheckVerdicts verdicts_;
  std::atomic<std::uint64_t> last_step_{0};  // the latest committed step, bounds weights reports
};

}  // namespace tessera::hub
