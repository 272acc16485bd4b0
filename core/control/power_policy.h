// The power policy (issue #8): pure decisions, no I/O. Given the user's settings
// (core/control/node_settings.h) and what the host probes read (core/sys/host_state.h), the node
// asks before each step whether to run or pause, and why. The node enforces it, so a headless node
// obeys it too; the app only edits the settings. Temperature and power caps pause above the cap and
// resume only once the reading has fallen a margin below it (hysteresis), so the node does not flap
// around the limit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/control/node_settings.h"

namespace tessera::control {

// What a profile means in explicit caps, for a machine with `cpu_threads` hardware threads and
// `device_memory_mib` of device memory (0 when unknown: no memory cap then).
struct ProfileCaps {
  double device_share = 1.0;       // fraction of time the device may be busy (duty cycle)
  int threads = 1;                 // CPU threads for the engine
  std::int64_t memory_limit_mib = 0;  // 0: no limit
};
ProfileCaps profile_caps(PowerProfile profile, int cpu_threads, std::int64_t device_memory_mib);

// What the host probes read now; an empty optional is "unknown" and never pauses.
struct HostState {
  std::optional<double> idle_seconds;  // since the last keyboard or mouse input
  std::optional<bool> on_battery;
  int local_minute_of_day = 0;
  std::optional<double> gpu_temperature_c;
  std::optional<double> gpu_power_w;
};

class PowerPolicy {
 public:
  static constexpr double kTemperatureMarginC = 5.0;  // resume at cap − margin
  static constexpr double kPowerMarginFraction = 0.10;  // resume at cap × (1 − margin)

  // A reason to pause now ("GPU at 86 °C, above the 83 °C cap"), or none to run. Remembers whether
  // it paused for heat or power, for the hysteresis.
  std::optional<std::string> pause_reason(const NodeSettings& settings, const HostState& host);

  // The reason the last pause_reason() gave, if it paused (for "resumed after …" events).
  const std::optional<std::string>& last_reason() const { return last_reason_; }

 private:
  bool hot_ = false;
  bool over_power_ = false;
  std::optional<std::string> last_reason_;
};

}  // namespace tessera::control
