// Settlement arithmetic in 128-bit integers.
#include "core/protocol/settlement.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace tessera::protocol {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) throw std::overflow_error("settlement counter overflow");
  return sum;
}

std::uint64_t saturate(u128 value) { return value > kMax ? kMax : static_cast<std::uint64_t>(value); }

// The epoch's revenue (and what was carried) split by the shares at the end of the previous
// epoch (map order = address order), up to what the run's cumulative revenue can still hold.
void distribute_revenue(const SettlementState& previous, EpochSettlement& result) {
  const u128 to_split = static_cast<u128>(result.epoch_revenue) + previous.carried_revenue;
  if (previous.total_units() == 0) {  // no one to pay yet: carried, as far as a counter holds it
    result.state.carried_revenue = saturate(to_split);
    result.revenue_withheld = saturate(to_split - result.state.carried_revenue);
    return;
  }
  const std::uint64_t amount = saturate(std::min<u128>(to_split, kMax - previous.total_revenue()));
  result.revenue_withheld = saturate(to_split - amount);
  result.state.carried_revenue = 0;
  std::vector<std::string> owners;
  std::vector<std::uint64_t> weights;
  for (const auto& [owner, balance] : previous.owners) {
    owners.push_back(owner);
    weights.push_back(balance.units);
  }
  const auto parts = split_proportional(amount, weights);
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (parts[i] == 0) continue;
    result.state.owners[owners[i]].revenue += parts[i];  // fits: the run's total does
    result.revenue_parts[owners[i]] = parts[i];
    result.distributed += parts[i];
  }
}

// The epoch's units, compute and data, in full while the run's total fits, else in proportion up
// to the cap (the weights: compute credits in address order, then data credits in address order).
void credit_units(const SettlementState& previous, const std::map<std::string, std::uint64_t>& epoch_units,
                  const std::map<std::string, std::uint64_t>& epoch_data_units, EpochSettlement& result) {
  struct Credit {
    std::string owner;
    bool data = false;
  };
  std::vector<Credit> credits;
  std::vector<std::uint64_t> earned;
  u128 sum = 0;
  const auto add = [&](const std::map<std::string, std::uint64_t>& units, bool data) {
    for (const auto& [owner, amount] : units) {
      if (amount == 0) continue;
      credits.push_back({owner, data});
      earned.push_back(amount);
      sum += amount;
    }
  };
  add(epoch_units, false);
  add(epoch_data_units, true);
  const std::uint64_t room = kMax - previous.total_units();
  auto credited = earned;
  if (sum > room) {
    credited = split_proportional(room, earned);  // each part is at most what the owner earned
    result.units_withheld = saturate(sum - room);
  }
  for (std::size_t i = 0; i < credits.size(); ++i) {
    if (credited[i] == 0) continue;
    auto& balance = result.state.owners[credits[i].owner];
    balance.units += credited[i];  // fits: the total does
    if (credits[i].data) balance.data_units += credited[i];
  }
}

}  // namespace

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) { return saturate(static_cast<u128>(a) + b); }

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

std::uint64_t SettlementState::total_data_units() const {
  std::uint64_t total = 0;
  for (const auto& [owner, balance] : owners) total = checked_add(total, balance.data_units);
  return total;
}

std::vector<std::uint64_t> split_proportional(std::uint64_t amount, const std::vector<std::uint64_t>& weights) {
  std::vector<std::uint64_t> parts(weights.size(), 0);
  u128 total = 0;
  for (const auto weight : weights) total += weight;  // at most 2^64 weights of < 2^64: fits
  if (total == 0) return parts;
  std::vector<u128> remainders(weights.size());
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const u128 product = static_cast<u128>(amount) * weights[i];
    parts[i] = static_cast<std::uint64_t>(product / total);  // <= amount
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
                             std::uint64_t epoch_revenue, const std::map<std::string, std::uint64_t>& epoch_data_units) {
  EpochSettlement result;
  result.state = previous;
  result.state.epoch = previous.epoch + 1;
  result.epoch_revenue = epoch_revenue;
  distribute_revenue(previous, result);
  credit_units(previous, epoch_units, epoch_data_units, result);
  return result;
}

std::vector<OwnerLeaf> statement_leaves(const SettlementState& state) {
  std::vector<OwnerLeaf> leaves;
  leaves.reserve(state.owners.size());
  for (const auto& [owner, balance] : state.owners) leaves.push_back({owner, balance.units, balance.revenue, 0, 0, 0, balance.data_units});
  return leaves;  // std::map iterates in address order
}

std::uint64_t share_ppb(const SettlementState& state, const std::string& owner) {
  const auto total = state.total_units();
  const auto found = state.owners.find(owner);
  if (total == 0 || found == state.owners.end()) return 0;
  return static_cast<std::uint64_t>(static_cast<u128>(found->second.units) * 1'000'000'000u / total);
}

}  // namespace tessera::protocol
