// Settings validation and persistence, and the status/pause/snooze plumbing to the SwarmNode.
#include "core/node/node_control.h"

#include <regex>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/wallet/secure_file.h"

namespace tessera::node {
namespace {

void bad(const std::string& message) { throw std::invalid_argument("settings: " + message); }

bool is_clock_time(const nlohmann::json& value) {
  static const std::regex pattern("^([01][0-9]|2[0-3]):[0-5][0-9]$");
  return value.is_string() && std::regex_match(value.get<std::string>(), pattern);
}

void validate(const nlohmann::json& s) {
  const auto profile = s["power_profile"];
  if (!profile.is_string() || (profile != "light" && profile != "balanced" && profile != "full"))
    bad("power_profile must be \"light\", \"balanced\" or \"full\"");
  if (!s["threads"].is_number_integer() || s["threads"].get<int>() < 0 || s["threads"].get<int>() > 1024)
    bad("threads must be a whole number from 0 (automatic) to 1024");
  if (!s["device_share"].is_number() || s["device_share"].get<double>() < 0 || s["device_share"].get<double>() > 1)
    bad("device_share must be a number from 0 to 1");
  if (!s["memory_limit_mib"].is_number() || s["memory_limit_mib"].get<double>() < 0)
    bad("memory_limit_mib must be 0 (no limit) or more");
  if (!s["only_when_idle"].is_boolean()) bad("only_when_idle must be true or false");
  if (!s["idle_minutes"].is_number() || s["idle_minutes"].get<double>() < 0 || s["idle_minutes"].get<double>() > 1440)
    bad("idle_minutes must be from 0 to 1440");
  if (!s["on_battery"].is_boolean()) bad("on_battery must be true or false");
  const auto& schedule = s["schedule"];
  if (!schedule.is_object() || !schedule.contains("enabled") || !schedule["enabled"].is_boolean() ||
      !is_clock_time(schedule.value("start", nlohmann::json())) || !is_clock_time(schedule.value("end", nlohmann::json())))
    bad("schedule must be {\"enabled\": true|false, \"start\": \"HH:MM\", \"end\": \"HH:MM\"}");
  if (!s["max_temperature_c"].is_number() || s["max_temperature_c"].get<double>() < 30 ||
      s["max_temperature_c"].get<double>() > 110)
    bad("max_temperature_c must be from 30 to 110");
  if (!s["max_power_w"].is_number() || s["max_power_w"].get<double>() < 0) bad("max_power_w must be 0 (no cap) or more");
  if (!s["hub_url"].is_string()) bad("hub_url must be a string (empty: the local network)");
  const auto url = s["hub_url"].get<std::string>();
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    bad("hub_url must start with http:// or https://");
}

}  // namespace

nlohmann::json default_settings() {
  return {{"power_profile", "balanced"},
          {"threads", 0},
          {"device_share", 1.0},
          {"memory_limit_mib", 0},
          {"only_when_idle", false},
          {"idle_minutes", 5},
          {"on_battery", false},
          {"schedule", {{"enabled", false}, {"start", "22:00"}, {"end", "07:00"}}},
          {"max_temperature_c", 85},
          {"max_power_w", 0},
          {"hub_url", ""}};
}

nlohmann::json merge_settings(const nlohmann::json& current, const nlohmann::json& patch) {
  if (!patch.is_object()) bad("the request body must be a JSON object");
  auto merged = current;
  for (const auto& [name, value] : patch.items()) {
    if (!merged.contains(name)) bad("unknown setting '" + name + "'");
    if (name == "schedule" && value.is_object()) {
      for (const auto& [part, part_value] : value.items()) {
        if (!merged["schedule"].contains(part)) bad("unknown schedule field '" + part + "'");
        merged["schedule"][part] = part_value;
      }
    } else {
      merged[name] = value;
    }
  }
  validate(merged);
  return merged;
}

NodeControl::NodeControl(SwarmNode& node, std::filesystem::path data_dir, std::string network)
    : node_(node), file_(data_dir / "settings.json"), network_(std::move(network)), settings_(default_settings()) {
  if (std::filesystem::exists(file_)) {
    try {
      const auto stored = nlohmann::json::parse(wallet::read_file_text(file_, 1 << 20));
      settings_ = merge_settings(settings_, stored);
    } catch (const std::exception& error) {
      spdlog::warn("{} is not valid, using the defaults: {}", file_.string(), error.what());
    }
  }
}

nlohmann::json NodeControl::status() {
  auto out = node_.status();
  out["network"] = network_;
  return out;
}

void NodeControl::start() { node_.set_paused(false); }
void NodeControl::pause(bool) { node_.set_paused(true, "paused by the user"); }
void NodeControl::snooze(std::chrono::seconds duration) { node_.snooze(duration); }

nlohmann::json NodeControl::settings() {
  std::lock_guard lock(mutex_);
  return settings_;
}

nlohmann::json NodeControl::update_settings(const nlohmann::json& patch) {
  std::lock_guard lock(mutex_);
  auto merged = merge_settings(settings_, patch);
  const auto text = merged.dump(2) + "\n";
  wallet::write_file_atomic(file_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), {},
                            wallet::IfExists::Replace);
  settings_ = std::move(merged);
  node_.set_threads(settings_["threads"].get<int>());
  return settings_;
}

}  // namespace tessera::node
