// Nodes excluded from the run (issue 17, "Spot checks"): a node whose work failed a spot check,
// whose weights differed from its replicas', or whose report as a checker a second check
// contradicted. Its node key and its owner are barred: join and heartbeat answer 403 "excluded
// from this run: <reason>" (membership_controller.cpp) and its receipts are refused. Kept in the
// hub's store (exclusions) with the epoch it happened in, which that epoch's statement lists as an
// event; the barred keys and owners are also held in memory for the request paths. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/statement.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class Exclusions {
 public:
  // Loads the exclusions `store` holds; `store` must outlive this.
  explicit Exclusions(HubStore& store);

  // Inside the caller's transaction; the in-memory bar follows at once (a rolled-back exclusion
  // only bars until the hub restarts: a refusal that errs towards caution). False when `node`
  // was already excluded.
  bool exclude(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& owner,
               const std::string& reason, std::uint64_t step, std::uint64_t epoch);

  // Why `node` (or, when given, its owner) is barred; nothing when it is not.
  std::optional<std::string> refusal(const wallet::PublicKey& node, const std::string* owner = nullptr) const;
  bool excluded(const wallet::PublicKey& node) const { return refusal(node).has_value(); }

  // The events of `epoch` in the order they happened, within the caller's transaction (an
  // epoch close).
  static std::vector<protocol::StatementEvent> events(Database& db, std::uint64_t epoch);

 private:
  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, std::string> nodes_;  // → reason
  std::map<std::string, std::string> owners_;       // → reason
};

}  // namespace tessera::hub
