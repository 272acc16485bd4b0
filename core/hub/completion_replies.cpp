// text_completion and chat.completion(.chunk) bodies.
#include "core/hub/completion_replies.h"

#include <array>
#include <atomic>
#include <chrono>

#include <sodium.h>

#include "core/wallet/encoding.h"

namespace tessera::hub {

namespace {

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string reply_id(const std::string& prefix) {
  static std::atomic<std::uint64_t> counter{0};
  std::array<std::uint8_t, 8> random{};
  randombytes_buf(random.data(), random.size());
  return prefix + wallet::to_hex(random) + "-" + std::to_string(++counter);
}

}  // namespace

nlohmann::json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.total()}};
}

CompletionReplies::CompletionReplies(const std::string& id_prefix, std::string model)
    : id_(reply_id(id_prefix)), created_(unix_seconds()), model_(std::move(model)) {}

nlohmann::json CompletionReplies::head(const char* object) const {
  return {{"id", id_}, {"object", object}, {"created", created_}, {"model", model_}};
}

nlohmann::json TextCompletionReplies::chunk(const std::string& text, const nlohmann::json& finish) const {
  auto body = head("text_completion");
  body["choices"] = {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}};
  return body;
}

nlohmann::json TextCompletionReplies::whole(const std::string& text, const std::string& finish,
                                            const Usage& usage) const {
  auto body = chunk(text, finish);
  body["usage"] = usage_json(usage);
  return body;
}

nlohmann::json TextCompletionReplies::piece(const std::string& text) const { return chunk(text, nullptr); }

std::vector<nlohmann::json> TextCompletionReplies::closing(const std::string& finish, const Usage& usage) const {
  return {whole("", finish, usage)};
}

nlohmann::json ChatCompletionReplies::chunk(nlohmann::json delta, const nlohmann::json& finish) const {
  auto body = head("chat.completion.chunk");
  body["choices"] = {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}}};
  return body;
}

nlohmann::json ChatCompletionReplies::whole(const std::string& text, const std::string& finish,
                                            const Usage& usage) const {
  auto body = head("chat.completion");
  body["choices"] = {{{"index", 0},
                      {"message", {{"role", "assistant"}, {"content", text}}},
                      {"logprobs", nullptr},
                      {"finish_reason", finish}}};
  body["usage"] = usage_json(usage);
  return body;
}

std::vector<nlohmann::json> ChatCompletionReplies::opening() const {
  return {chunk({{"role", "assistant"}, {"content", ""}}, nullptr)};
}

nlohmann::json ChatCompletionReplies::piece(const std::string& text) const {
  return chunk({{"content", text}}, nullptr);
}

std::vector<nlohmann::json> ChatCompletionReplies::closing(const std::string& finish, const Usage& usage) const {
  auto last = chunk(nlohmann::json::object(), finish);
  last["usage"] = usage_json(usage);
  if (!include_usage_) return {last};
  auto usage_only = head("chat.completion.chunk");
  usage_only["choices"] = nlohmann::json::array();
  usage_only["usage"] = usage_json(usage);
  return {last, usage_only};
}

}  // namespace tessera::hub
