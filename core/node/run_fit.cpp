// The fit estimate (see run_fit.h for the model behind each number).
#include "core/node/run_fit.h"

#include <algorithm>
#include <optional>

#include "core/model/model_config.h"
#include "core/protocol/settlement.h"

namespace tessera::node {
namespace {

constexpr double kSecondsPerDay = 86400.0;

constexpr const char* kBasis =
    "estimate: doctor's measured rate scaled by FLOPs per token, every token verified, "
    "the last epoch's revenue shared with the run's units";

// The hub's rule (hub::PeerDirectory::choose_stage): the least-served stage that fits.
std::optional<int> least_served_fitting(const protocol::RunCatalogEntry& offer, std::uint64_t available) {
  std::optional<int> best;
  for (int stage = 0; stage < offer.stages; ++stage) {
    if (offer.stage_needs[static_cast<std::size_t>(stage)].memory_bytes > available) continue;
    if (!best || offer.peers_per_stage[static_cast<std::size_t>(stage)] <
                     offer.peers_per_stage[static_cast<std::size_t>(*best)])
      best = stage;
  }
  return best;
}

std::string bytes(std::uint64_t n) { return model::format_bytes(static_cast<std::int64_t>(n)); }

}  // namespace

MachineCapacity machine_capacity(const DoctorReport& report, std::uint64_t memory_limit_bytes) {
  MachineCapacity out;
  out.demo_tokens_per_s = report.demo_tokens_per_s;
  out.demo_flops_per_token = demo_training_flops_per_token();
  out.memory_bytes = report.ram_bytes;
  out.memory_of = "RAM";
  for (const auto& gpu : report.devices)
    if (report.device == "cuda:" + std::to_string(gpu.index)) {
      out.memory_bytes = gpu.memory_bytes;
      out.memory_of = "GPU " + report.device + " (" + gpu.name + ")";
    }
  out.memory_limit_bytes = memory_limit_bytes;
  return out;
}

control::RunFit estimate_fit(const protocol::RunCatalogEntry& offer, const MachineCapacity& machine) {
  control::RunFit fit;
  fit.stages = offer.stages;
  fit.currency = offer.currency;
  fit.basis = kBasis;
  fit.memory_available_bytes = machine.memory_bytes;
  fit.memory_of = machine.memory_of;
  if (machine.memory_limit_bytes != 0 && machine.memory_limit_bytes < machine.memory_bytes) {
    fit.memory_available_bytes = machine.memory_limit_bytes;
    fit.memory_of = "memory limit";
  }
  fit.stage = least_served_fitting(offer, fit.memory_available_bytes);
  if (!fit.stage) {
    const auto smallest = std::min_element(offer.stage_needs.begin(), offer.stage_needs.end(),
                                           [](const protocol::CatalogStageNeeds& a, const protocol::CatalogStageNeeds& b) { return a.memory_bytes < b.memory_bytes; });
    fit.memory_needed_bytes = smallest->memory_bytes;
    fit.why = "no stage fits: the smallest needs " + bytes(fit.memory_needed_bytes) + ", this machine has " +
              bytes(fit.memory_available_bytes) + " (" + fit.memory_of + ")";
    if (fit.memory_of == "memory limit") fit.why += ": raise the memory limit in the settings";
    return fit;
  }
  const auto& need = offer.stage_needs[static_cast<std::size_t>(*fit.stage)];
  fit.memory_needed_bytes = need.memory_bytes;
  fit.flops_per_token = need.flops_per_token;
  if (offer.retired) fit.why = "the run is retired: its hub takes no new members";
  fit.fits = !offer.retired;
  if (!(machine.demo_tokens_per_s > 0) || !(machine.demo_flops_per_token > 0)) return fit;
  const double tokens_per_s = machine.demo_tokens_per_s * machine.demo_flops_per_token / need.flops_per_token;
  fit.tokens_per_s = tokens_per_s;
  fit.units_per_day = tokens_per_s * need.flops_per_token * kSecondsPerDay / protocol::kFlopsPerUnit;
  const double run_units = static_cast<double>(offer.total_units) + fit.units_per_day;
  if (offer.epoch_seconds > 0 && run_units > 0)
    fit.revenue_per_day = fit.units_per_day / run_units * static_cast<double>(offer.last_epoch_revenue) *
                          (kSecondsPerDay / static_cast<double>(offer.epoch_seconds));
  return fit;
}

}  // namespace tessera::node
