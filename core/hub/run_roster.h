// The run's members as the hub admitted them: every node admitted in the run, with the stage it
// was given and the owner it works for (its receipts are checked and credited against this, also
// after it left or the hub restarted), and the order in which live ones became ready (the oldest
// ready stage-0 replica drives). Members are kept in the hub's store; memory holds only live
// ones (admitted and not yet unready), at most `max_cached`, so a run that saw a million nodes
// costs no more memory than one that sees its current swarm. The membership controller writes
// it, the receipts controller reads it. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/wallet/signing.h"

namespace tessera::hub {

class HubStore;

struct Member {
  int stage = 0;
  std::string owner;  // the owner address its delegation names
};

class RunRoster {
 public:
  // `store` must outlive the roster.
  explicit RunRoster(HubStore& store, std::size_t max_cached = 20000);

  // Records (or replaces) the stage and owner of an admitted node; durable when this returns.
  void admit(const wallet::PublicKey& node, int stage, const std::string& owner);
  // Ready from now on; a node already ready keeps its place.
  void mark_ready(const wallet::PublicKey& node);
  // Not ready: it left, went silent, or joins again and must fetch its stage's state first. It
  // stays a member (in the store) and leaves memory.
  void unready(const wallet::PublicKey& node);

  // Ready nodes → their ready order (1 the oldest).
  std::map<wallet::PublicKey, std::uint64_t> ready_orders() const;
  // Any node admitted in this run, live or not.
  std::optional<Member> member(const wallet::PublicKey& node) const;
  std::optional<int> stage_of(const wallet::PublicKey& node) const;
  std::optional<std::string> owner_of(const wallet::PublicKey& node) const;
  std::size_t cached() const;

 private:
  void cache_locked(const wallet::PublicKey& node, Member member);

  HubStore& store_;
  std::size_t max_cached_;
  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, std::uint64_t> ready_;  // node key → ready order
  std::uint64_t next_ready_ = 1;
  std::map<wallet::PublicKey, Member> live_;         // admitted and not unready since
};

}  // namespace tessera::hub
