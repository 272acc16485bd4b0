// The power policy's decisions (see power_policy.h).
#include "core/node/power_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tessera::node {

std::string to_string(PowerProfile profile) {
  switch (profile) {
    case PowerProfile::Light: return "light";
    case PowerProfile::Balanced: return "balanced";
    case PowerProfile::Full: return "full";
  }
  return "balanced";
}

PowerProfile power_profile_from_string(const std::string& text) {
  if (text == "light") return PowerProfile::Light;
  if (text == "balanced") return PowerProfile::Balanced;
  if (text == "full") return PowerProfile::Full;
  throw std::invalid_argument("power_profile must be light, balanced or full (got \"" + text + "\")");
}

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

bool Schedule::contains(int minute) const {
  if (!enabled) return true;
  if (start_minute == end_minute) return true;  // a whole day
  if (start_minute < end_minute) return minute >= start_minute && minute < end_minute;
  return minute >= start_minute || minute < end_minute;  // wraps past midnight
}

int parse_clock(const std::string& text) {
  int hours = -1, minutes = -1;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d:%d%c", &hours, &minutes, &extra) != 2 || hours < 0 || hours > 23 ||
      minutes < 0 || minutes > 59 || text.size() != 5)
    throw std::invalid_argument("a time must be HH:MM from 00:00 to 23:59 (got \"" + text + "\")");
  return hours * 60 + minutes;
}

std::string format_clock(int minute_of_day) {
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02d", (minute_of_day / 60) % 24, minute_of_day % 60);
  return text;
}

namespace {

template <typename T>
T number_in(const nlohmann::json& settings, const char* key, T low, T high, T fallback) {
  if (!settings.contains(key) || settings[key].is_null()) return fallback;
  if (!settings[key].is_number())
    throw std::invalid_argument(std::string(key) + " must be a number");
  const double value = settings[key].get<double>();
  if (!std::isfinite(value) || value < static_cast<double>(low) || value > static_cast<double>(high))
    throw std::invalid_argument(std::string(key) + " must be between " + std::to_string(low) + " and " +
                                std::to_string(high));
  return static_cast<T>(value);
}

bool flag(const nlohmann::json& settings, const char* key, bool fallback) {
  if (!settings.contains(key) || settings[key].is_null()) return fallback;
  if (!settings[key].is_boolean()) throw std::invalid_argument(std::string(key) + " must be true or false");
  return settings[key].get<bool>();
}

std::string whole(double value) { return std::to_string(static_cast<long long>(std::lround(value))); }

}  // namespace

PowerSettings PowerSettings::from_json(const nlohmann::json& settings) {
  if (!settings.is_object()) throw std::invalid_argument("settings must be a JSON object");
  PowerSettings s;
  if (settings.contains("power_profile")) {
    if (!settings["power_profile"].is_string()) throw std::invalid_argument("power_profile must be a string");
    s.profile = power_profile_from_string(settings["power_profile"].get<std::string>());
  }
  s.threads = number_in(settings, "threads", 0, 1024, s.threads);
  s.device_share = number_in(settings, "device_share", 0.0, 1.0, s.device_share);
  s.memory_limit_mib = number_in<std::int64_t>(settings, "memory_limit_mib", 0, std::int64_t{1} << 40, s.memory_limit_mib);
  s.only_when_idle = flag(settings, "only_when_idle", s.only_when_idle);
  s.idle_minutes = number_in(settings, "idle_minutes", 1, 1440, s.idle_minutes);
  s.on_battery = flag(settings, "on_battery", s.on_battery);
  if (settings.contains("schedule") && !settings["schedule"].is_null()) {
    const auto& schedule = settings["schedule"];
    if (!schedule.is_object()) throw std::invalid_argument("schedule must be an object {enabled, start, end}");
    s.schedule.enabled = flag(schedule, "enabled", s.schedule.enabled);
    if (schedule.contains("start")) s.schedule.start_minute = parse_clock(schedule["start"].get<std::string>());
    if (schedule.contains("end")) s.schedule.end_minute = parse_clock(schedule["end"].get<std::string>());
  }
  s.max_temperature_c = number_in(settings, "max_temperature_c", 0.0, 110.0, s.max_temperature_c);
  s.max_power_w = number_in(settings, "max_power_w", 0.0, 5000.0, s.max_power_w);
  return s;
}

nlohmann::json PowerSettings::to_json() const {
  return {{"power_profile", to_string(profile)},
          {"threads", threads},
          {"device_share", device_share},
          {"memory_limit_mib", memory_limit_mib},
          {"only_when_idle", only_when_idle},
          {"idle_minutes", idle_minutes},
          {"on_battery", on_battery},
          {"schedule",
           {{"enabled", schedule.enabled},
            {"start", format_clock(schedule.start_minute)},
            {"end", format_clock(schedule.end_minute)}}},
          {"max_temperature_c", max_temperature_c},
          {"max_power_w", max_power_w}};
}

std::optional<std::string> PowerPolicy::pause_reason(const PowerSettings& settings, const HostState& host) {
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

}  // namespace tessera::node
