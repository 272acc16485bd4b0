// The hub's per-node work tallies read within limits (see node_work.h). The counter names are the
// hub's (core/hub/node_tally.h, which the client may not include: the same strings, checked by
// tests/client/test_node_work.cpp against a reply in the hub's form).
#include "core/client/node_work.h"

#include <cmath>
#include <stdexcept>

#include "core/sys/json_number.h"

namespace tessera::client {
namespace {

constexpr char kCreditedReceipts[] = "credited_receipts";
constexpr char kCreditedFlops[] = "credited_flops";
constexpr char kChecksPassed[] = "checks_passed";
constexpr char kChecksFailed[] = "checks_failed";
constexpr char kVerifyFlops[] = "verification_flops";
constexpr char kForfeitedFlops[] = "forfeited_flops";
constexpr char kRejectedPrefix[] = "rejected:";

std::uint64_t count(const nlohmann::json& value, const std::string& name) {
  if (const auto v = sys::json_count_if<std::uint64_t>(value)) return *v;
  throw std::invalid_argument("work: '" + name + "' must be a non-negative whole number");
}

double flops(const nlohmann::json& value, const std::string& name) {
  if (value.is_number()) {
    const double v = value.get<double>();
    if (std::isfinite(v) && v >= 0) return v;
  }
  throw std::invalid_argument("work: '" + name + "' must be a non-negative number of FLOPs");
}

void read_counter(EpochWork& out, const std::string& name, const nlohmann::json& value) {
  if (name.size() > kMaxWorkNameBytes) throw std::invalid_argument("work: a counter name is too long");
  if (name == kCreditedReceipts) out.credited_receipts = count(value, name);
  else if (name == kCreditedFlops) out.credited_flops = flops(value, name);
  else if (name == kChecksPassed) out.checks_passed = count(value, name);
  else if (name == kChecksFailed) out.checks_failed = count(value, name);
  else if (name == kVerifyFlops) out.verification_flops = flops(value, name);
  else if (name == kForfeitedFlops) out.forfeited_flops = flops(value, name);
  else if (name.rfind(kRejectedPrefix, 0) == 0 && name.size() > sizeof kRejectedPrefix - 1)
    out.rejected[name.substr(sizeof kRejectedPrefix - 1)] = count(value, name);
}

// "1,234": whole MFLOPs or receipts with thousands separators.
std::string grouped(double value) {
  auto digits = std::to_string(static_cast<std::uint64_t>(std::llround(std::max(0.0, value))));
  for (auto at = static_cast<std::ptrdiff_t>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<std::size_t>(at), ",");
  return digits;
}

}  // namespace

std::uint64_t EpochWork::rejected_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, n] : rejected) total += n;
  return total;
}

nlohmann::json to_json(const EpochWork& work) {
  nlohmann::json counters{{kCreditedReceipts, work.credited_receipts}, {kCreditedFlops, work.credited_flops},
                          {kChecksPassed, work.checks_passed},         {kChecksFailed, work.checks_failed},
                          {kVerifyFlops, work.verification_flops},     {kForfeitedFlops, work.forfeited_flops}};
  for (const auto& [reason, n] : work.rejected) counters[kRejectedPrefix + reason] = n;
  return {{"epoch", work.epoch}, {"owner", work.owner}, {"counters", std::move(counters)}};
}

nlohmann::json to_json(const NodeWork& work) {
  auto out = nlohmann::json::array();
  for (const auto& epoch : work) out.push_back(to_json(epoch));
  return out;
}

EpochWork epoch_work_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("work: an epoch is not a JSON object");
  EpochWork out;
  const auto epoch = json.find("epoch");
  if (epoch == json.end()) throw std::invalid_argument("work: an epoch has no number");
  out.epoch = sys::json_integer<std::uint64_t>(*epoch, "work: 'epoch'");
  if (const auto owner = json.find("owner"); owner != json.end()) {
    if (!owner->is_string() || owner->get_ref<const std::string&>().size() > kMaxWorkNameBytes)
      throw std::invalid_argument("work: 'owner' must be an address");
    out.owner = owner->get<std::string>();
  }
  const auto counters = json.find("counters");
  if (counters == json.end() || !counters->is_object() || counters->size() > kMaxWorkCounters)
    throw std::invalid_argument("work: 'counters' must be an object of at most " + std::to_string(kMaxWorkCounters));
  for (const auto& [name, value] : counters->items()) read_counter(out, name, value);
  return out;
}

NodeWork node_work_from_json(const nlohmann::json& epochs) {
  if (!epochs.is_array() || epochs.size() > kMaxWorkEpochs)
    throw std::invalid_argument("work: 'epochs' must be a list of at most " + std::to_string(kMaxWorkEpochs));
  NodeWork out;
  for (const auto& epoch : epochs) out.push_back(epoch_work_from_json(epoch));
  return out;
}

std::string describe(const EpochWork& work) {
  std::string line = "epoch " + std::to_string(work.epoch) + " so far (hub's count): credited " +
                     grouped(static_cast<double>(work.credited_receipts)) + " receipts, " +
                     grouped(work.credited_flops / 1e6) + " MFLOP; rejected " + grouped(static_cast<double>(work.rejected_total()));
  if (!work.rejected.empty()) {
    line += " (";
    bool first = true;
    for (const auto& [reason, n] : work.rejected) {
      line += (first ? "" : ", ") + reason + ": " + grouped(static_cast<double>(n));
      first = false;
    }
    line += ")";
  }
  line += "; spot checks " + std::to_string(work.checks_passed) + " passed, " + std::to_string(work.checks_failed) +
          " failed; verification " + grouped(work.verification_flops / 1e6) + " MFLOP";
  if (work.forfeited_flops > 0) line += "; forfeited " + grouped(work.forfeited_flops / 1e6) + " MFLOP";
  return line;
}

}  // namespace tessera::client
