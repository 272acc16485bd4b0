// Which committed work is spot checked: for each node that served a slot in a step record, with
// probability `rate` one of its slots, drawn uniformly. The draw uses the hub's own randomness
// (libsodium randombytes) at the moment the step committed, so no node can know beforehand which
// of its slots, if any, will be recomputed.
#pragma once

#include <cstdint>
#include <vector>

#include "core/protocol/step_record.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

struct SampledSlot {
  std::uint16_t stage = 0;
  std::uint32_t micro_batch = 0;
  wallet::PublicKey worker{};
};

class CheckSampler {
 public:
  // `rate` in [0, 1] (0 disables checks); throws std::invalid_argument otherwise.
  explicit CheckSampler(double rate);
  double rate() const { return rate_; }
  // At most one slot per node that served the step.
  std::vector<SampledSlot> sample(const protocol::StepRecord& record) const;

 private:
  double rate_;
};

}  // namespace tessera::hub
