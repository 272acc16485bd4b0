// Completions through the swarm: billing, admission, sampling, stop sequences, metering.
#include "core/hub/gateway.h"

#include <algorithm>

#include <sodium.h>

namespace tessera::hub {

namespace {

// The key of "Bearer <key>"; "" for no header or another scheme.
std::string bearer_key(const std::string& authorization_header) {
  static const std::string prefix = "Bearer ";
  return authorization_header.rfind(prefix, 0) == 0 ? authorization_header.substr(prefix.size()) : std::string();
}

}  // namespace

Gateway::Gateway(const GatewayOptions& options, NextTokenSource& source, GatewayBilling& billing)
    : options_(options), billing_(billing), batcher_(source, options.max_round, options.token_timeout) {}

void Gateway::authorize(const std::string& authorization_header) const {
  billing_.authorize(bearer_key(authorization_header));
}

std::shared_ptr<GatewayCharge> Gateway::reserve(const std::string& authorization_header,
                                                const CompletionRequest& request) {
  const auto max_tokens = request.prompt_tokens.size() + static_cast<std::uint64_t>(request.max_tokens);
  return billing_.reserve(bearer_key(authorization_header), max_tokens);
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
  std::uint64_t session = 0;
  randombytes_buf(&session, sizeof session);  // names this sequence's KV caches on the stages
  struct EndSequence {
    DecodeBatcher& batcher;
    std::uint64_t session;
    ~EndSequence() { batcher.end(session); }
  } end_sequence{batcher_, session};
  for (int generated = 0; generated < request.max_tokens; ++generated) {
    std::vector<std::int32_t> window(tokens.end() - static_cast<std::ptrdiff_t>(std::min(tokens.size(), context)),
                                     tokens.end());
    auto next = batcher_.next(session, std::move(window));
    if (!next.error.empty())
      throw GatewayError(503, "service_unavailable",
                         "the model's swarm did not answer: " + next.error + "; try again shortly");
    if (next.logits.size() != static_cast<std::size_t>(options_.limits.vocab))
      throw GatewayError(503, "service_unavailable", "the model's last stage returned " + std::to_string(next.logits.size()) +
                                                         " logits instead of " + std::to_string(options_.limits.vocab));
    const auto token = sample_token(next.logits, request.temperature, request.top_p, rng);
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

DecodeBatcher::Stats Gateway::rounds() const { return batcher_.stats(); }

}  // namespace tessera::hub
