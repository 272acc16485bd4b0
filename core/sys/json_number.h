// Integers read from JSON someone else wrote. nlohmann's get<T>() converts whatever number it
// finds: a float out of T's range is undefined behaviour (the hub's fuzzer found 1.8e54 as a
// receipt's step), a negative or too large integer silently wraps. These readers take only an
// integer inside T's range, and refuse anything else with an error that names the field.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::sys {

// `value` as a T when it is an integer in T's range; nothing otherwise. Never throws.
template <std::integral T>
std::optional<T> json_integer_if(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0 || static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        return std::nullopt;
    } else {
      if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
        return std::nullopt;
    }
    return static_cast<T>(v);
  }
  return std::nullopt;
}

// `value` as a T; throws std::invalid_argument naming `what` when it is not an integer in range.
template <std::integral T>
T json_integer(const nlohmann::json& value, const std::string& what) {
  if (const auto v = json_integer_if<T>(value)) return *v;
  throw std::invalid_argument(what + " must be an integer from " + std::to_string(std::numeric_limits<T>::min()) +
                              " to " + std::to_string(std::numeric_limits<T>::max()));
}

// `object[key]` as a T, `fallback` when the key is absent; throws like json_integer when it is
// present and not an integer in range.
template <std::integral T>
T json_integer_or(const nlohmann::json& object, const char* key, T fallback) {
  if (!object.is_object()) return fallback;
  const auto found = object.find(key);
  if (found == object.end()) return fallback;
  return json_integer<T>(*found, std::string("'") + key + "'");
}

// A count someone else wrote, which its writer may keep as a double (the hub's tallies print
// 412 as 412.0): an integer in T's range, or a finite float with no fractional part in T's range
// and at most 2^53 (where doubles still count by one); nothing otherwise. Never throws.
template <std::integral T>
std::optional<T> json_count_if(const nlohmann::json& value) {
  if (!value.is_number_float()) return json_integer_if<T>(value);
  const double v = value.get<double>();
  if (!std::isfinite(v) || v != std::floor(v) || v < 0 || v > 9007199254740992.0) return std::nullopt;
  if (v > static_cast<double>(std::numeric_limits<T>::max())) return std::nullopt;
  return static_cast<T>(v);
}

}  // namespace tessera::sys
