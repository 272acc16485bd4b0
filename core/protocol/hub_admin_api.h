// The hub's admin API as both of its ends see it: `tessera-hub keys …` (app/cli/keys_command.cpp)
// and the hub's AdminController (core/hub/admin_controller.h). It is served on a loopback-only
// server of its own, and every request carries the admin token the running hub wrote, with its
// URL, to a 0600 file in its state folder (AdminAccess). Amounts are integer micro-units of the
// run's currency on the wire; the command line reads and prints them as decimals of the unit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tessera::protocol {

namespace hub_admin_api {

// GET: every key ({"currency", "keys": [ApiKeyInfo…]}); POST {"name", "balance"}: a new key
// ({"key": the secret, shown once, "record": ApiKeyInfo}).
inline constexpr char kKeys[] = "/admin/keys";
// POST {"id", "amount"}: adds to a live key's balance; answers its ApiKeyInfo.
inline constexpr char kCredit[] = "/admin/keys/credit";
// POST {"id"}: the key is refused from now on (its record and debits stay); answers its ApiKeyInfo.
inline constexpr char kRevoke[] = "/admin/keys/revoke";
// Data shards proposed to the hub's runs (data_shard.h): GET ?run= (every run's without) lists
// those waiting for review ({"shards": [PendingShard…]}); POST {"run", "hash"} to kRejectShard
// drops one, to kAcceptShard moves its bytes to the served shards (the publisher's acceptance is a
// new manifest revision naming it, posted to kRuns). Both answer the PendingShard.
inline constexpr char kShards[] = "/admin/shards";
inline constexpr char kRejectShard[] = "/admin/shards/reject";
inline constexpr char kAcceptShard[] = "/admin/shards/accept";
inline constexpr char kTokenHeader[] = "Tessera-Admin-Token";
inline constexpr std::size_t kBodyLimit = 4 * 1024;
inline constexpr std::size_t kMaxNameBytes = 100;
// The file a running hub writes in its state folder (and removes when it stops).
inline constexpr char kAccessFileName[] = "admin.json";

}  // namespace hub_admin_api

// One gateway client key as the operator sees it (never the key itself).
struct ApiKeyInfo {
  std::int64_t id = 0;
  std::string name;
  std::int64_t balance = 0;   // micro-units left to spend
  std::int64_t reserved = 0;  // held by completions in flight
  std::int64_t spent = 0;     // debited so far
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> revoked_ms;
};

// {"id", "name", "balance", "reserved", "spent", "created_ms", "revoked_ms" (null when live)}
nlohmann::json to_json(const ApiKeyInfo& key);
// Throws std::invalid_argument naming a missing or mistyped field.
ApiKeyInfo api_key_info_from_json(const nlohmann::json& value);

// How the keys command reaches a running hub: its admin server's URL and the token.
struct AdminAccess {
  std::string url;    // http://127.0.0.1:PORT
  std::string token;  // 64 hex digits
};

// {"url", "token"}
nlohmann::json to_json(const AdminAccess& access);
// Throws std::invalid_argument when a field is missing or not a loopback http URL.
AdminAccess admin_access_from_json(const nlohmann::json& value);

// "12.5" (units of the currency, at most 6 decimals) → 12,500,000 micro-units. Throws
// std::invalid_argument for anything else (a sign, an exponent, more decimals, past 2^63 - 1).
std::int64_t parse_currency_amount(std::string_view text);
// 12,500,000 → "12.500000".
std::string format_currency_amount(std::int64_t micro_units);

}  // namespace tessera::protocol
