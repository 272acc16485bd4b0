// Epoch accounting on the hub: accumulate, settle, publish, keep across restarts.
#include "core/hub/settlement_book.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/protocol/settlement.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {

SettlementBook::SettlementBook(std::string run_id, const wallet::KeyPair& hub_key, std::uint64_t price_per_1k_tokens,
                               std::string currency, std::filesystem::path state_file)
    : run_id_(std::move(run_id)),
      hub_key_(hub_key),
      price_per_1k_(price_per_1k_tokens),
      currency_(std::move(currency)),
      state_file_(std::move(state_file)) {
  if (!state_file_.empty() && std::filesystem::exists(state_file_)) load();
}

void SettlementBook::credit_work(const std::string& owner, double flops) {
  if (!(flops >= 0.0) || !std::isfinite(flops)) throw std::invalid_argument("work must be a finite, non-negative FLOP count");
  std::lock_guard lock(mutex_);
  open_flops_[owner] += flops;
}

void SettlementBook::credit_tokens(std::uint64_t tokens) {
  std::lock_guard lock(mutex_);
  open_tokens_ += tokens;
  open_revenue_milli_ += tokens * price_per_1k_;
}

std::uint64_t SettlementBook::open_epoch() const {
  std::lock_guard lock(mutex_);
  return state_.epoch + 1;
}

std::uint64_t SettlementBook::close_epoch() {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::uint64_t> units;
  for (const auto& [owner, flops] : open_flops_) {
    const double total = flops + flops_remainder_[owner];
    const double whole = std::floor(total / protocol::kFlopsPerUnit);
    flops_remainder_[owner] = total - whole * protocol::kFlopsPerUnit;
    if (whole > 0) units[owner] = static_cast<std::uint64_t>(whole);
  }
  const std::uint64_t revenue = open_revenue_milli_ / 1000;
  const auto settlement = protocol::settle_epoch(state_, units, revenue);
  state_ = settlement.state;
  open_revenue_milli_ %= 1000;
  open_flops_.clear();
  open_tokens_ = 0;
  published_.push_back(std::make_shared<const protocol::PublishedEpoch>(run_id_, settlement, hub_key_));
  revenue_parts_.push_back(settlement.revenue_parts);
  save_locked();
  return state_.epoch;
}

std::shared_ptr<const protocol::PublishedEpoch> SettlementBook::latest() const {
  std::lock_guard lock(mutex_);
  return published_.empty() ? nullptr : published_.back();
}

std::shared_ptr<const protocol::PublishedEpoch> SettlementBook::epoch(std::uint64_t number) const {
  std::lock_guard lock(mutex_);
  for (const auto& published : published_)
    if (published->statement().epoch == number) return published;
  return nullptr;
}

std::uint64_t SettlementBook::revenue_part(std::uint64_t epoch, const std::string& owner) const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < published_.size(); ++i)
    if (published_[i]->statement().epoch == epoch) {
      const auto found = revenue_parts_[i].find(owner);
      return found == revenue_parts_[i].end() ? 0 : found->second;
    }
  return 0;
}

nlohmann::json SettlementBook::open_epoch_json() const {
  std::lock_guard lock(mutex_);
  double flops = 0;
  for (const auto& [owner, value] : open_flops_) flops += value;
  return {{"run", run_id_},
          {"epoch", state_.epoch + 1},
          {"owners_with_work", open_flops_.size()},
          {"flops", flops},
          {"tokens", open_tokens_},
          {"revenue", open_revenue_milli_ / 1000},
          {"currency", currency_},
          {"price_per_1k_tokens", price_per_1k_},
          {"settled_epochs", state_.epoch},
          {"total_units", state_.total_units()},
          {"total_revenue", state_.total_revenue()}};
}

void SettlementBook::save_locked() const {
  if (state_file_.empty()) return;
  nlohmann::json owners = nlohmann::json::object();
  for (const auto& [owner, balance] : state_.owners) owners[owner] = {balance.units, balance.revenue};
  nlohmann::json remainders = nlohmann::json::object();
  for (const auto& [owner, flops] : flops_remainder_)
    if (flops > 0) remainders[owner] = flops;
  const nlohmann::json last_parts = revenue_parts_.empty() ? nlohmann::json::object() : nlohmann::json(revenue_parts_.back());
  const nlohmann::json state{{"run", run_id_},
                             {"epoch", state_.epoch},
                             {"owners", owners},
                             {"carried_revenue", state_.carried_revenue},
                             {"revenue_milli_remainder", open_revenue_milli_},
                             {"flops_remainder", remainders},
                             {"last_epoch_revenue", published_.empty() ? 0 : published_.back()->statement().epoch_revenue},
                             {"last_revenue_parts", last_parts}};
  const auto text = state.dump();
  wallet::write_file_atomic(state_file_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void SettlementBook::load() {
  std::ifstream in(state_file_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(buffer.str());
    if (state.at("run").get<std::string>() != run_id_)
      throw std::runtime_error("it belongs to run " + state.at("run").get<std::string>());
    state_.epoch = state.at("epoch").get<std::uint64_t>();
    for (const auto& [owner, balance] : state.at("owners").items())
      state_.owners[owner] = {balance.at(0).get<std::uint64_t>(), balance.at(1).get<std::uint64_t>()};
    state_.carried_revenue = state.at("carried_revenue").get<std::uint64_t>();
    open_revenue_milli_ = state.at("revenue_milli_remainder").get<std::uint64_t>();
    for (const auto& [owner, flops] : state.at("flops_remainder").items()) flops_remainder_[owner] = flops.get<double>();
    if (state_.epoch > 0) {  // re-publish the latest statement (Ed25519 is deterministic: same signature)
      protocol::EpochSettlement settlement;
      settlement.state = state_;
      settlement.epoch_revenue = state.at("last_epoch_revenue").get<std::uint64_t>();
      settlement.revenue_parts = state.at("last_revenue_parts").get<std::map<std::string, std::uint64_t>>();
      published_.push_back(std::make_shared<const protocol::PublishedEpoch>(run_id_, settlement, hub_key_));
      revenue_parts_.push_back(settlement.revenue_parts);
    }
  } catch (const std::exception& error) {
    throw std::runtime_error("settlement state " + state_file_.string() + " cannot be used: " + error.what());
  }
}

}  // namespace tessera::hub
