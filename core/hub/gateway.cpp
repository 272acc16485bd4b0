// Completions through the swarm: API keys, sampling, stop sequences, metering.
#include "core/hub/gateway.h"

#include <algorithm>

#include <sodium.h>

namespace tessera::hub {

namespace {

std::array<std::uint8_t, 32> key_hash(const std::string& key) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return hash;
}

}  // namespace

Gateway::Gateway(const GatewayOptions& options, NextTokenSource& source, std::function<void(const Usage&)> on_usage)
    : options_(options), source_(source), on_usage_(std::move(on_usage)) {
  for (const auto& key : options_.api_keys) key_hashes_.push_back(key_hash(key));
  options_.api_keys.clear();
}

void Gateway::authorize(const std::string& authorization_header) const {
  if (key_hashes_.empty()) {
    if (options_.open) return;
    throw GatewayError(401, "invalid_api_key",
                       "this gateway is closed: its operator has configured no API keys (tessera-hub --api-keys FILE, "
                       "or --open-gateway to serve anyone)");
  }
  static const std::string prefix = "Bearer ";
  bool match = false;
  if (authorization_header.rfind(prefix, 0) == 0) {
    const auto presented = key_hash(authorization_header.substr(prefix.size()));
    for (const auto& hash : key_hashes_) match |= sodium_memcmp(hash.data(), presented.data(), hash.size()) == 0;
  }
  if (!match) throw GatewayError(401, "invalid_api_key", "a valid API key is required (Authorization: Bearer …)");
}

std::shared_ptr<CompletionSlot> Gateway::admit() {
  {
    std::lock_guard lock(slots_mutex_);
    if (running_ >= options_.max_concurrent)
      throw GatewayError(429, "rate_limit_exceeded",
                         "the gateway is serving " + std::to_string(running_) +
                             " completions, as many as it runs at once; try again in " +
                             std::to_string(options_.retry_after.count()) + " s",
                         "", "rate_limit_exceeded");
    ++running_;
  }
  return std::make_shared<CompletionSlot>(*this);
}

CompletionSlot::~CompletionSlot() {
  std::lock_guard lock(gateway_.slots_mutex_);
  --gateway_.running_;
}

int Gateway::running() const {
  std::lock_guard lock(slots_mutex_);
  return running_;
}

std::size_t Gateway::body_limit() const {
  const auto prompt = std::min<std::size_t>(static_cast<std::size_t>(std::max(options_.limits.context, 0)),
                                            options_.limits.max_prompt_bytes);
  return 16 * 1024 + 6 * prompt;
}

std::string Gateway::complete(const CompletionRequest& request, const std::function<void(const std::string&)>& on_text,
                              Usage& usage) {
  std::mt19937_64 rng(request.seed ? *request.seed : randombytes_random() * 0x9E3779B97F4A7C15ULL);
  std::vector<std::int32_t> tokens = request.prompt_tokens;
  CompletionText text(request.stop);
  usage = Usage{request.prompt_tokens.size(), 0};
  const auto context = static_cast<std::size_t>(options_.limits.context);
  std::lock_guard lock(swarm_mutex_);
  for (int generated = 0; generated < request.max_tokens; ++generated) {
    std::vector<std::int32_t> window(tokens.end() - static_cast<std::ptrdiff_t>(std::min(tokens.size(), context)),
                                     tokens.end());
    std::vector<float> logits;
    try {
      logits = source_.next_token_logits(window, options_.token_timeout);
    } catch (const std::exception& error) {
      throw GatewayError(503, "service_unavailable",
                         std::string("the model's swarm did not answer: ") + error.what() + "; try again shortly");
    }
    if (logits.size() != static_cast<std::size_t>(options_.limits.vocab))
      throw GatewayError(503, "service_unavailable", "the model's last stage returned " + std::to_string(logits.size()) +
                                                         " logits instead of " + std::to_string(options_.limits.vocab));
    const auto token = sample_token(logits, request.temperature, request.top_p, rng);
    tokens.push_back(token);
    ++usage.completion_tokens;
    const auto piece = text.push(token);
    if (!piece.empty()) on_text(piece);
    if (text.stopped()) return "stop";
  }
  const auto rest = text.finish();
  if (!rest.empty()) on_text(rest);
  return "length";
}

void Gateway::meter(const Usage& usage) const {
  if (on_usage_) on_usage_(usage);
}

}  // namespace tessera::hub
