// Settlement arithmetic in 128-bit integers.
#include "core/protocol/settlement.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace tessera::protocol {
namespace {

__extension__ typedef unsigned __int128 u128;

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) throw std::overflow_error("settlement counter overflow");
  return sum;
}

}  // namespace

std::uint64_t SettlementState::total_units() const {
  std::uint64_t total = 0;
  for (const auto& [owner, balance] : owners) total = checked_add(total, balance.units);
  return total;
}

std::uint64_t SettlementState::total_revenue() const {
  std::uint64_t total = 0;
  for (const auto& [owner, balance] : owners) total = checked_add(total, balance.revenue);
  return total;
}

std::vector<std::uint64_t> split_proportional(std::uint64_t amount, const std::vector<std::uint64_t>& weights) {
  std::vector<std::uint64_t> parts(weights.size(), 0);
  std::uint64_t total = 0;
  for (const auto weight : weights) total = checked_add(total, weight);
  if (total == 0) return parts;
  std::vector<u128> remainders(weights.size());
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const u128 product = static_cast<u128>(amount) * weights[i];
    parts[i] = static_cast<std::uint64_t>(product / total);
    remainders[i] = product % total;
    given += parts[i];
  }
  std::uint64_t left = amount - given;  // < number of non-zero weights
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return remainders[a] > remainders[b]; });
  for (std::size_t k = 0; left > 0; ++k, --left) ++parts[order[k]];
  return parts;
}

EpochSettlement settle_epoch(const SettlementState& previous, const std::map<std::string, std::uint64_t>& epoch_units,
                             std::uint64_t epoch_revenue) {
  EpochSettlement result;
  result.state = previous;
  result.state.epoch = previous.epoch + 1;
  result.epoch_revenue = epoch_revenue;

  // Revenue follows the shares at the end of the previous epoch (map order = address order).
  const std::uint64_t to_split = checked_add(epoch_revenue, previous.carried_revenue);
  std::vector<std::string> owners;
  std::vector<std::uint64_t> weights;
  for (const auto& [owner, balance] : previous.owners) {
    owners.push_back(owner);
    weights.push_back(balance.units);
  }
  const auto parts = split_proportional(to_split, weights);
  result.state.carried_revenue = previous.total_units() == 0 ? to_split : 0;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (parts[i] == 0) continue;
    auto& balance = result.state.owners[owners[i]];
    balance.revenue = checked_add(balance.revenue, parts[i]);
    result.revenue_parts[owners[i]] = parts[i];
    result.distributed += parts[i];
  }
  for (const auto& [owner, units] : epoch_units) {
    if (units == 0) continue;
    auto& balance = result.state.owners[owner];
    balance.units = checked_add(balance.units, units);
  }
  result.state.total_units();  // throws if the run's total no longer fits
  return result;
}

std::vector<OwnerLeaf> statement_leaves(const SettlementState& state) {
  std::vector<OwnerLeaf> leaves;
  leaves.reserve(state.owners.size());
  for (const auto& [owner, balance] : state.owners) leaves.push_back({owner, balance.units, balance.revenue});
  return leaves;  // std::map iterates in address order
}

std::uint64_t share_ppb(const SettlementState& state, const std::string& owner) {
  const auto total = state.total_units();
  const auto found = state.owners.find(owner);
  if (total == 0 || found == state.owners.end()) return 0;
  return static_cast<std::uint64_t>(static_cast<u128>(found->second.units) * 1'000'000'000u / total);
}

}  // namespace tessera::protocol
