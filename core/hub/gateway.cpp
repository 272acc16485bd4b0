// /v1/models and /v1/completions over cpp-httplib, with OpenAI-shaped bodies and errors.
#include "core/hub/gateway.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/wallet/encoding.h"

namespace tessera::hub {

namespace {

std::array<std::uint8_t, 32> key_hash(const std::string& key) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return hash;
}

void reply_error(httplib::Response& response, const GatewayError& error) {
  response.status = error.status();
  response.set_content(error_body(error).dump(), "application/json");
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  std::array<std::uint8_t, 8> random{};
  randombytes_buf(random.data(), random.size());
  return "cmpl-" + wallet::to_hex(random) + "-" + std::to_string(++counter);
}

nlohmann::json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.total()}};
}

}  // namespace

Gateway::Gateway(const GatewayOptions& options, NextTokenSource& source, std::function<void(const Usage&)> on_usage)
    : options_(options), source_(source), on_usage_(std::move(on_usage)) {
  for (const auto& key : options_.api_keys) key_hashes_.push_back(key_hash(key));
  options_.api_keys.clear();
}

bool Gateway::authorized(const std::string& authorization_header) const {
  if (key_hashes_.empty()) return true;
  static const std::string prefix = "Bearer ";
  if (authorization_header.rfind(prefix, 0) != 0) return false;
  const auto presented = key_hash(authorization_header.substr(prefix.size()));
  bool match = false;
  for (const auto& hash : key_hashes_) match |= sodium_memcmp(hash.data(), presented.data(), hash.size()) == 0;
  return match;
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

void Gateway::mount(httplib::Server& server) {
  server.Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
    if (!authorized(request.get_header_value("Authorization")))
      return reply_error(response, GatewayError(401, "invalid_api_key", "a valid API key is required (Authorization: Bearer …)"));
    const nlohmann::json model{{"id", options_.limits.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}};
    response.set_content(nlohmann::json{{"object", "list"}, {"data", {model}}}.dump(), "application/json");
  });
  server.Post("/v1/completions", [this](const httplib::Request& http_request, httplib::Response& response) {
    try {
      if (!authorized(http_request.get_header_value("Authorization")))
        throw GatewayError(401, "invalid_api_key", "a valid API key is required (Authorization: Bearer …)");
      nlohmann::json body;
      try {
        body = nlohmann::json::parse(http_request.body);
      } catch (const nlohmann::json::exception&) {
        throw GatewayError(400, "invalid_request_error", "the request body is not valid JSON");
      }
      const auto request = parse_completion_request(body, options_.limits);
      const auto id = completion_id();
      const auto created = unix_seconds();
      const auto chunk = [this, id, created](const std::string& text, const nlohmann::json& finish) {
        return nlohmann::json{{"id", id},
                              {"object", "text_completion"},
                              {"created", created},
                              {"model", options_.limits.model_id},
                              {"choices", {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
      };
      if (!request.stream) {
        Usage usage;
        std::string text;
        const auto finish = complete(request, [&](const std::string& piece) { text += piece; }, usage);
        auto result = chunk(text, finish);
        result["usage"] = usage_json(usage);
        if (on_usage_) on_usage_(usage);
        response.set_content(result.dump(), "application/json");
        return;
      }
      response.set_header("Cache-Control", "no-cache");
      response.set_chunked_content_provider(
          "text/event-stream", [this, request, chunk](std::size_t, httplib::DataSink& sink) {
            const auto send = [&](const nlohmann::json& event) {
              const auto line = "data: " + event.dump() + "\n\n";
              return sink.write(line.data(), line.size());
            };
            Usage usage;
            try {
              const auto finish = complete(request, [&](const std::string& piece) {
                if (!send(chunk(piece, nullptr))) throw GatewayError(499, "client_closed", "the client went away");
              }, usage);
              auto last = chunk("", finish);
              last["usage"] = usage_json(usage);
              send(last);
              if (on_usage_) on_usage_(usage);
            } catch (const GatewayError& error) {
              if (error.status() != 499) send(error_body(error));
            }
            static const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
            return true;
          });
    } catch (const GatewayError& error) {
      reply_error(response, error);
    }
  });
}

}  // namespace tessera::hub
