// The node's settings, written once: their defaults, their rules and how a change merges in. The
// node persists them in <data-dir>/settings.json and serves them on the control API (GET and PUT
// /v1/settings, a JSON merge patch); the power policy reads them before each step; the desktop app
// edits them through the API or, with no node running, checks them here and writes that file. So
// the app refuses exactly what the node refuses, with the node's own message.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::control {

enum class PowerProfile { Light, Balanced, Full };
std::string to_string(PowerProfile profile);
// Throws std::invalid_argument naming the valid values.
PowerProfile power_profile_from_string(const std::string& text);

// "HH:MM" ⇄ minutes after midnight; parse_clock throws std::invalid_argument.
int parse_clock(const std::string& text);
std::string format_clock(int minute_of_day);

struct Schedule {
  bool enabled = false;
  int start_minute = 22 * 60;  // local time, minutes after midnight
  int end_minute = 7 * 60;     // may be before start: the window wraps past midnight
  bool contains(int minute_of_day) const;
  bool operator==(const Schedule&) const = default;
};

// JSON keys in snake_case, as the field names: power_profile, threads, device_share,
// memory_limit_mib, only_when_idle, idle_minutes, on_battery, schedule {enabled, start, end},
// max_temperature_c, max_power_w, hub_url.
struct NodeSettings {
  PowerProfile profile = PowerProfile::Balanced;
  int threads = 0;                    // 0: automatic
  double device_share = 1.0;          // fraction of time the device may be busy
  std::int64_t memory_limit_mib = 0;  // 0: no limit
  bool only_when_idle = false;
  int idle_minutes = 5;
  bool on_battery = false;  // allowed to run on battery power
  Schedule schedule;
  double max_temperature_c = 85;  // 0: no cap
  double max_power_w = 0;         // 0: no cap
  std::string hub_url;            // empty: the local network

  // These settings with `patch` merged in (a JSON merge patch: the keys it names replace these,
  // and schedule's fields merge one by one), checked whole. Throws std::invalid_argument with a
  // message the user can act on: "settings: idle_minutes must be from 1 to 1440", "settings:
  // unknown setting 'turbo'".
  NodeSettings merged(const nlohmann::json& patch) const;
  // The defaults with `json` merged in (a whole settings file, or only some keys).
  static NodeSettings from_json(const nlohmann::json& json) { return NodeSettings{}.merged(json); }
  nlohmann::json to_json() const;

  bool operator==(const NodeSettings&) const = default;
};

// The merge patch that turns `before` into `after`: the top-level keys whose values differ.
nlohmann::json settings_patch(const NodeSettings& before, const NodeSettings& after);

}  // namespace tessera::control
