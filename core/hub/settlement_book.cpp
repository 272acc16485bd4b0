// Epoch accounting on the hub: credit, settle, publish, all in the store.
#include "core/hub/settlement_book.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/protocol/settlement.h"

namespace tessera::hub {

SettlementBook::SettlementBook(HubStore& store, std::string run_id, const wallet::KeyPair& hub_key,
                               std::uint64_t price_per_1k_tokens, std::string currency)
    : store_(store),
      run_id_(std::move(run_id)),
      hub_key_(hub_key),
      price_per_1k_(price_per_1k_tokens),
      currency_(std::move(currency)),
      open_(store),
      archive_(store, run_id_, hub_key) {
  state_ = archive_.state_at(archive_.latest_epoch());
}

void SettlementBook::credit_work(const std::string& owner, double flops) {
  auto transaction = store_.begin();
  open_.credit_work(transaction, owner, flops);
  transaction.commit();
}

void SettlementBook::credit_work(HubStore::Transaction& transaction, const std::string& owner, double flops) {
  open_.credit_work(transaction, owner, flops);
}

void SettlementBook::credit_data(HubStore::Transaction& transaction, const std::string& owner, std::uint64_t tokens,
                                 std::uint64_t units_per_1k_tokens) {
  open_.credit_data(transaction, owner, tokens, units_per_1k_tokens);
}

double SettlementBook::forfeit_work(HubStore::Transaction& transaction, const std::string& owner, double flops) {
  return open_.forfeit_work(transaction, owner, flops);
}

void SettlementBook::credit_paid(std::uint64_t tokens, std::uint64_t amount) {
  auto transaction = store_.begin();
  credit_paid(transaction, tokens, amount);
  transaction.commit();
}

std::uint64_t SettlementBook::credit_paid(HubStore::Transaction& transaction, std::uint64_t tokens,
                                          std::uint64_t amount) {
  open_.credit_paid(transaction, tokens, amount);
  return OpenEpoch::number(transaction);
}

void SettlementBook::credit_demo(std::uint64_t tokens) {
  auto transaction = store_.begin();
  open_.credit_demo(transaction, tokens);
  transaction.commit();
}

protocol::SettlementState SettlementBook::settled() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::uint64_t SettlementBook::close_epoch() {
  auto transaction = store_.begin();  // also keeps any other close (and every credit) out until done
  const auto previous = settled();
  const auto intake = open_.close(transaction);
  auto settlement = protocol::settle_epoch(previous, intake.units, intake.revenue, intake.data_units);
  settlement.units_withheld = protocol::saturating_add(settlement.units_withheld, intake.units_withheld);
  settlement.revenue_withheld = protocol::saturating_add(settlement.revenue_withheld, intake.revenue_withheld);
  const auto activity = activity_ ? activity_(transaction, settlement.state.epoch) : protocol::EpochActivity{};
  auto published = std::make_shared<const protocol::PublishedEpoch>(run_id_, settlement, hub_key_, activity);
  archive_.record(transaction, settlement, *published, previous, activity);
  transaction.commit();
  {
    std::lock_guard lock(mutex_);
    state_ = settlement.state;
  }
  archive_.remember(published);
  if (settlement.overflowed())
    spdlog::error("epoch {} of run {} overflowed: {} units and {} micro-units of revenue withheld (the run's totals "
                  "are capped at 2^64 - 1 in a statement); later epochs still settle",
                  settlement.state.epoch, run_id_, settlement.units_withheld, settlement.revenue_withheld);
  return settlement.state.epoch;
}

std::optional<protocol::Statement> SettlementBook::statement(std::uint64_t number) const {
  return archive_.statement(number);
}

std::optional<protocol::Statement> SettlementBook::latest_statement() const {
  return archive_.statement(settled().epoch);
}

std::shared_ptr<const protocol::PublishedEpoch> SettlementBook::latest() const {
  const auto number = settled().epoch;
  return number == 0 ? nullptr : archive_.published(number);
}

std::shared_ptr<const protocol::PublishedEpoch> SettlementBook::epoch(std::uint64_t number) const {
  return archive_.published(number);
}

std::uint64_t SettlementBook::revenue_part(std::uint64_t epoch, const std::string& owner) const {
  return archive_.revenue_part(epoch, owner);
}

std::uint64_t SettlementBook::open_epoch() const { return settled().epoch + 1; }

nlohmann::json SettlementBook::open_epoch_json() const {
  const auto state = settled();
  const auto open = open_.summary();
  const auto overflow = archive_.last_overflow();
  nlohmann::json out{{"run", run_id_},
                     {"epoch", state.epoch + 1},
                     {"owners_with_work", open.owners_with_work},
                     {"flops", open.flops},
                     {"tokens", open.tokens},
                     {"revenue", open.revenue},
                     {"demo_tokens", open.demo_tokens},
                     {"data_tokens", open.data_tokens},
                     {"data_contributors", open.data_contributors},
                     {"currency", currency_},
                     {"price_per_1k_tokens", price_per_1k_},
                     {"settled_epochs", state.epoch},
                     {"total_units", state.total_units()},
                     {"total_data_units", state.total_data_units()},
                     {"total_revenue", state.total_revenue()},
                     {"overflowed", overflow.has_value()}};
  if (overflow)
    out["overflow"] = {{"epoch", overflow->epoch},
                       {"units_withheld", overflow->units_withheld},
                       {"revenue_withheld", overflow->revenue_withheld},
                       {"epochs", overflow->epochs},
                       {"message", "the run's totals reached 2^64 - 1: work or revenue past it was withheld from "
                                   "statements"}};
  return out;
}

}  // namespace tessera::hub
