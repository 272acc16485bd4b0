// Route seeds as the hub issues them (protocol/route_seed.h): a fresh random seed per step, drawn
// with libsodium's randombytes_buf and signed with the run's hub key, stored once (step_book.h)
// and never changed, so the driver and the hub order each stage's replicas the same way. A hub
// started without its hub key cannot sign and issues none (as assignments.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/hub/hub_store.h"
#include "core/protocol/route_seed.h"

namespace tessera::hub {

class RouteSeeder {
 public:
  // `hub_key` may be null (no seeds); it must outlive the seeder.
  RouteSeeder(std::string run_id, const wallet::KeyPair* hub_key) : run_id_(std::move(run_id)), hub_key_(hub_key) {}

  bool signs() const { return hub_key_ != nullptr; }
  // The seed of `step`: the one issued before, else a fresh one stored through `db` (in the
  // caller's transaction). Nothing without a hub key.
  std::optional<protocol::SignedRouteSeed> issue(Database& db, std::uint64_t step) const;
  // The seed of the step after the last committed one (the first step when none is): issued now
  // if it was not, in a transaction of its own. Nothing without a hub key.
  std::optional<protocol::SignedRouteSeed> next(HubStore& store) const;

 private:
  std::string run_id_;
  const wallet::KeyPair* hub_key_;
};

}  // namespace tessera::hub
