// The hub's settlement book for one run: verified work (FLOPs per owner) and metered inference
// revenue accumulate in the open epoch; closing it settles (core/protocol/settlement.h),
// publishes the hub-signed Merkle statement, and keeps it for the statement endpoints
// (statements_controller.h). Whole units are MFLOPs and revenue is counted in thousandths of a
// micro-unit, so the fractions of both are carried to the next epoch: nothing is created or lost.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/protocol/statement.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class SettlementBook {
 public:
  // `hub_key` must outlive the book. `state_file` (optional) keeps the settled state and every
  // published epoch across restarts (written atomically at each close).
  SettlementBook(std::string run_id, const wallet::KeyPair& hub_key, std::uint64_t price_per_1k_tokens,
                 std::string currency, std::filesystem::path state_file = {});

  void credit_work(const std::string& owner, double flops);
  void credit_tokens(std::uint64_t tokens);  // served inference, priced per 1,000 tokens

  // Settles and publishes the open epoch; returns its number.
  std::uint64_t close_epoch();

  std::shared_ptr<const protocol::PublishedEpoch> latest() const;
  std::shared_ptr<const protocol::PublishedEpoch> epoch(std::uint64_t number) const;
  // This epoch's revenue part of `owner` (what the statement's growth will show), 0 if none.
  std::uint64_t revenue_part(std::uint64_t epoch, const std::string& owner) const;
  // The open epoch: number, work and revenue so far, pending fractions.
  nlohmann::json open_epoch_json() const;
  std::uint64_t open_epoch() const;
  const std::string& currency() const { return currency_; }

 private:
  void save_locked() const;
  void load();

  std::string run_id_;
  const wallet::KeyPair& hub_key_;
  std::uint64_t price_per_1k_;
  std::string currency_;
  std::filesystem::path state_file_;

  mutable std::mutex mutex_;
  protocol::SettlementState state_;
  std::map<std::string, double> open_flops_;       // this epoch's verified FLOPs per owner
  std::map<std::string, double> flops_remainder_;  // below one unit, carried
  std::uint64_t open_revenue_milli_ = 0;           // this epoch's revenue ×1000, incl. carried fraction
  std::uint64_t open_tokens_ = 0;
  std::vector<std::shared_ptr<const protocol::PublishedEpoch>> published_;
  std::vector<std::map<std::string, std::uint64_t>> revenue_parts_;  // per published epoch
};

}  // namespace tessera::hub
