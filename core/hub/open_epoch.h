// The open epoch's credits, in the hub's store: verified FLOPs per owner (open_work), the FLOPs
// below one whole unit carried from earlier epochs (carried_work), and gateway usage (open_usage:
// paid tokens and their revenue, the sum of the epoch's debits, in thousandths of a micro-unit
// whose fraction, left by older hubs that priced per token, is carried; and demo tokens, served
// by an open gateway without a key, which earn nothing) and data credit (open_data: per shard
// contributor the trained tokens and thousandths of a data unit, tokens x the run's data units
// per 1,000 tokens; the fraction below a whole unit is carried, so an owner's data units after
// any close are exactly floor(all its tokens x rate / 1000) while the rate stays the same).
// Every credit is part of its caller's transaction; closing takes the whole units and whole
// micro-units out for settlement and leaves the fractions for the next epoch, in the close's
// transaction. Amounts that would pass 2^64 saturate and are counted as withheld.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/hub/hub_store.h"

namespace tessera::hub {

// What an epoch hands to settlement.
struct EpochIntake {
  std::map<std::string, std::uint64_t> units;  // whole units (MFLOPs) per owner
  std::uint64_t revenue = 0;                   // whole micro-units
  std::uint64_t units_withheld = 0;            // an owner's units past 2^64 - 1 (compute or data)
  std::uint64_t revenue_withheld = 0;          // usage past 2^64 - 1 thousandths
  std::map<std::string, std::uint64_t> data_units{};  // whole data units per shard contributor
};

// The open epoch so far, for GET /api/epoch.
struct OpenEpochSummary {
  std::uint64_t owners_with_work = 0;
  double flops = 0;
  std::uint64_t tokens = 0;       // paid for
  std::uint64_t revenue = 0;      // whole micro-units: the epoch's debits
  std::uint64_t demo_tokens = 0;  // served without a key (an open gateway), earning nothing
  std::uint64_t data_tokens = 0;  // trained tokens of contributed shards
  std::uint64_t data_contributors = 0;  // owners credited data this epoch
};

class OpenEpoch {
 public:
  explicit OpenEpoch(HubStore& store) : store_(store) {}

  // Throws std::invalid_argument for a negative or non-finite FLOP count.
  void credit_work(HubStore::Transaction& transaction, const std::string& owner, double flops);
  // The open epoch's number as the store has it (the last published one + 1).
  static std::uint64_t number(HubStore::Transaction& transaction);
  // A paid completion: its tokens and its debit (`amount` micro-units) as revenue.
  void credit_paid(HubStore::Transaction& transaction, std::uint64_t tokens, std::uint64_t amount);
  void credit_demo(HubStore::Transaction& transaction, std::uint64_t tokens);
  // `tokens` trained tokens of `owner`'s shards, earning `units_per_1k_tokens` data units per 1,000.
  void credit_data(HubStore::Transaction& transaction, const std::string& owner, std::uint64_t tokens,
                   std::uint64_t units_per_1k_tokens);
  // Takes up to `flops` back from `owner`'s open work (a node excluded by a spot check forfeits
  // its epoch's credit); returns what was taken (never more than the owner has open).
  double forfeit_work(HubStore::Transaction& transaction, const std::string& owner, double flops);
  EpochIntake close(HubStore::Transaction& transaction);
  OpenEpochSummary summary() const;

 private:
  HubStore& store_;
};

}  // namespace tessera::hub
