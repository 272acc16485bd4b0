// Per node and open epoch, what its work came to: credited receipts and FLOPs, receipts rejected
// by reason, spot checks passed and failed, verification FLOPs. The node's log, the dashboards
// (GET /api/work?node=<hex>) and the epoch's statement read it. Written inside the caller's
// transaction; counters are small named integers or FLOPs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/hub/hub_store.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

// Counter names (a rejected receipt's is "rejected:<reason code>", reason codes in
// receipts_controller.cpp: "not-committed", "not-the-slot", "tokens", "duplicate-slot", ...).
inline constexpr char kCreditedReceipts[] = "credited_receipts";
inline constexpr char kCreditedFlops[] = "credited_flops";
inline constexpr char kChecksPassed[] = "checks_passed";
inline constexpr char kChecksFailed[] = "checks_failed";
inline constexpr char kVerifyFlops[] = "verification_flops";
inline constexpr char kForfeitedFlops[] = "forfeited_flops";  // credit taken back on exclusion

struct NodeEpochTally {
  std::uint64_t epoch = 0;
  std::string owner;
  std::map<std::string, double> counters;
};

class NodeTally {
 public:
  explicit NodeTally(HubStore& store) : store_(store) {}

  // Adds `amount` to `counter` of `node` (owned by `owner`) in `epoch`.
  void add(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& owner,
           std::uint64_t epoch, const std::string& counter, double amount);
  double get(HubStore::Transaction& transaction, const wallet::PublicKey& node, std::uint64_t epoch,
             const std::string& counter) const;
  // The node's tallies, newest epoch first, at most `epochs` of them.
  std::vector<NodeEpochTally> of_node(const wallet::PublicKey& node, std::size_t epochs) const;
  // Every node's tally of one owner in one epoch, summed.
  std::map<std::string, double> of_owner(const std::string& owner, std::uint64_t epoch) const;
  std::map<std::string, double> of_owner(HubStore::Transaction& transaction, const std::string& owner,
                                         std::uint64_t epoch) const;

 private:
  HubStore& store_;
};

nlohmann::json to_json(const NodeEpochTally& tally);

}  // namespace tessera::hub
