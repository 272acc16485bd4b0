// Drawing, signing and keeping route seeds.
#include "core/hub/route_seeder.h"

#include <sodium.h>

#include "core/hub/step_book.h"

namespace tessera::hub {

std::optional<protocol::SignedRouteSeed> RouteSeeder::issue(Database& db, std::uint64_t step) const {
  if (!hub_key_) return std::nullopt;
  if (auto issued = step_book::seed(db, step)) return issued;
  protocol::RouteSeed seed;
  seed.run_id = run_id_;
  seed.step = step;
  randombytes_buf(seed.seed.data(), seed.seed.size());
  auto signed_seed = protocol::sign_route_seed(seed, *hub_key_);
  step_book::store_seed(db, signed_seed);
  return signed_seed;
}

std::optional<protocol::SignedRouteSeed> RouteSeeder::next(HubStore& store) const {
  if (!hub_key_) return std::nullopt;
  // Every member asks for the peer list often: a read when the seed exists, a write only once.
  auto issued = store.read([](Database& db) -> std::optional<protocol::SignedRouteSeed> {
    const auto last = step_book::last_step(db);
    return step_book::seed(db, last ? *last + 1 : 1);
  });
  if (issued) return issued;
  auto transaction = store.begin();
  const auto last = step_book::last_step(transaction.db());
  const std::uint64_t step = last ? *last + 1 : 1;
  if (step > kMaxStoredStep) return std::nullopt;
  auto seed = issue(transaction.db(), step);
  transaction.commit();
  return seed;
}

}  // namespace tessera::hub
