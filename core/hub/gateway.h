// The OpenAI-compatible inference gateway (DESIGN.md "Inference") without its HTTP routes
// (gateway_controller.h serves GET /v1/models and POST /v1/completions). The hub holds no
// weights: each next token's logits come from the swarm through a NextTokenSource, and who may
// use it and what each completion costs is a GatewayBilling's (key_billing.h: API keys with
// balances in the hub's store, or demo usage of an open gateway). The gateway admits a bounded
// number of completions at once (429 beyond), reserves the most a completion can cost, samples,
// meters prompt and completion tokens, and settles the charge with what was used.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub/completion.h"
#include "core/hub/decode_batcher.h"
#include "core/hub/next_token_source.h"

namespace tessera::hub {

// One completion's hold on what its client may spend: settled with the tokens used (debited
// exactly, the rest released), or, destroyed unsettled (a failed completion), released whole.
class GatewayCharge {
 public:
  virtual ~GatewayCharge() = default;
  // Throws std::runtime_error when the debit cannot be recorded (nothing is debited then).
  virtual void settle(const Usage& usage) = 0;
  // Gives the whole reservation back now, unless settled (what the destructor does; a stream that
  // failed releases before it tells its client).
  virtual void release() = 0;
};

class GatewayBilling {
 public:
  virtual ~GatewayBilling() = default;
  // `key` is the bearer token presented ("" without an Authorization header). Throws
  // GatewayError 401 ("invalid_api_key") unless it may use the gateway.
  virtual void authorize(const std::string& key) = 0;
  // Holds the cost of `max_tokens` (prompt and completion) for one completion; throws GatewayError
  // 401 as authorize() does and 402 ("insufficient_quota") when the balance is too small.
  virtual std::unique_ptr<GatewayCharge> reserve(const std::string& key, std::uint64_t max_tokens) = 0;
};

struct GatewayOptions {
  CompletionLimits limits;
  std::chrono::milliseconds token_timeout{10000};  // per generated token
  int max_concurrent = 16;            // completions admitted at once, their next tokens asked in one round
  std::size_t max_round = 32;         // sequences in one decoding round through the swarm
  std::chrono::seconds retry_after{2};  // what a 429 asks the client to wait
};

class Gateway;

// A completion's place among those admitted at once, given back when the last copy is destroyed
// (a streamed completion keeps it until its stream ends).
class CompletionSlot {
 public:
  explicit CompletionSlot(Gateway& gateway) : gateway_(gateway) {}
  ~CompletionSlot();
  CompletionSlot(const CompletionSlot&) = delete;
  CompletionSlot& operator=(const CompletionSlot&) = delete;

 private:
  Gateway& gateway_;
};

class Gateway {
 public:
  // `source` and `billing` must outlive the gateway.
  Gateway(const GatewayOptions& options, NextTokenSource& source, GatewayBilling& billing);

  // One completion (what the route calls). `on_text` receives text as it is produced (for
  // streaming); returns the finish reason, "stop" or "length".
  std::string complete(const CompletionRequest& request, const std::function<void(const std::string&)>& on_text,
                       Usage& usage);

  // Throws GatewayError 401 unless the billing admits the key of the header ("Bearer <key>"; a
  // header of another scheme presents an empty key).
  void authorize(const std::string& authorization_header) const;
  // The most `request` can cost (its prompt and max_tokens) held on the header's key; throws
  // GatewayError 401 or 402.
  std::shared_ptr<GatewayCharge> reserve(const std::string& authorization_header, const CompletionRequest& request);
  // A place for one completion; throws GatewayError 429 (rate_limit_exceeded) when max_concurrent
  // are running.
  std::shared_ptr<CompletionSlot> admit();
  int running() const;
  // The decoding rounds sent to the source so far, and the sequences they carried.
  DecodeBatcher::Stats rounds() const;

  const CompletionLimits& limits() const { return options_.limits; }
  std::chrono::seconds retry_after() const { return options_.retry_after; }
  // The largest /v1/completions body worth reading: a prompt as long as the context, every byte
  // escaped (\u00XX), plus room for the other fields.
  std::size_t body_limit() const;

 private:
  friend class CompletionSlot;
  GatewayOptions options_;
  GatewayBilling& billing_;
  DecodeBatcher batcher_;  // every running completion's next token, asked of the source in rounds
  mutable std::mutex slots_mutex_;
  int running_ = 0;  // admitted completions
};

}  // namespace tessera::hub
