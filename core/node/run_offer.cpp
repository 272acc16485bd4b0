// RunOffer from a catalog entry, every field checked (see run_offer.h).
#include "core/node/run_offer.h"

#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tessera::node {
namespace {

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument("catalog entry: \"" + field + "\" " + what);
}

const nlohmann::json& field(const nlohmann::json& object, const char* name) {
  const auto found = object.find(name);
  if (found == object.end()) bad(name, "is missing");
  return *found;
}

bool whole(const nlohmann::json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

std::uint64_t count(const nlohmann::json& object, const char* name) {
  const auto& value = field(object, name);
  if (!whole(value)) bad(name, "must be a whole number, 0 or more");
  return value.get<std::uint64_t>();
}

double amount(const nlohmann::json& object, const char* name) {
  const auto& value = field(object, name);
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0)
    bad(name, "must be a finite number, 0 or more");
  return value.get<double>();
}

std::string text(const nlohmann::json& object, const char* name, std::size_t max_bytes) {
  const auto& value = field(object, name);
  if (!value.is_string() || value.get_ref<const std::string&>().size() > max_bytes)
    bad(name, "must be a string of at most " + std::to_string(max_bytes) + " bytes");
  return value.get<std::string>();
}

StageNeed stage_need(const nlohmann::json& need, int index) {
  if (!need.is_object()) bad("stage_needs", "must hold objects");
  StageNeed out;
  if (count(need, "stage") != static_cast<std::uint64_t>(index)) bad("stage_needs", "must list the stages in order");
  out.stage = index;
  out.memory_bytes = count(need, "memory_bytes");
  out.parameters = count(need, "parameters");
  out.flops_per_token = amount(need, "flops_per_token");
  out.bytes_per_token = amount(need, "bytes_per_token");
  if (!(out.flops_per_token > 0)) bad("stage_needs", "must give each stage's flops_per_token, more than 0");
  return out;
}

}  // namespace

RunOffer run_offer_from_json(const nlohmann::json& entry) {
  if (!entry.is_object()) throw std::invalid_argument("catalog entry: not an object");
  RunOffer out;
  out.run = text(entry, "run", 256);
  if (out.run.empty()) bad("run", "is empty");
  const auto& retired = field(entry, "retired");
  if (!retired.is_boolean()) bad("retired", "must be true or false");
  out.retired = retired.get<bool>();
  const auto stages = count(entry, "stages");
  if (stages < 1 || stages > kMaxOfferStages) bad("stages", "must be 1 to " + std::to_string(kMaxOfferStages));
  out.stages = static_cast<int>(stages);
  const auto& peers = field(entry, "peers_per_stage");
  if (!peers.is_array() || peers.size() != stages) bad("peers_per_stage", "must give one count per stage");
  for (const auto& n : peers) {
    if (!whole(n)) bad("peers_per_stage", "must hold whole numbers, 0 or more");
    out.peers_per_stage.push_back(n.get<std::uint64_t>());
  }
  out.currency = text(entry, "currency", 16);
  out.last_epoch_revenue = count(entry, "last_epoch_revenue");
  out.total_units = count(entry, "total_units");
  out.epoch_seconds = count(entry, "epoch_seconds");
  const auto& needs = field(entry, "stage_needs");
  if (!needs.is_array() || needs.size() != stages) bad("stage_needs", "must give one object per stage");
  for (int i = 0; i < out.stages; ++i) out.stage_needs.push_back(stage_need(needs[static_cast<std::size_t>(i)], i));
  return out;
}

}  // namespace tessera::node
