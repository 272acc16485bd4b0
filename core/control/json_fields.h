// Lenient reading of one field of a control API reply (status, runs): a missing or null key
// leaves the field as it is, a value of the wrong type throws std::runtime_error naming `what`
// and the key.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::control {

template <typename T>
void read_json_field(const nlohmann::json& json, const char* key, T& field, const char* what) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return;
  try {
    field = found->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error(std::string(what) + ": '" + key + "' has the wrong type");
  }
}

template <typename T>
void read_json_field(const nlohmann::json& json, const char* key, std::optional<T>& field, const char* what) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return;
  T value{};
  read_json_field(json, key, value, what);
  field = value;
}

}  // namespace tessera::control
