// The power policy's decisions (see power_policy.h).
#include "core/control/power_policy.h"

#include <algorithm>
#include <cmath>

namespace tessera::control {

ProfileCaps profile_caps(PowerProfile profile, int cpu_threads, std::int64_t device_memory_mib) {
  cpu_threads = std::max(cpu_threads, 1);
  ProfileCaps caps;
  switch (profile) {
    case PowerProfile::Light:
      // Quiet and cool: a quarter of the device's time, a quarter of the cores.
      caps = {0.25, std::max(1, cpu_threads / 4), device_memory_mib / 4};
      break;
    case PowerProfile::Balanced:
      caps = {0.6, std::max(1, cpu_threads / 2), device_memory_mib / 2};
      break;
    case PowerProfile::Full:
      // Everything but one core, so the desktop stays responsive.
      caps = {1.0, std::max(1, cpu_threads - 1), device_memory_mib * 9 / 10};
      break;
  }
  return caps;
}

namespace {

std::string whole(double value) { return std::to_string(static_cast<long long>(std::lround(value))); }

}  // namespace

std::optional<std::string> PowerPolicy::pause_reason(const NodeSettings& settings, const HostState& host) {
  std::optional<std::string> reason;
  // Heat first: it protects the hardware, and its hysteresis state must update on every call.
  if (settings.max_temperature_c > 0 && host.gpu_temperature_c) {
    const double t = *host.gpu_temperature_c;
    if (t >= settings.max_temperature_c)
      hot_ = true;
    else if (t <= settings.max_temperature_c - kTemperatureMarginC)
      hot_ = false;
    if (hot_)
      reason = "GPU at " + whole(t) + " °C, above the " + whole(settings.max_temperature_c) + " °C cap (resumes at " +
               whole(settings.max_temperature_c - kTemperatureMarginC) + " °C)";
  } else {
    hot_ = false;
  }
  if (settings.max_power_w > 0 && host.gpu_power_w) {
    const double w = *host.gpu_power_w;
    if (w > settings.max_power_w)
      over_power_ = true;
    else if (w <= settings.max_power_w * (1.0 - kPowerMarginFraction))
      over_power_ = false;
    if (over_power_ && !reason)
      reason = "GPU drawing " + whole(w) + " W, above the " + whole(settings.max_power_w) + " W cap";
  } else {
    over_power_ = false;
  }
  if (!reason && !settings.on_battery && host.on_battery.value_or(false)) reason = "running on battery";
  if (!reason && !settings.schedule.contains(host.local_minute_of_day))
    reason = "outside the schedule (" + format_clock(settings.schedule.start_minute) + "–" +
             format_clock(settings.schedule.end_minute) + ")";
  if (!reason && settings.only_when_idle && host.idle_seconds &&
      *host.idle_seconds < settings.idle_minutes * 60.0)
    reason = "the computer is in use (runs after " + std::to_string(settings.idle_minutes) + " idle minutes)";
  last_reason_ = reason;
  return reason;
}

}  // namespace tessera::control
