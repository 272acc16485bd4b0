// The pure parts of POST /v1/chat/completions: the messages of a request, the chat template that
// renders them as one prompt for the byte-level model, and the fields official OpenAI clients send
// (validated; those with no effect here accepted and ignored, those that would change the reply
// and are not supported refused). No HTTP here: gateway_controller.h serves it, replies.h shapes
// the answers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/hub/completion.h"

namespace tessera::hub {

struct ChatMessage {
  std::string role;  // system, user or assistant ("developer" is read as system)
  std::string content;
};

inline constexpr std::size_t kMaxChatMessages = 64;
// Where the template starts a turn: generation stops there, so the model never writes the
// user's next turn.
inline constexpr char kChatTurnMarker[] = "\n<|";

// The chat template: each message as "<|role|>\n" + content + "\n", then "<|assistant|>\n" for
// the reply. E.g. [{system, "Be brief."}, {user, "Hi"}] renders as
// "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n".
std::string render_chat(const std::vector<ChatMessage>& messages);

struct ChatRequest {
  std::vector<ChatMessage> messages;
  CompletionRequest completion;  // the rendered prompt, with the turn marker among its stops
  bool include_usage = false;    // stream_options.include_usage: a last chunk with the usage alone
};

// Validates a /v1/chat/completions body as parse_completion_request does (the same GatewayError
// 400s naming the field, 404 for another model) and renders its messages; a rendered prompt
// longer than the context is refused (400, "messages"). `max_completion_tokens` is a synonym of
// `max_tokens` (default: the most a request may generate).
ChatRequest parse_chat_request(const nlohmann::json& body, const CompletionLimits& limits);

}  // namespace tessera::hub
