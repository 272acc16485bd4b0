// Reservations, debits and demo usage for the gateway.
#include "core/hub/key_billing.h"

#include <algorithm>
#include <limits>

namespace tessera::hub {
namespace {

__extension__ typedef unsigned __int128 u128;

GatewayError refusal(const KeyRefused& refused) {
  if (refused.reason() == KeyRefused::Reason::Insufficient)
    return GatewayError(402, "insufficient_quota", refused.what(), "", "insufficient_quota");
  return GatewayError(401, "invalid_api_key", refused.what(), "", "invalid_api_key");
}

// A keyed completion's reservation.
class PaidCharge : public GatewayCharge {
 public:
  PaidCharge(HubStore& store, ApiKeyBook& keys, SettlementBook& book, std::uint64_t price_per_1k, std::int64_t key_id,
             std::int64_t reserved)
      : store_(store), keys_(keys), book_(book), price_per_1k_(price_per_1k), key_id_(key_id), reserved_(reserved) {}

  ~PaidCharge() override { release(); }

  void release() override {
    if (settled_) return;
    settled_ = true;
    try {
      keys_.release(key_id_, reserved_);
    } catch (const std::exception&) {
      // The store failed: the reservation is released when the hub next starts (ApiKeyBook).
    }
  }

  void settle(const Usage& usage) override {
    if (settled_) throw std::logic_error("a completion's charge is settled once");
    const auto amount = std::min(price_of(usage.total(), price_per_1k_), reserved_);
    auto transaction = store_.begin();
    const auto epoch = book_.credit_paid(transaction, usage.total(), static_cast<std::uint64_t>(amount));
    keys_.debit(transaction, key_id_, reserved_, usage.total(), amount, epoch);
    transaction.commit();
    settled_ = true;
  }

 private:
  HubStore& store_;
  ApiKeyBook& keys_;
  SettlementBook& book_;
  std::uint64_t price_per_1k_;
  std::int64_t key_id_;
  std::int64_t reserved_;
  bool settled_ = false;
};

// An open gateway's keyless completion: counted, free.
class DemoCharge : public GatewayCharge {
 public:
  explicit DemoCharge(SettlementBook& book) : book_(book) {}
  void settle(const Usage& usage) override { book_.credit_demo(usage.total()); }
  void release() override {}

 private:
  SettlementBook& book_;
};

}  // namespace

std::int64_t price_of(std::uint64_t tokens, std::uint64_t price_per_1k) {
  const u128 price = (static_cast<u128>(tokens) * price_per_1k + 999) / 1000;
  constexpr auto kMax = static_cast<u128>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(price > kMax ? kMax : price);
}

KeyBilling::KeyBilling(HubStore& store, ApiKeyBook& keys, SettlementBook& book, std::uint64_t price_per_1k, bool open)
    : store_(store), keys_(keys), book_(book), price_per_1k_(price_per_1k), open_(open) {}

std::int64_t KeyBilling::live_key(const std::string& key) const {
  try {
    return keys_.check(key);
  } catch (const KeyRefused& refused) {
    throw refusal(refused);
  }
}

void KeyBilling::authorize(const std::string& key) {
  if (key.empty()) {
    if (open_) return;
    throw GatewayError(401, "invalid_api_key",
                       "a valid API key is required (Authorization: Bearer …): its operator gives them out with "
                       "`tessera-hub keys add`",
                       "", "invalid_api_key");
  }
  live_key(key);
}

std::unique_ptr<GatewayCharge> KeyBilling::reserve(const std::string& key, std::uint64_t max_tokens) {
  authorize(key);
  if (key.empty()) return std::make_unique<DemoCharge>(book_);
  const auto cost = price_of(max_tokens, price_per_1k_);
  try {
    const auto id = keys_.reserve(key, cost);
    return std::make_unique<PaidCharge>(store_, keys_, book_, price_per_1k_, id, cost);
  } catch (const KeyRefused& refused) {
    throw refusal(refused);
  }
}

}  // namespace tessera::hub
