// The spot-check tickets out now, by checker, in memory: what heartbeat replies hand each checker
// ("checks") without touching the store, so a heartbeat never waits for a receipt batch's
// transaction. Filled from the store at start, posted to when a ticket is issued, taken from when
// it is decided or expires. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class TicketBoard {
 public:
  // The tickets `store` holds as issued.
  explicit TicketBoard(HubStore& store);

  void post(const wallet::PublicKey& checker, std::uint64_t check_id, std::string ticket_hex, std::int64_t expires_ms);
  void take(std::uint64_t check_id);
  // `checker`'s tickets that have not expired at `now_ms`, oldest first.
  std::vector<std::string> for_checker(const wallet::PublicKey& checker, std::int64_t now_ms) const;

 private:
  struct Posted {
    wallet::PublicKey checker{};
    std::string ticket_hex;
    std::int64_t expires_ms = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Posted> by_id_;
  std::multimap<wallet::PublicKey, std::uint64_t> by_checker_;
};

}  // namespace tessera::hub
