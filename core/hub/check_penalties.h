// What a spot check's verdict does to the nodes involved: a pass counts for the worker; a failure
// excludes the node (exclusions.h), takes its open epoch's credit back from its owner (the FLOPs
// NodeTally says it was credited this epoch, counted as forfeited) and counts the failure; a
// checker's recompute is credited to its owner as verification work. Each inside the caller's
// transaction; the peer directory forgets an excluded node and its owner's other nodes at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/hub/hub_store.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class Exclusions;
class NodeTally;
class PeerDirectory;
class RunRoster;
class SettlementBook;
struct CheckRow;

class CheckPenalties {
 public:
  // Everything must outlive this.
  CheckPenalties(const protocol::RunManifest& manifest, SettlementBook& book, NodeTally& tally,
                 Exclusions& exclusions, PeerDirectory& directory, RunRoster& roster);

  void passed(HubStore::Transaction& transaction, const wallet::PublicKey& worker);
  // Excludes `node` (once; a node already excluded is not charged again).
  void failed(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& reason,
              std::uint64_t step);
  // The FLOPs of recomputing the row's slot (the stage's forward and backward over its tokens),
  // credited to the checker's owner and tallied as verification work.
  void credit_checker(HubStore::Transaction& transaction, const CheckRow& row);

  // `node`'s owner as admitted (from the store, within the transaction).
  static std::optional<std::string> owner_of(Database& db, const wallet::PublicKey& node);

 private:
  // The open epoch, read in the transaction (a close that just committed has moved it on).
  static std::uint64_t epoch(Database& db);

  const protocol::RunManifest& manifest_;
  SettlementBook& book_;
  NodeTally& tally_;
  Exclusions& exclusions_;
  PeerDirectory& directory_;
  RunRoster& roster_;
};

}  // namespace tessera::hub
