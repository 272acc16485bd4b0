// The node's log line about its traffic: what its connections carried, by kind, and per trained
// token (net::TrafficReport::summary), at most once a minute, the first a minute after it starts.
#pragma once

#include <chrono>

#include "core/net/traffic_meter.h"

namespace tessera::node::swarm {

class TrafficLog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kEvery{60};

  explicit TrafficLog(const net::TrafficMeter& meter) : meter_(meter) {}

  // Called as often as one likes (the hub thread, every heartbeat); logs when a minute has passed.
  void tick(Clock::time_point now = Clock::now());

 private:
  const net::TrafficMeter& meter_;
  Clock::time_point next_{};
};

}  // namespace tessera::node::swarm
