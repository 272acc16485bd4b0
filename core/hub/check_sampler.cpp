// The spot-check sample, drawn with randombytes.
#include "core/hub/check_sampler.h"

#include <sodium.h>

#include <cmath>
#include <map>
#include <stdexcept>

namespace tessera::hub {
namespace {

// Uniform in [0, 1) with 53 random bits.
double uniform_unit() {
  std::uint64_t bits = 0;
  randombytes_buf(&bits, sizeof bits);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace

CheckSampler::CheckSampler(double rate) : rate_(rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) throw std::invalid_argument("the spot-check rate must be from 0 to 1");
}

std::vector<SampledSlot> CheckSampler::sample(const protocol::StepRecord& record) const {
  std::vector<SampledSlot> out;
  if (rate_ <= 0.0) return out;
  std::map<wallet::PublicKey, std::vector<SampledSlot>> slots_of;
  for (std::size_t stage = 0; stage < record.replicas.size(); ++stage) {
    if (record.replicas[stage].empty()) continue;
    for (std::uint32_t m = 0; m < record.micro_batches; ++m) {
      const auto& worker = record.slot(stage, m);
      slots_of[worker].push_back({static_cast<std::uint16_t>(stage), m, worker});
    }
  }
  for (const auto& [worker, slots] : slots_of) {
    if (rate_ < 1.0 && uniform_unit() >= rate_) continue;
    out.push_back(slots[randombytes_uniform(static_cast<std::uint32_t>(slots.size()))]);
  }
  return out;
}

}  // namespace tessera::hub
