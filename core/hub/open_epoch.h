// The open epoch's credits, in the hub's store: verified FLOPs per owner (open_work), the FLOPs
// below one whole unit carried from earlier epochs (carried_work), and gateway usage (open_usage:
// paid tokens and their revenue, the sum of the epoch's debits, in thousandths of a micro-unit
// whose fraction, left by older hubs that priced per token, is carried; and demo tokens, served
// by an open gateway without a key, which earn nothing).
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
  std::uint64_t units_withheld = 0;            // an owner's units past 2^64 - 1
  std::uint64_t revenue_withheld = 0;          // usage past 2^64 - 1 thousandths
};

// The open epoch so far, for GET /api/epoch.
struct OpenEpochSummary {
  std::uint64_t owners_with_work = 0;
  double flops = 0;
  std::uint64_t tokens = 0;       // paid for
  std::uint64_t revenue = 0;      // whole micro-units: the epoch's debits
  std::uint64_t demo_tokens = 0;  // served without a key (an open gateway), earning nothing
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
  EpochIntake close(HubStore::Transaction& transaction);
  OpenEpochSummary summary() const;

 private:
  HubStore& store_;
};

}  // namespace tessera::hub
