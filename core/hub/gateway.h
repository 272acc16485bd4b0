// The OpenAI-compatible inference gateway (DESIGN.md "Inference") without its HTTP routes
// (gateway_controller.h serves GET /v1/models and POST /v1/completions). The hub holds no
// weights: each next token's logits come from the swarm through a NextTokenSource; the gateway
// checks API keys, samples, meters prompt and completion tokens, and reports usage.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
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
  std::vector<std::string> api_keys;  // empty: no key needed (the local demo); kept only as hashes
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

  // True when no key is configured or the header is "Bearer <one of the keys>".
  bool authorized(const std::string& authorization_header) const;
  const CompletionLimits& limits() const { return options_.limits; }

 private:
  GatewayOptions options_;
  std::vector<std::array<std::uint8_t, 32>> key_hashes_;
  NextTokenSource& source_;
  std::function<void(const Usage&)> on_usage_;
  std::mutex swarm_mutex_;  // one inference at a time through the stages
};

}  // namespace tessera::hub
