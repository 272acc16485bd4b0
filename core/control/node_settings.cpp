// The settings' rules (see node_settings.h): a merge on the JSON form, then one strict reading of
// every key, so a file, a PUT and the app's edits all pass through the same checks.
#include "core/control/node_settings.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "core/client/hub_http.h"

namespace tessera::control {
namespace {

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument("settings: " + message); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A finite number in [low, high], or the message.
double number_in(const nlohmann::json& value, double low, double high, const std::string& message) {
  if (!value.is_number()) bad(message);
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < low || number > high) bad(message);
  return number;
}

bool flag(const nlohmann::json& value, const std::string& key) {
  if (!value.is_boolean()) bad(key + " must be true or false");
  return value.get<bool>();
}

constexpr double kMaxMemoryMib = 1099511627776.0;  // 2^40 MiB: far beyond any device

}  // namespace

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
  throw std::invalid_argument("power_profile must be \"light\", \"balanced\" or \"full\" (got \"" + text + "\")");
}

int parse_clock(const std::string& text) {
  if (text.size() != 5 || text[2] != ':' || !is_digit(text[0]) || !is_digit(text[1]) || !is_digit(text[3]) ||
      !is_digit(text[4]))
    throw std::invalid_argument("a time must be HH:MM from 00:00 to 23:59 (got \"" + text + "\")");
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59)
    throw std::invalid_argument("a time must be HH:MM from 00:00 to 23:59 (got \"" + text + "\")");
  return hours * 60 + minutes;
}

std::string format_clock(int minute_of_day) {
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02d", (minute_of_day / 60) % 24, minute_of_day % 60);
  return text;
}

bool Schedule::contains(int minute) const {
  if (!enabled) return true;
  if (start_minute == end_minute) return true;  // a whole day
  if (start_minute < end_minute) return minute >= start_minute && minute < end_minute;
  return minute >= start_minute || minute < end_minute;  // wraps past midnight
}

NodeSettings NodeSettings::merged(const nlohmann::json& patch) const {
  if (!patch.is_object()) bad("settings must be a JSON object");
  auto json = to_json();
  for (const auto& [name, value] : patch.items()) {
    if (!json.contains(name)) bad("unknown setting '" + name + "'");
    if (name == "schedule" && value.is_object()) {
      for (const auto& [part, part_value] : value.items()) {
        if (!json["schedule"].contains(part)) bad("unknown schedule field '" + part + "'");
        json["schedule"][part] = part_value;
      }
    } else {
      json[name] = value;
    }
  }

  NodeSettings s;
  const auto& profile_name = json["power_profile"];
  if (!profile_name.is_string() || (profile_name != "light" && profile_name != "balanced" && profile_name != "full"))
    bad("power_profile must be \"light\", \"balanced\" or \"full\"");
  s.profile = power_profile_from_string(profile_name.get<std::string>());
  if (!json["threads"].is_number_integer()) bad("threads must be a whole number from 0 (automatic) to 1024");
  s.threads = static_cast<int>(number_in(json["threads"], 0, 1024, "threads must be a whole number from 0 (automatic) to 1024"));
  s.device_share = number_in(json["device_share"], 0, 1, "device_share must be a number from 0 to 1");
  s.memory_limit_mib = static_cast<std::int64_t>(
      number_in(json["memory_limit_mib"], 0, kMaxMemoryMib, "memory_limit_mib must be 0 (no limit) or more"));
  s.only_when_idle = flag(json["only_when_idle"], "only_when_idle");
  s.idle_minutes = static_cast<int>(number_in(json["idle_minutes"], 1, 1440, "idle_minutes must be from 1 to 1440"));
  s.on_battery = flag(json["on_battery"], "on_battery");
  const auto& times = json["schedule"];
  const char* schedule_rule = "schedule must be {\"enabled\": true|false, \"start\": \"HH:MM\", \"end\": \"HH:MM\"}";
  if (!times.is_object() || !times.contains("enabled") || !times["enabled"].is_boolean() || !times.contains("start") ||
      !times["start"].is_string() || !times.contains("end") || !times["end"].is_string())
    bad(schedule_rule);
  s.schedule.enabled = times["enabled"].get<bool>();
  try {
    s.schedule.start_minute = parse_clock(times["start"].get<std::string>());
    s.schedule.end_minute = parse_clock(times["end"].get<std::string>());
  } catch (const std::invalid_argument&) {
    bad(schedule_rule);
  }
  // 0 turns the cap off; a cap below 30 °C would never let a GPU work.
  s.max_temperature_c = number_in(json["max_temperature_c"], 0, 110, "max_temperature_c must be 0 (no cap) or from 30 to 110");
  if (s.max_temperature_c > 0 && s.max_temperature_c < 30) bad("max_temperature_c must be 0 (no cap) or from 30 to 110");
  s.max_power_w = number_in(json["max_power_w"], 0, std::numeric_limits<double>::max(), "max_power_w must be 0 (no cap) or more");
  if (!json["hub_url"].is_string()) bad("hub_url must be a string (empty: the local network)");
  s.hub_url = json["hub_url"].get<std::string>();
  if (!s.hub_url.empty()) {
    try {
      client::HubEndpoint checked(s.hub_url);  // the node's own rules: a run link, https://, or http:// to loopback
    } catch (const std::invalid_argument& error) {
      bad(std::string("hub_url: ") + error.what());
    }
  }
  return s;
}

nlohmann::json NodeSettings::to_json() const {
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
          {"max_power_w", max_power_w},
          {"hub_url", hub_url}};
}

nlohmann::json settings_patch(const NodeSettings& before, const NodeSettings& after) {
  const auto old_json = before.to_json();
  const auto new_json = after.to_json();
  auto patch = nlohmann::json::object();
  for (const auto& [name, value] : new_json.items())
    if (old_json.at(name) != value) patch[name] = value;
  return patch;
}

}  // namespace tessera::control
