// The OpenAI-compatible inference gateway (DESIGN.md "Inference"): GET /v1/models and
// POST /v1/completions (streamed as server-sent events when asked) on the hub's HTTP server.
// The hub holds no weights: each next token's logits come from the swarm through a
// NextTokenSource; the gateway samples, meters prompt and completion tokens, and reports usage.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub/completion.h"

namespace httplib {
class Server;
}

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

  // Adds the /v1 routes to `server`.
  void mount(httplib::Server& server);

  // One completion without HTTP (also what the route calls). `on_text` receives text as it is
  // produced (for streaming); returns the finish reason, "stop" or "length".
  std::string complete(const CompletionRequest& request, const std::function<void(const std::string&)>& on_text,
                       Usage& usage);

 private:
  bool authorized(const std::string& authorization_header) const;

  GatewayOptions options_;
  std::vector<std::array<std::uint8_t, 32>> key_hashes_;
  NextTokenSource& source_;
  std::function<void(const Usage&)> on_usage_;
  std::mutex swarm_mutex_;  // one inference at a time through the stages
};

}  // namespace tessera::hub
