// Epoch settlement, pure arithmetic: verified work becomes cumulative ownership units per owner,
// and the epoch's inference revenue is split by the shares at the end of the previous epoch, in
// integer micro-units that add up exactly to the revenue (largest remainder; ties go to the
// smaller owner address). Revenue that no one can receive yet (no units before this epoch) is
// carried to the next epoch: nothing is created or lost. Amounts are summed in 128 bits; the
// run's totals are capped at 2^64 - 1 (what a statement can sign), and what would pass the cap is
// withheld and reported, never thrown: a run that reaches it keeps settling.
// Data units (credited to the contributors of the run's data shards for their trained tokens) are
// ownership units like any other: they count in `units` and earn revenue shares; each balance
// also keeps how many of its units came from data, so the two are shown apart.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/protocol/merkle.h"

namespace tessera::protocol {

inline constexpr double kFlopsPerUnit = 1e6;  // one ownership unit = one verified MFLOP

struct OwnerBalance {
  std::uint64_t units = 0;    // cumulative ownership units
  std::uint64_t revenue = 0;  // cumulative revenue, micro-units
  std::uint64_t data_units = 0;  // of `units`, those credited for data (cumulative)
  bool operator==(const OwnerBalance&) const = default;
};

struct SettlementState {
  std::uint64_t epoch = 0;                      // the last settled epoch (0: none yet)
  std::map<std::string, OwnerBalance> owners;   // by owner address
  std::uint64_t carried_revenue = 0;            // waiting for the first owner with units
  std::uint64_t total_units() const;
  std::uint64_t total_revenue() const;          // distributed so far
  std::uint64_t total_data_units() const;       // of total_units()
};

struct EpochSettlement {
  SettlementState state;                                // after this epoch
  std::map<std::string, std::uint64_t> revenue_parts;   // this epoch's revenue per owner
  std::uint64_t epoch_revenue = 0;                      // revenue earned in the epoch (excl. carry)
  std::uint64_t distributed = 0;                        // sum of revenue_parts
  // What did not fit because the run's total units or its cumulative revenue would pass 2^64 - 1
  // (each saturated at 2^64 - 1 itself). The epoch's units are then credited in proportion to
  // what each owner earned, up to the cap. Non-zero: the operator must be told.
  std::uint64_t units_withheld = 0;
  std::uint64_t revenue_withheld = 0;
  bool overflowed() const { return units_withheld != 0 || revenue_withheld != 0; }
};

// `amount` split in proportion to `weights`, exactly (sum of parts == amount when any weight is
// non-zero; all zeros otherwise). Remainder micro-units go to the largest fractional parts,
// ties to the lower index. The weights are summed in 128 bits: any weights are accepted.
std::vector<std::uint64_t> split_proportional(std::uint64_t amount, const std::vector<std::uint64_t>& weights);

// a + b, or 2^64 - 1 when it does not fit.
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b);

// Settles epoch `previous.epoch + 1`: `epoch_units` (compute) and `epoch_data_units` (data) per
// owner are both credited as units, and data units also to each balance's data_units. Never
// throws for `previous` states it made (their totals fit), whatever the epoch adds: past the cap
// the room left is split in proportion to every credit, compute and data alike (see
// EpochSettlement::units_withheld, which counts both).
EpochSettlement settle_epoch(const SettlementState& previous, const std::map<std::string, std::uint64_t>& epoch_units,
                             std::uint64_t epoch_revenue,
                             const std::map<std::string, std::uint64_t>& epoch_data_units = {});

// The statement leaves, sorted by owner address, and the position of each owner.
std::vector<OwnerLeaf> statement_leaves(const SettlementState& state);

// An owner's share of the run in parts per billion (display only; the units are authoritative).
std::uint64_t share_ppb(const SettlementState& state, const std::string& owner);

}  // namespace tessera::protocol
