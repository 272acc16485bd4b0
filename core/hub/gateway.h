// The OpenAI-compatible inference gateway (DESIGN.md "Inference") without its HTTP routes
// (gateway_controller.h serves GET /v1/models and POST /v1/completions). The hub holds no
// weights: each next token's logits come from the swarm through a NextTokenSource; the gateway
// checks API keys (closed without any, unless its operator opens it), admits a bounded number of
// completions at once (429 beyond), samples, meters prompt and completion tokens, and reports
// usage.
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

namespace tessera::hub {

class NextTokenSource {
 public:
  virtual ~NextTokenSource() = default;
  // Logits over the vocabulary for the token that follows `tokens` (at most the context).
  // Throws std::runtime_error when the swarm cannot answer within `timeout` (a stage is missing
  // or drops): the gateway answers 503.
  virtual std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens,
                                               std::chrono::milliseconds timeout) = 0;
};

struct GatewayOptions {
  CompletionLimits limits;
  std::chrono::milliseconds token_timeout{10000};  // per generated token
  std::vector<std::string> api_keys;  // kept only as hashes
  bool open = false;                  // without api_keys: true serves anyone (the local demo), false refuses all
  int max_concurrent = 4;             // completions admitted at once; one runs through the swarm at a time
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
  // `on_usage` is called once per completed request with its metered tokens.
  Gateway(const GatewayOptions& options, NextTokenSource& source, std::function<void(const Usage&)> on_usage);

  // One completion (what the route calls). `on_text` receives text as it is produced (for
  // streaming); returns the finish reason, "stop" or "length".
  std::string complete(const CompletionRequest& request, const std::function<void(const std::string&)>& on_text,
                       Usage& usage);
  // Reports a completed request's metered tokens to `on_usage`.
  void meter(const Usage& usage) const;

  // Throws GatewayError 401 unless the header is "Bearer <one of the keys>", or the gateway has no
  // keys and is open.
  void authorize(const std::string& authorization_header) const;
  // A place for one completion; throws GatewayError 429 (rate_limit_exceeded) when max_concurrent
  // are running.
  std::shared_ptr<CompletionSlot> admit();
  int running() const;

  const CompletionLimits& limits() const { return options_.limits; }
  std::chrono::seconds retry_after() const { return options_.retry_after; }
  // The largest /v1/completions body worth reading: a prompt as long as the context, every byte
  // escaped (\u00XX), plus room for the other fields.
  std::size_t body_limit() const;

 private:
  friend class CompletionSlot;
  GatewayOptions options_;
  std::vector<std::array<std::uint8_t, 32>> key_hashes_;
  NextTokenSource& source_;
  std::function<void(const Usage&)> on_usage_;
  std::mutex swarm_mutex_;  // one inference at a time through the stages
  mutable std::mutex slots_mutex_;
  int running_ = 0;  // admitted completions
};

}  // namespace tessera::hub
