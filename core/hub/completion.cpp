// Validation, tokenisation, sampling and UTF-8-safe text for /v1/completions.
#include "core/hub/completion.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

namespace tessera::hub {

namespace {

GatewayError bad(const std::string& param, const std::string& message) {
  return GatewayError(400, "invalid_request_error", message, param);
}

// Length of the UTF-8 character starting at `lead`, 0 for a byte that cannot start one.
int utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether bytes [i, i + n) form one valid character (no overlongs, surrogates or > U+10FFFF).
bool valid_char(const std::string& s, std::size_t i, int n) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  for (int k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return false;
  if (n == 3) {
    if (byte(i) == 0xE0 && byte(i + 1) < 0xA0) return false;  // overlong
    if (byte(i) == 0xED && byte(i + 1) >= 0xA0) return false;  // surrogate
  }
  if (n == 4) {
    if (byte(i) == 0xF0 && byte(i + 1) < 0x90) return false;  // overlong
    if (byte(i) == 0xF4 && byte(i + 1) >= 0x90) return false;  // above U+10FFFF
  }
  return true;
}

const char* kReplacement = "\xEF\xBF\xBD";

std::string string_field(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || !it->is_string()) throw bad(name, std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

double number_field(const nlohmann::json& body, const char* name, double fallback, double low, double high) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw bad(name, std::string("'") + name + "' must be a number");
  const double value = it->get<double>();
  if (!std::isfinite(value) || value < low || value > high)
    throw bad(name, std::string("'") + name + "' must be between " + nlohmann::json(low).dump() + " and " +
                        nlohmann::json(high).dump());
  return value;
}

}  // namespace

nlohmann::json error_body(const GatewayError& error) {
  nlohmann::json inner{{"message", error.what()}, {"type", error.type()}};
  inner["param"] = error.param().empty() ? nlohmann::json(nullptr) : nlohmann::json(error.param());
  inner["code"] = error.code().empty() ? nlohmann::json(nullptr) : nlohmann::json(error.code());
  return {{"error", inner}};
}

bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const int n = utf8_length(static_cast<unsigned char>(text[i]));
    if (n == 0 || i + static_cast<std::size_t>(n) > text.size() || !valid_char(text, i, n)) return false;
    i += static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<std::int32_t> tokenize(const std::string& text) {
  std::vector<std::int32_t> tokens(text.size());
  std::transform(text.begin(), text.end(), tokens.begin(),
                 [](char c) { return static_cast<std::int32_t>(static_cast<unsigned char>(c)); });
  return tokens;
}

CompletionRequest parse_generation_fields(const nlohmann::json& body, const CompletionLimits& limits,
                                          const char* max_tokens_field, int default_max_tokens) {
  if (!body.is_object()) throw bad("", "the request body must be a JSON object");
  CompletionRequest request;
  request.model = string_field(body, "model");
  if (request.model != limits.model_id)
    throw GatewayError(404, "model_not_found", "the model '" + request.model + "' does not exist; this gateway serves '" +
                                                   limits.model_id + "'", "model");
  const std::string field = max_tokens_field;
  const double max_tokens = number_field(body, max_tokens_field, default_max_tokens, 1, 1e18);
  if (max_tokens != std::floor(max_tokens)) throw bad(field, "'" + field + "' must be an integer");
  if (max_tokens > limits.max_tokens)
    throw bad(field, "'" + field + "' is " + nlohmann::json(max_tokens).dump() + "; at most " +
                         std::to_string(limits.max_tokens) + " tokens can be generated per request");
  request.max_tokens = static_cast<int>(max_tokens);
  request.temperature = number_field(body, "temperature", 1.0, 0.0, 2.0);
  request.top_p = number_field(body, "top_p", 1.0, 0.0, 1.0);
  if (request.top_p == 0.0) throw bad("top_p", "'top_p' must be greater than 0");
  if (const auto n = body.find("n"); n != body.end() && !n->is_null() && *n != 1)
    throw bad("n", "only one completion per request is supported ('n' must be 1)");
  if (const auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
    if (stop->is_string()) {
      request.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= 4) {
      for (const auto& item : *stop) {
        if (!item.is_string()) throw bad("stop", "'stop' must be a string or an array of up to 4 strings");
        request.stop.push_back(item.get<std::string>());
      }
    } else {
      throw bad("stop", "'stop' must be a string or an array of up to 4 strings");
    }
    for (const auto& s : request.stop) {
      if (s.empty()) throw bad("stop", "stop sequences must not be empty");
      if (!valid_utf8(s)) throw bad("stop", "stop sequences must be valid UTF-8");
    }
  }
  if (const auto stream = body.find("stream"); stream != body.end() && !stream->is_null()) {
    if (!stream->is_boolean()) throw bad("stream", "'stream' must be true or false");
    request.stream = stream->get<bool>();
  }
  if (const auto seed = body.find("seed"); seed != body.end() && !seed->is_null()) {
    if (!seed->is_number_integer()) throw bad("seed", "'seed' must be an integer");
    request.seed = seed->get<std::uint64_t>();
  }
  return request;
}

void set_prompt(CompletionRequest& request, std::string prompt, const CompletionLimits& limits, const std::string& param) {
  if (prompt.empty()) throw bad(param, "'" + param + "' must not be empty");
  if (prompt.size() > limits.max_prompt_bytes || prompt.size() > static_cast<std::size_t>(limits.context))
    throw bad(param, "the prompt is " + std::to_string(prompt.size()) + " tokens; this model's context is " +
                         std::to_string(limits.context) + " tokens");
  if (!valid_utf8(prompt)) throw bad(param, "'" + param + "' is not valid UTF-8");
  request.prompt_tokens = tokenize(prompt);
  request.prompt = std::move(prompt);
}

CompletionRequest parse_completion_request(const nlohmann::json& body, const CompletionLimits& limits) {
  auto request = parse_generation_fields(body, limits, "max_tokens", 16);
  const auto prompt = body.find("prompt");
  if (prompt == body.end()) throw bad("prompt", "'prompt' is required");
  if (prompt->is_array()) {
    if (prompt->size() != 1 || !(*prompt)[0].is_string())
      throw bad("prompt", "'prompt' must be a string (or an array holding exactly one string)");
    set_prompt(request, (*prompt)[0].get<std::string>(), limits, "prompt");
  } else if (prompt->is_string()) {
    set_prompt(request, prompt->get<std::string>(), limits, "prompt");
  } else {
    throw bad("prompt", "'prompt' must be a string");
  }
  return request;
}

std::int32_t sample_token(const std::vector<float>& logits, double temperature, double top_p, std::mt19937_64& rng) {
  if (logits.empty()) throw GatewayError(503, "service_unavailable", "the model returned no logits");
  for (const float value : logits)
    if (!std::isfinite(value)) throw GatewayError(503, "service_unavailable", "the model returned non-finite logits");
  const auto best = std::max_element(logits.begin(), logits.end());
  if (temperature == 0.0) return static_cast<std::int32_t>(best - logits.begin());

  std::vector<double> probability(logits.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    probability[i] = std::exp((static_cast<double>(logits[i]) - *best) / temperature);
    sum += probability[i];
  }
  std::vector<std::size_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return probability[a] > probability[b]; });
  std::size_t keep = 0;
  double mass = 0.0;
  while (keep < order.size()) {
    mass += probability[order[keep]] / sum;
    ++keep;
    if (mass >= top_p) break;
  }
  double draw = std::uniform_real_distribution<double>(0.0, mass * sum)(rng);
  for (std::size_t k = 0; k < keep; ++k) {
    draw -= probability[order[k]];
    if (draw <= 0.0) return static_cast<std::int32_t>(order[k]);
  }
  return static_cast<std::int32_t>(order[keep - 1]);
}

