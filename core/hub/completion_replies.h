// What the gateway answers a completion with, for each route: the whole reply, and the events of
// a stream (the controller frames them as server-sent events and ends with `data: [DONE]`).
// /v1/completions answers `text_completion` objects; /v1/chat/completions a `chat.completion`,
// or `chat.completion.chunk`s: the assistant's role, the text, the finish reason with the usage,
// then (stream_options.include_usage) the usage alone. Every reply carries the usage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/completion.h"

namespace tessera::hub {

nlohmann::json usage_json(const Usage& usage);

class CompletionReplies {
 public:
  virtual ~CompletionReplies() = default;
  // A reply sent whole.
  virtual nlohmann::json whole(const std::string& text, const std::string& finish, const Usage& usage) const = 0;
  // A stream's events before its text, one per piece of text, and after the text.
  virtual std::vector<nlohmann::json> opening() const { return {}; }
  virtual nlohmann::json piece(const std::string& text) const = 0;
  virtual std::vector<nlohmann::json> closing(const std::string& finish, const Usage& usage) const = 0;

  const std::string& id() const { return id_; }

 protected:
  // `id_prefix`: "cmpl-" or "chatcmpl-", followed by random hex and a counter.
  CompletionReplies(const std::string& id_prefix, std::string model);
  nlohmann::json head(const char* object) const;  // id, object, created, model

 private:
  std::string id_;
  std::int64_t created_;
  std::string model_;
};

class TextCompletionReplies final : public CompletionReplies {
 public:
  explicit TextCompletionReplies(std::string model) : CompletionReplies("cmpl-", std::move(model)) {}
  nlohmann::json whole(const std::string& text, const std::string& finish, const Usage& usage) const override;
  nlohmann::json piece(const std::string& text) const override;
  std::vector<nlohmann::json> closing(const std::string& finish, const Usage& usage) const override;

 private:
  nlohmann::json chunk(const std::string& text, const nlohmann::json& finish) const;
};

class ChatCompletionReplies final : public CompletionReplies {
 public:
  ChatCompletionReplies(std::string model, bool include_usage)
      : CompletionReplies("chatcmpl-", std::move(model)), include_usage_(include_usage) {}
  nlohmann::json whole(const std::string& text, const std::string& finish, const Usage& usage) const override;
  std::vector<nlohmann::json> opening() const override;
  nlohmann::json piece(const std::string& text) const override;
  std::vector<nlohmann::json> closing(const std::string& finish, const Usage& usage) const override;

 private:
  nlohmann::json chunk(nlohmann::json delta, const nlohmann::json& finish) const;
  bool include_usage_;
};

}  // namespace tessera::hub
