// The run's members as the hub admitted them: every node admitted since the hub started, with the
// stage it was given and the owner it works for (its receipts are checked and credited against
// this, also after it left), and the order in which live ones became ready (the oldest ready
// stage-0 replica drives). The membership controller writes it, the receipts controller reads
// it. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/wallet/signing.h"

namespace tessera::hub {

class RunRoster {
 public:
  // Records (or replaces) the stage and owner of an admitted node.
  void admit(const wallet::PublicKey& node, int stage, const std::string& owner);
  // Ready from now on; a node already ready keeps its place.
  void mark_ready(const wallet::PublicKey& node);
  // Not ready: it left, went silent, or joins again and must fetch its stage's state first.
  void unready(const wallet::PublicKey& node);

  // Ready nodes → their ready order (1 the oldest).
  std::map<wallet::PublicKey, std::uint64_t> ready_orders() const;
  std::optional<int> stage_of(const wallet::PublicKey& node) const;
  std::optional<std::string> owner_of(const wallet::PublicKey& node) const;

 private:
  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, std::uint64_t> ready_;  // node key → ready order
  std::uint64_t next_ready_ = 1;
  std::map<wallet::PublicKey, int> stages_;           // every node admitted in the run → stage
  std::map<wallet::PublicKey, std::string> owners_;   // node key → owner address (its delegation)
};

}  // namespace tessera::hub
