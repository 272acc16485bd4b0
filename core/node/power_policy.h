// The power policy (DESIGN.md "Desktop app", issue #8): pure decisions, no I/O. Given the user's
// settings and what the host probes read (core/sys/host_state.h), the node asks before each step
// whether to run or pause, and why. The node enforces it, so a headless node obeys it too; the app
// only edits the settings. Temperature and power caps pause above the cap and resume only once the
// reading has fallen a margin below it (hysteresis), so the node does not flap around the limit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::node {

enum class PowerProfile { Light, Balanced, Full };
std::string to_string(PowerProfile profile);
// Throws std::invalid_argument naming the valid values.
PowerProfile power_profile_from_string(const std::string& text);

// What a profile means in explicit caps, for a machine with `cpu_threads` hardware threads and
// `device_memory_mib` of device memory (0 when unknown: no memory cap then).
struct ProfileCaps {
  double device_share = 1.0;       // fraction of time the device may be busy (duty cycle)
  int threads = 1;                 // CPU threads for the engine
  std::int64_t memory_limit_mib = 0;  // 0: no limit
};
ProfileCaps profile_caps(PowerProfile profile, int cpu_threads, std::int64_t device_memory_mib);

struct Schedule {
  bool enabled = false;
  int start_minute = 22 * 60;  // local time, minutes after midnight
  int end_minute = 7 * 60;     // may be before start: the window wraps past midnight
  bool contains(int minute_of_day) const;
};

// The settings the policy reads; the same keys as the control API's settings() (snake_case).
struct PowerSettings {
  PowerProfile profile = PowerProfile::Balanced;
  int threads = 0;             // 0: from the profile
  double device_share = 0;     // 0: from the profile
  std::int64_t memory_limit_mib = 0;
  bool only_when_idle = false;
  int idle_minutes = 5;
  bool on_battery = false;  // allowed to run on battery power
  Schedule schedule;
  double max_temperature_c = 83;  // 0: no cap
  double max_power_w = 0;         // 0: no cap

  // Reads the keys present in `settings` over the defaults; throws std::invalid_argument with the
  // key and what is wrong ("idle_minutes must be between 1 and 1440").
  static PowerSettings from_json(const nlohmann::json& settings);
  nlohmann::json to_json() const;
};

// "HH:MM" ⇄ minutes after midnight; throws std::invalid_argument.
int parse_clock(const std::string& text);
std::string format_clock(int minute_of_day);

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
  std::optional<std::string> pause_reason(const PowerSettings& settings, const HostState& host);

  // The reason the last pause_reason() gave, if it paused (for "resumed after …" events).
  const std::optional<std::string>& last_reason() const { return last_reason_; }

 private:
  bool hot_ = false;
  bool over_power_ = false;
  std::optional<std::string> last_reason_;
};

}  // namespace tessera::node