std::string CompletionText::push(std::int32_t token) {
  if (stopped_) return {};
  pending_.push_back(static_cast<char>(static_cast<unsigned char>(token & 0xFF)));
  std::size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, pending_.find(s));
  if (cut != std::string::npos) {
    pending_.resize(cut);
    stopped_ = true;
    return finish();
  }
  // Hold back a tail that could still grow into a stop sequence.
  std::size_t hold = 0;
  for (const auto& s : stop_)
    for (std::size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  return release(pending_.size() - hold);
}

std::string CompletionText::finish() {
  std::string out = release(pending_.size());
  if (!pending_.empty()) {  // an incomplete character at the very end
    out += kReplacement;
    text_ += kReplacement;
    pending_.clear();
  }
  return out;
}

std::string CompletionText::release(std::size_t count) {
  std::string out;
  std::size_t i = 0;
  while (i < count) {
    const int n = utf8_length(static_cast<unsigned char>(pending_[i]));
    if (n > 1 && i + static_cast<std::size_t>(n) > pending_.size()) {
      // Possibly the start of a character still being generated: wait, unless already broken.
      bool broken = false;
      for (std::size_t k = i + 1; k < pending_.size(); ++k)
        if ((static_cast<unsigned char>(pending_[k]) & 0xC0) != 0x80) broken = true;
      if (!broken) break;
    }
    if (n == 0 || i + static_cast<std::size_t>(n) > pending_.size() || !valid_char(pending_, i, n)) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (i + static_cast<std::size_t>(n) > count) break;
    out.append(pending_, i, static_cast<std::size_t>(n));
    i += static_cast<std::size_t>(n);
  }
  pending_.erase(0, i);
  text_ += out;
  return out;
}

}  // namespace tessera::hub
