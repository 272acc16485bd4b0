// The admin API's shapes and the currency amounts the keys command reads and prints.
#include "core/protocol/hub_admin_api.h"

#include <limits>
#include <stdexcept>

#include "core/sys/json_number.h"

namespace tessera::protocol {
namespace {

constexpr std::int64_t kMicroPerUnit = 1'000'000;

std::string string_field(const nlohmann::json& value, const char* name) {
  const auto it = value.find(name);
  if (it == value.end() || !it->is_string()) throw std::invalid_argument(std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

std::int64_t integer_field(const nlohmann::json& value, const char* name) {
  const auto it = value.find(name);
  if (it == value.end()) throw std::invalid_argument(std::string("'") + name + "' is missing");
  return sys::json_integer<std::int64_t>(*it, std::string("'") + name + "'");
}

// Digits only, accumulated without passing 2^63 - 1.
std::int64_t digits_value(std::string_view digits, std::string_view whole_text) {
  std::int64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') throw std::invalid_argument("'" + std::string(whole_text) + "' is not an amount like 12.5");
    if (value > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10)
      throw std::invalid_argument("'" + std::string(whole_text) + "' is too large");
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

nlohmann::json to_json(const ApiKeyInfo& key) {
  return {{"id", key.id},
          {"name", key.name},
          {"balance", key.balance},
          {"reserved", key.reserved},
          {"spent", key.spent},
          {"created_ms", key.created_ms},
          {"revoked_ms", key.revoked_ms ? nlohmann::json(*key.revoked_ms) : nlohmann::json(nullptr)}};
}

ApiKeyInfo api_key_info_from_json(const nlohmann::json& value) {
  if (!value.is_object()) throw std::invalid_argument("an API key record must be an object");
  ApiKeyInfo key;
  key.id = integer_field(value, "id");
  key.name = string_field(value, "name");
  key.balance = integer_field(value, "balance");
  key.reserved = integer_field(value, "reserved");
  key.spent = integer_field(value, "spent");
  key.created_ms = integer_field(value, "created_ms");
  if (const auto it = value.find("revoked_ms"); it != value.end() && !it->is_null())
    key.revoked_ms = sys::json_integer<std::int64_t>(*it, "'revoked_ms'");
  return key;
}

nlohmann::json to_json(const HubRunInfo& run) {
  return {{"run", run.run},
          {"revision", run.revision},
          {"publisher", run.publisher},
          {"added_ms", run.added_ms},
          {"retired_ms", run.retired_ms ? nlohmann::json(*run.retired_ms) : nlohmann::json(nullptr)},
          {"default", run.is_default},
          {"url", run.url},
          {"link", run.link}};
}

HubRunInfo hub_run_info_from_json(const nlohmann::json& value) {
  HubRunInfo run;
  run.run = string_field(value, "run");
  if (!value.contains("revision")) throw std::invalid_argument("missing field 'revision'");
  run.revision = sys::json_integer<std::uint64_t>(value.at("revision"), "field 'revision'");
  run.publisher = string_field(value, "publisher");
  run.added_ms = integer_field(value, "added_ms");
  if (!value.contains("retired_ms")) throw std::invalid_argument("missing field 'retired_ms'");
  if (!value.at("retired_ms").is_null()) run.retired_ms = integer_field(value, "retired_ms");
  if (!value.contains("default") || !value.at("default").is_boolean())
    throw std::invalid_argument("field 'default' must be true or false");
  run.is_default = value.at("default").get<bool>();
  run.url = string_field(value, "url");
  run.link = string_field(value, "link");
  return run;
}

nlohmann::json to_json(const AdminAccess& access) { return {{"url", access.url}, {"token", access.token}}; }

AdminAccess admin_access_from_json(const nlohmann::json& value) {
  if (!value.is_object()) throw std::invalid_argument("the admin access file must hold a JSON object");
  AdminAccess access{string_field(value, "url"), string_field(value, "token")};
  if (access.url.rfind("http://127.0.0.1:", 0) != 0)
    throw std::invalid_argument("the admin URL must be http://127.0.0.1:PORT (got '" + access.url + "')");
  return access;
}

std::int64_t parse_currency_amount(std::string_view text) {
  const auto dot = text.find('.');
  const auto whole = text.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty()))
    throw std::invalid_argument("'" + std::string(text) + "' is not an amount like 12.5");
  if (fraction.size() > 6)
    throw std::invalid_argument("'" + std::string(text) + "' has more than 6 decimals (amounts are micro-units)");
  const auto units = digits_value(whole, text);
  auto micro = digits_value(fraction, text);
  for (auto n = fraction.size(); n < 6; ++n) micro *= 10;
  if (units > (std::numeric_limits<std::int64_t>::max() - micro) / kMicroPerUnit)
    throw std::invalid_argument("'" + std::string(text) + "' is too large");
  return units * kMicroPerUnit + micro;
}

std::string format_currency_amount(std::int64_t micro_units) {
  const bool negative = micro_units < 0;
  const auto magnitude = negative ? -static_cast<std::uint64_t>(micro_units) : static_cast<std::uint64_t>(micro_units);
  auto fraction = std::to_string(magnitude % kMicroPerUnit);
  fraction.insert(0, 6 - fraction.size(), '0');
  return (negative ? "-" : "") + std::to_string(magnitude / kMicroPerUnit) + "." + fraction;
}

}  // namespace tessera::protocol
