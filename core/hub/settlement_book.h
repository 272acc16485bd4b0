// The hub's settlement book for one run: verified work (FLOPs per owner) and paid inference
// revenue (the gateway's debits, key_billing.h) and the trained tokens of contributed data shards
// (data_credit.h) accumulate in the open epoch (open_epoch.h); closing it settles
// (core/protocol/settlement.h), publishes the hub-signed Merkle statement and archives it
// (statement_archive.h) for the statement endpoints (statements_controller.h). Whole units are
// MFLOPs, revenue is counted in thousandths of a micro-unit and data in thousandths of a data
// unit, so the fractions of all three are carried to the next epoch: nothing is created or lost.
//
// Everything is in the hub's store: a credit commits with its caller's transaction (a receipt
// batch) or its own, and a close is one transaction (the statement and the new state together),
// so a killed hub neither repeats nor loses one. Amounts past 2^64 - 1 are withheld, logged as
// errors and flagged in open_epoch_json(), and later epochs settle as usual. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/hub/hub_store.h"
#include "core/hub/open_epoch.h"
#include "core/hub/statement_archive.h"
#include "core/protocol/statement.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class SettlementBook {
 public:
  // `store` and `hub_key` must outlive the book, which continues from what `store` holds.
  SettlementBook(HubStore& store, std::string run_id, const wallet::KeyPair& hub_key,
                 std::uint64_t price_per_1k_tokens, std::string currency);

  // Each in its own transaction, durable when it returns.
  void credit_work(const std::string& owner, double flops);
  // A paid completion: `tokens` and its debit of `amount` micro-units as the open epoch's revenue.
  void credit_paid(std::uint64_t tokens, std::uint64_t amount);
  // Tokens an open gateway served without a key: shown, earning nothing.
  void credit_demo(std::uint64_t tokens);
  // Within the caller's transaction (a receipt batch credits with the receipts it records).
  void credit_work(HubStore::Transaction& transaction, const std::string& owner, double flops);
  // Within the caller's transaction (the key's debit commits with it); returns the epoch credited.
  std::uint64_t credit_paid(HubStore::Transaction& transaction, std::uint64_t tokens, std::uint64_t amount);
  // Within the caller's transaction (the step's commit): `tokens` trained tokens of `owner`'s data
  // shards, earning `units_per_1k_tokens` data units per 1,000 (OpenEpoch::credit_data).
  void credit_data(HubStore::Transaction& transaction, const std::string& owner, std::uint64_t tokens,
                   std::uint64_t units_per_1k_tokens);
  // Within the caller's transaction: takes up to `flops` back from the owner's open epoch and
  // returns what it took (OpenEpoch::forfeit_work).
  double forfeit_work(HubStore::Transaction& transaction, const std::string& owner, double flops);
  // What the epoch's statement adds besides balances (events, each owner's activity), asked
  // inside the close's transaction for the epoch being closed. Set before the hub serves.
  using ActivitySource = std::function<protocol::EpochActivity(HubStore::Transaction&, std::uint64_t epoch)>;
  void set_activity_source(ActivitySource source) { activity_ = std::move(source); }

  // Settles and publishes the open epoch; returns its number.
  std::uint64_t close_epoch();

  // The published statements (without trees), and published epochs with their trees, for proofs.
  std::optional<protocol::Statement> statement(std::uint64_t number) const;
  std::optional<protocol::Statement> latest_statement() const;
  std::shared_ptr<const protocol::PublishedEpoch> latest() const;
  std::shared_ptr<const protocol::PublishedEpoch> epoch(std::uint64_t number) const;
  // This epoch's revenue part of `owner` (what the statement's growth will show), 0 if none.
  std::uint64_t revenue_part(std::uint64_t epoch, const std::string& owner) const;
  // The open epoch: number, work, paid tokens and revenue, demo tokens, data tokens so far, the run's totals (units,
  // of them data units, revenue), and whether a settlement
  // ever withheld anything ("overflowed", with "overflow": the last such epoch and amounts).
  nlohmann::json open_epoch_json() const;
  std::uint64_t open_epoch() const;
  const std::string& currency() const { return currency_; }

 private:
  protocol::SettlementState settled() const;

  HubStore& store_;
  std::string run_id_;
  const wallet::KeyPair& hub_key_;
  std::uint64_t price_per_1k_;
  std::string currency_;
  OpenEpoch open_;
  StatementArchive archive_;
  ActivitySource activity_;

  mutable std::mutex mutex_;
  protocol::SettlementState state_;  // as of the last published epoch; replaced after each close commits
};

}  // namespace tessera::hub
