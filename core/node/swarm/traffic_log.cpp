// The traffic log line.
#include "core/node/swarm/traffic_log.h"

#include <spdlog/spdlog.h>

namespace tessera::node::swarm {

void TrafficLog::tick(Clock::time_point now) {
  if (now < next_) return;
  if (next_ == Clock::time_point{}) {  // the first minute starts now: nothing has moved yet
    next_ = now + kEvery;
    return;
  }
  next_ = now + kEvery;
  spdlog::info("network: {}", meter_.report().summary());
}

}  // namespace tessera::node::swarm
