// What the hub's gateway charges (DESIGN.md "Trust model": revenue is usage that was paid for).
// A request with an API key (api_key_book.h) that is live and whose free balance covers the most
// the completion can cost (its prompt and max_tokens at the manifest's price) is served: that
// cost is reserved at the start, and at the end the tokens used are debited and credited to the
// open epoch's revenue in one store transaction, the rest released; a failed completion releases
// everything. A request without a key is refused (401), unless the gateway is open: then it is
// demo usage, served, counted in the open epoch's demo tokens, and earning nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/hub/api_key_book.h"
#include "core/hub/gateway.h"
#include "core/hub/hub_store.h"
#include "core/hub/settlement_book.h"

namespace tessera::hub {

// The price of `tokens` at `price_per_1k` micro-units per 1,000 tokens, in whole micro-units,
// rounded up (a debit is an integer); saturates at 2^63 - 1.
std::int64_t price_of(std::uint64_t tokens, std::uint64_t price_per_1k);

class KeyBilling : public GatewayBilling {
 public:
  // All must outlive the billing. `open`: serve requests without a key as demo usage.
  KeyBilling(HubStore& store, ApiKeyBook& keys, SettlementBook& book, std::uint64_t price_per_1k, bool open);

  void authorize(const std::string& key) override;
  std::unique_ptr<GatewayCharge> reserve(const std::string& key, std::uint64_t max_tokens) override;

  bool open() const { return open_; }

 private:
  std::int64_t live_key(const std::string& key) const;  // GatewayError 401 for an unknown or revoked one

  HubStore& store_;
  ApiKeyBook& keys_;
  SettlementBook& book_;
  std::uint64_t price_per_1k_;
  bool open_;
};

}  // namespace tessera::hub
