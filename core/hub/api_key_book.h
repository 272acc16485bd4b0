// The gateway's client keys and what they paid, in the hub's store (api_keys, debits): a key is
// created with a random secret shown once ("tsk_" + 64 hex digits) and only its BLAKE2b-256 hash
// is kept; its balance is credited by the operator, reserved by each completion in flight (the
// most it can cost), and debited by what it used. A key's balance never goes below what is
// reserved (also a CHECK in the table), so concurrent completions cannot overdraw it.
// Reservations live only as long as the hub process: a new ApiKeyBook releases those a stopped
// hub left behind. Amounts are micro-units (int64). Thread-safe (the store serialises).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/hub_admin_api.h"

namespace tessera::hub {

// A key refused for a completion, and why.
class KeyRefused : public std::runtime_error {
 public:
  enum class Reason { Unknown, Revoked, Insufficient };
  KeyRefused(Reason reason, const std::string& message) : std::runtime_error(message), reason_(reason) {}
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

struct NewApiKey {
  std::string key;  // the secret: shown to the operator once, stored nowhere
  protocol::ApiKeyInfo info;
};

class ApiKeyBook {
 public:
  explicit ApiKeyBook(HubStore& store);  // `store` must outlive the book

  // Throws std::invalid_argument for a name over kMaxNameBytes or a negative balance.
  NewApiKey add(const std::string& name, std::int64_t balance);
  std::vector<protocol::ApiKeyInfo> list() const;
  // Both throw std::out_of_range for an unknown id and std::invalid_argument for a revoked key, a
  // non-positive amount or a balance past 2^63 - 1.
  protocol::ApiKeyInfo credit(std::int64_t id, std::int64_t amount);
  protocol::ApiKeyInfo revoke(std::int64_t id);
  bool has_live_keys() const;

  // The id of the live key `key`; throws KeyRefused (Unknown, Revoked).
  std::int64_t check(const std::string& key) const;
  // Holds `amount` of the key's balance for one completion and returns the key's id; throws
  // KeyRefused (Unknown, Revoked, or Insufficient when balance - reserved < amount).
  std::int64_t reserve(const std::string& key, std::int64_t amount);
  // Gives a reservation back unused (a failed completion).
  void release(std::int64_t id, std::int64_t reserved);
  // Within the caller's transaction: ends a reservation and debits `amount` (at most `reserved`)
  // for `tokens` in `epoch`.
  void debit(HubStore::Transaction& transaction, std::int64_t id, std::int64_t reserved, std::uint64_t tokens,
             std::int64_t amount, std::uint64_t epoch);
  // The sum of an epoch's debits and how many there were.
  std::pair<std::int64_t, std::int64_t> debits(std::uint64_t epoch) const;

 private:
  HubStore& store_;
};

}  // namespace tessera::hub
