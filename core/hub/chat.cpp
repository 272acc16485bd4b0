// Messages, the chat template and the OpenAI-client fields of /v1/chat/completions.
#include "core/hub/chat.h"


#include <nlohmann/json.hpp>

namespace tessera::hub {

namespace {

GatewayError bad(const std::string& param, const std::string& message) {
  return GatewayError(400, "invalid_request_error", message, param);
}

bool given(const nlohmann::json& body, const char* name) {
  const auto it = body.find(name);
  return it != body.end() && !it->is_null();
}

// A message's content: a string, or an array of {"type": "text", "text": …} parts joined.
std::string message_content(const nlohmann::json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw bad(param, "'" + param + "' must be a string or an array of text parts");
  std::string text;
  for (const auto& part : content) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      throw bad(param, "each part of '" + param + "' must be an object with a 'type'");
    const auto type = part["type"].get<std::string>();
    if (type != "text")
      throw bad(param, "content parts of type '" + type + "' are not supported; this model reads text parts only");
    if (!part.contains("text") || !part["text"].is_string())
      throw bad(param, "a text part of '" + param + "' needs a string 'text'");
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const nlohmann::json& body) {
  const auto messages = body.find("messages");
  if (messages == body.end()) throw bad("messages", "'messages' is required");
  if (!messages->is_array() || messages->empty() || messages->size() > kMaxChatMessages)
    throw bad("messages", "'messages' must be an array of 1 to " + std::to_string(kMaxChatMessages) + " messages");
  std::vector<ChatMessage> parsed;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const auto& message = (*messages)[i];
    const auto param = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) throw bad(param, "'" + param + "' must be an object with 'role' and 'content'");
    if (!message.contains("role") || !message["role"].is_string())
      throw bad(param + ".role", "'" + param + ".role' must be a string");
    auto role = message["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role == "tool" || role == "function")
      throw bad(param + ".role", "tool and function messages are not supported (this gateway has no tools)");
    if (role != "system" && role != "user" && role != "assistant")
      throw bad(param + ".role",
                "'" + param + ".role' must be system, developer, user or assistant, not '" + role + "'");
    for (const char* unsupported : {"tool_calls", "function_call"})
      if (given(message, unsupported))
        throw bad(param + "." + unsupported,
                  std::string("'") + unsupported + "' is not supported (this gateway has no tools)");
    if (given(message, "name") && !message["name"].is_string())
      throw bad(param + ".name", "'" + param + ".name' must be a string");
    if (!message.contains("content") || message["content"].is_null())
      throw bad(param + ".content", "'" + param + ".content' is required");
    auto content = message_content(message["content"], param + ".content");
    if (!valid_utf8(content)) throw bad(param + ".content", "'" + param + ".content' is not valid UTF-8");
    parsed.push_back({std::move(role), std::move(content)});
  }
  return parsed;
}

// Fields an official client may send that have no effect here: checked, then ignored, so that a
// mistake is still a 400; and those that would change the reply in ways this gateway cannot.
void check_client_fields(const nlohmann::json& body) {
  if (given(body, "user") && !body["user"].is_string()) throw bad("user", "'user' must be a string");
  for (const char* penalty : {"presence_penalty", "frequency_penalty"}) {
    if (!given(body, penalty)) continue;
    const auto& value = body[penalty];
    if (!value.is_number() || value.get<double>() < -2.0 || value.get<double>() > 2.0)
      throw bad(penalty, std::string("'") + penalty + "' must be a number between -2 and 2");
  }
  if (given(body, "logprobs")) {
    if (!body["logprobs"].is_boolean()) throw bad("logprobs", "'logprobs' must be true or false");
    if (body["logprobs"].get<bool>()) throw bad("logprobs", "'logprobs' is not supported; leave it false");
  }
  if (given(body, "top_logprobs")) throw bad("top_logprobs", "'top_logprobs' is not supported");
  if (given(body, "response_format")) {
    const auto& format = body["response_format"];
    if (!format.is_object() || !format.contains("type") || format["type"] != "text")
      throw bad("response_format", "only {\"type\": \"text\"} is supported as 'response_format'");
  }
  if (given(body, "logit_bias") && !(body["logit_bias"].is_object() && body["logit_bias"].empty()))
    throw bad("logit_bias", "'logit_bias' is not supported");
  for (const char* tools : {"tools", "functions"})
    if (given(body, tools) && !(body[tools].is_array() && body[tools].empty()))
      throw bad(tools, std::string("'") + tools + "' is not supported (this gateway has no tools)");
  for (const char* choice : {"tool_choice", "function_call"})
    if (given(body, choice) && body[choice] != "none")
      throw bad(choice, std::string("'") + choice + "' is not supported (this gateway has no tools)");
  if (given(body, "parallel_tool_calls") && !body["parallel_tool_calls"].is_boolean())
    throw bad("parallel_tool_calls", "'parallel_tool_calls' must be true or false");
}

// `max_completion_tokens`, or its older name `max_tokens`; both only when they agree.
const char* max_tokens_field(const nlohmann::json& body) {
  const bool completion = given(body, "max_completion_tokens");
  if (completion && given(body, "max_tokens") && body["max_tokens"] != body["max_completion_tokens"])
    throw bad("max_tokens", "'max_tokens' and 'max_completion_tokens' differ; give one of them");
  return completion ? "max_completion_tokens" : "max_tokens";
}

}  // namespace

std::string render_chat(const std::vector<ChatMessage>& messages) {
  std::string prompt;
  for (const auto& message : messages) prompt += "<|" + message.role + "|>\n" + message.content + "\n";
  return prompt + "<|assistant|>\n";
}

ChatRequest parse_chat_request(const nlohmann::json& body, const CompletionLimits& limits) {
  if (!body.is_object()) throw bad("", "the request body must be a JSON object");
  ChatRequest chat;
  chat.completion = parse_generation_fields(body, limits, max_tokens_field(body), limits.max_tokens);
  chat.messages = parse_messages(body);
  check_client_fields(body);
  if (given(body, "stream_options")) {
    const auto& options = body["stream_options"];
    if (!chat.completion.stream) throw bad("stream_options", "'stream_options' is only allowed when 'stream' is true");
    if (!options.is_object()) throw bad("stream_options", "'stream_options' must be an object");
    if (given(options, "include_usage")) {
      if (!options["include_usage"].is_boolean())
        throw bad("stream_options.include_usage", "'stream_options.include_usage' must be true or false");
      chat.include_usage = options["include_usage"].get<bool>();
    }
  }
  set_prompt(chat.completion, render_chat(chat.messages), limits, "messages");
  chat.completion.stop.emplace_back(kChatTurnMarker);
  return chat;
}

}  // namespace tessera::hub
