// /v1/chat/completions: the chat template, every field's validation (an OpenAI-shaped error naming
// it; the client fields with no effect here accepted), the reply and chunk shapes, and the route
// over HTTP on loopback: content, the turn marker as a stop, streams with and without
// stream_options.include_usage, usage in every reply, billing as for /v1/completions, and a
// failure mid-stream (an error event, then [DONE], nothing charged).
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/hub/chat.h"
#include "core/hub/completion_replies.h"
#include "tests/support/gateway_server.h"

using namespace tessera;
using namespace tessera::hub;
using nlohmann::json;

namespace {

CompletionLimits limits() {
  CompletionLimits l;
  l.model_id = "tessera-demo";
  l.context = 128;
  l.max_tokens = 100;
  return l;
}

json hello() { return {{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}}; }

json with(const char* key, const json& value) {
  auto body = hello();
  body[key] = value;
  return body;
}

json with_message(const json& message) {
  auto body = hello();
  body["messages"] = {message};
  return body;
}

// The status and param of the error a body is refused with (0 when it is accepted).
std::pair<int, std::string> refusal(const json& body) {
  try {
    parse_chat_request(body, limits());
    return {0, ""};
  } catch (const GatewayError& error) {
    const auto shape = error_body(error);
    if (!shape["error"]["message"].is_string() || shape["error"]["message"].get<std::string>().empty())
      return {-1, "bad shape"};
    return {error.status(), error.param()};
  }
}

std::pair<int, std::string> refused(int status, const std::string& param) { return {status, param}; }

json parse(const std::string& body) { return json::parse(body); }

}  // namespace

class TestChat : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void rendersTheTemplate() {
    QCOMPARE(render_chat({{"system", "Be brief."}, {"user", "Hi"}}),
             std::string("<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n"));
    QCOMPARE(render_chat({{"user", "2+2?"}, {"assistant", "4"}, {"user", "and 3+3?"}}),
             std::string("<|user|>\n2+2?\n<|assistant|>\n4\n<|user|>\nand 3+3?\n<|assistant|>\n"));
  }

  void parsesMessagesAndFields() {
    const json body{{"model", "tessera-demo"},
                    {"messages",
                     {{{"role", "developer"}, {"content", "Be brief."}},
                      {{"role", "user"}, {"name", "ann"}, {"content", {{{"type", "text"}, {"text", "2+"}}, {{"type", "text"}, {"text", "2?"}}}}}}},
                    {"max_completion_tokens", 7},
                    {"temperature", 0},
                    {"stop", "x"},
                    {"seed", 3},
                    {"stream", true},
                    {"stream_options", {{"include_usage", true}}},
                    {"user", "u-1"},
                    {"presence_penalty", 0.5},
                    {"frequency_penalty", -2},
                    {"logprobs", false},
                    {"response_format", {{"type", "text"}}},
                    {"n", 1},
                    {"metadata", {{"k", "v"}}}};
    const auto chat = parse_chat_request(body, limits());
    QCOMPARE(chat.messages.size(), std::size_t(2));
    QCOMPARE(chat.messages[0].role, std::string("system"));
    QCOMPARE(chat.messages[1].content, std::string("2+2?"));
    const std::string prompt = "<|system|>\nBe brief.\n<|user|>\n2+2?\n<|assistant|>\n";
    QCOMPARE(chat.completion.prompt, prompt);
    QCOMPARE(chat.completion.prompt_tokens, tokenize(prompt));
    QCOMPARE(chat.completion.max_tokens, 7);
    QCOMPARE(chat.completion.temperature, 0.0);
    QCOMPARE(chat.completion.stop, (std::vector<std::string>{"x", kChatTurnMarker}));
    QCOMPARE(*chat.completion.seed, std::uint64_t(3));
    QVERIFY(chat.completion.stream);
    QVERIFY(chat.include_usage);
    // Defaults: as many tokens as a request may generate, the turn marker as the only stop.
    const auto plain = parse_chat_request(hello(), limits());
    QCOMPARE(plain.completion.max_tokens, 100);
    QCOMPARE(plain.completion.stop, (std::vector<std::string>{kChatTurnMarker}));
    QVERIFY(!plain.completion.stream);
    QVERIFY(!plain.include_usage);
    QCOMPARE(parse_chat_request(with("max_tokens", 9), limits()).completion.max_tokens, 9);
    auto both = with("max_tokens", 9);
    both["max_completion_tokens"] = 9;
    QCOMPARE(parse_chat_request(both, limits()).completion.max_tokens, 9);
    auto no_usage = with("stream", true);
    no_usage["stream_options"] = {{"include_usage", false}};
    QVERIFY(!parse_chat_request(no_usage, limits()).include_usage);
    QCOMPARE(refusal(with("tools", json::array())).first, 0);
    QCOMPARE(refusal(with("tool_choice", "none")).first, 0);
    QCOMPARE(refusal(with("logit_bias", json::object())).first, 0);
  }

  void refusesBadRequestsNamingTheField() {
    QCOMPARE(refusal(json::array()), refused(400, ""));
    QCOMPARE(refusal({{"messages", hello()["messages"]}}), refused(400, "model"));
    QCOMPARE(refusal(with("model", "gpt-4o")), refused(404, "model"));
    auto none = hello();
    none.erase("messages");
    QCOMPARE(refusal(none), refused(400, "messages"));
    QCOMPARE(refusal(with("messages", "Hi")), refused(400, "messages"));
    QCOMPARE(refusal(with("messages", json::array())), refused(400, "messages"));
    QCOMPARE(refusal(with("messages", json(65, {{"role", "user"}, {"content", "a"}}))), refused(400, "messages"));
    auto roomy = limits();
    roomy.context = 1024;
    QCOMPARE(parse_chat_request(with("messages", json(64, {{"role", "user"}, {"content", ""}})), roomy).messages.size(),
             std::size_t(64));
    QCOMPARE(refusal(with_message("Hi")), refused(400, "messages[0]"));
    QCOMPARE(refusal(with_message({{"content", "Hi"}})), refused(400, "messages[0].role"));
    QCOMPARE(refusal(with_message({{"role", "robot"}, {"content", "Hi"}})), refused(400, "messages[0].role"));
    QCOMPARE(refusal(with_message({{"role", "tool"}, {"content", "Hi"}})), refused(400, "messages[0].role"));
    QCOMPARE(refusal(with_message({{"role", "user"}})), refused(400, "messages[0].content"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", 5}})), refused(400, "messages[0].content"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", std::string("\xC3\x28")}})),
             refused(400, "messages[0].content"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", {{"url", "x"}}}}}}})),
             refused(400, "messages[0].content"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", {{{"type", "text"}}}}})), refused(400, "messages[0].content"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", "Hi"}, {"name", 3}})), refused(400, "messages[0].name"));
    QCOMPARE(refusal(with_message({{"role", "assistant"}, {"content", "x"}, {"tool_calls", json::array({1})}})),
             refused(400, "messages[0].tool_calls"));
    // Longer than the context once rendered (128 tokens): the template's own 24 bytes count.
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", std::string(105, 'a')}})), refused(400, "messages"));
    QCOMPARE(refusal(with_message({{"role", "user"}, {"content", std::string(104, 'a')}})).first, 0);
    // The fields shared with /v1/completions.
    QCOMPARE(refusal(with("max_tokens", 101)), refused(400, "max_tokens"));
    QCOMPARE(refusal(with("max_completion_tokens", 0)), refused(400, "max_completion_tokens"));
    QCOMPARE(refusal(with("max_completion_tokens", 2.5)), refused(400, "max_completion_tokens"));
    auto differ = with("max_tokens", 5);
    differ["max_completion_tokens"] = 6;
    QCOMPARE(refusal(differ), refused(400, "max_tokens"));
    QCOMPARE(refusal(with("temperature", 2.5)), refused(400, "temperature"));
    QCOMPARE(refusal(with("top_p", 0)), refused(400, "top_p"));
    QCOMPARE(refusal(with("n", 2)), refused(400, "n"));
    QCOMPARE(refusal(with("stop", json::array({"a", "b", "c", "d", "e"}))), refused(400, "stop"));
    QCOMPARE(refusal(with("stop", "")), refused(400, "stop"));
    QCOMPARE(refusal(with("seed", "x")), refused(400, "seed"));
    QCOMPARE(refusal(with("stream", "yes")), refused(400, "stream"));
    // The OpenAI-client fields.
    QCOMPARE(refusal(with("stream_options", {{"include_usage", true}})), refused(400, "stream_options"));  // not streaming
    auto streamed = with("stream", true);
    streamed["stream_options"] = {{"include_usage", "yes"}};
    QCOMPARE(refusal(streamed), refused(400, "stream_options.include_usage"));
    streamed["stream_options"] = 1;
    QCOMPARE(refusal(streamed), refused(400, "stream_options"));
    QCOMPARE(refusal(with("user", 5)), refused(400, "user"));
    QCOMPARE(refusal(with("presence_penalty", 2.5)), refused(400, "presence_penalty"));
    QCOMPARE(refusal(with("frequency_penalty", "0")), refused(400, "frequency_penalty"));
    QCOMPARE(refusal(with("logprobs", true)), refused(400, "logprobs"));
    QCOMPARE(refusal(with("logprobs", 1)), refused(400, "logprobs"));
    QCOMPARE(refusal(with("top_logprobs", 2)), refused(400, "top_logprobs"));
    QCOMPARE(refusal(with("response_format", {{"type", "json_object"}})), refused(400, "response_format"));
    QCOMPARE(refusal(with("response_format", "text")), refused(400, "response_format"));
    QCOMPARE(refusal(with("tools", json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}}))), refused(400, "tools"));
    QCOMPARE(refusal(with("functions", json::array({{{"name", "f"}}}))), refused(400, "functions"));
    QCOMPARE(refusal(with("tool_choice", "auto")), refused(400, "tool_choice"));
    QCOMPARE(refusal(with("logit_bias", {{"50", 10}})), refused(400, "logit_bias"));
    QCOMPARE(refusal(with("parallel_tool_calls", "no")), refused(400, "parallel_tool_calls"));
  }

  void repliesHaveTheOpenAiShapes() {
    const Usage usage{12, 3};
    const ChatCompletionReplies chat("tessera-demo", /*include_usage*/ false);
    QVERIFY(chat.id().rfind("chatcmpl-", 0) == 0);
    const auto whole = chat.whole("abc", "stop", usage);
    QCOMPARE(whole["object"], "chat.completion");
    QCOMPARE(whole["id"], chat.id());
    QCOMPARE(whole["model"], "tessera-demo");
    QVERIFY(whole["created"].is_number_integer());
    QCOMPARE(whole["choices"].size(), std::size_t(1));
    QCOMPARE(whole["choices"][0]["index"], 0);
    QCOMPARE(whole["choices"][0]["message"], (json{{"role", "assistant"}, {"content", "abc"}}));
    QCOMPARE(whole["choices"][0]["finish_reason"], "stop");
    QVERIFY(whole["choices"][0]["logprobs"].is_null());
    QCOMPARE(whole["usage"], (json{{"prompt_tokens", 12}, {"completion_tokens", 3}, {"total_tokens", 15}}));

    const auto opening = chat.opening();
    QCOMPARE(opening.size(), std::size_t(1));
    QCOMPARE(opening[0]["object"], "chat.completion.chunk");
    QCOMPARE(opening[0]["id"], chat.id());
    QCOMPARE(opening[0]["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", ""}}));
    QVERIFY(opening[0]["choices"][0]["finish_reason"].is_null());
    const auto piece = chat.piece("ab");
    QCOMPARE(piece["choices"][0]["delta"], (json{{"content", "ab"}}));
    QVERIFY(piece["choices"][0]["finish_reason"].is_null());
    QVERIFY(!piece.contains("usage"));
    const auto closing = chat.closing("length", usage);
    QCOMPARE(closing.size(), std::size_t(1));
    QCOMPARE(closing[0]["choices"][0]["delta"], json::object());
    QCOMPARE(closing[0]["choices"][0]["finish_reason"], "length");
    QCOMPARE(closing[0]["usage"]["total_tokens"], 15);  // usage in every reply

    const ChatCompletionReplies with_usage("tessera-demo", /*include_usage*/ true);
    const auto last = with_usage.closing("stop", usage);
    QCOMPARE(last.size(), std::size_t(2));
    QCOMPARE(last[0]["choices"][0]["finish_reason"], "stop");
    QCOMPARE(last[1]["object"], "chat.completion.chunk");
    QCOMPARE(last[1]["choices"], json::array());
    QCOMPARE(last[1]["usage"]["prompt_tokens"], 12);
    QVERIFY(with_usage.id() != chat.id());

    const TextCompletionReplies text("tessera-demo");
    QVERIFY(text.id().rfind("cmpl-", 0) == 0);
    QCOMPARE(text.whole("x", "stop", usage)["object"], "text_completion");
    QCOMPARE(text.whole("x", "stop", usage)["choices"][0]["text"], "x");
    QVERIFY(text.opening().empty());
    QVERIFY(text.piece("y")["choices"][0]["finish_reason"].is_null());
    QCOMPARE(text.closing("length", usage)[0]["usage"]["completion_tokens"], 3);
  }

  void chatsOverHttpAndMeters() {
    test::GatewayServer f(/*open*/ true, 1000, limits());
    auto response = f.chat("", {{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "count"}}}},
                                {"max_tokens", 5}, {"temperature", 0}});
    QVERIFY(response);
    QCOMPARE(response->status, 200);
    auto body = parse(response->body);
    QCOMPARE(body["object"], "chat.completion");
    QVERIFY(body["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
    QCOMPARE(body["choices"][0]["message"]["role"], "assistant");
    QCOMPARE(body["choices"][0]["message"]["content"], "01234");  // after the template's "\n": '0', then counting
    QCOMPARE(body["choices"][0]["finish_reason"], "length");
    const auto prompt = render_chat({{"user", "count"}}).size();
    QCOMPARE(body["usage"]["prompt_tokens"], prompt);
    QCOMPARE(body["usage"]["completion_tokens"], 5);
    QCOMPARE(body["usage"]["total_tokens"], prompt + 5);
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(prompt + 5));

    // The model starting the user's next turn is stopped there.
    f.source.reply = "Hi there!\n<|user|>\nand you?";
    f.source.reply_from = prompt;
    response = f.chat("", {{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "count"}}}}, {"max_tokens", 40}});
    body = parse(response->body);
    QCOMPARE(body["choices"][0]["message"]["content"], "Hi there!");
    QCOMPARE(body["choices"][0]["finish_reason"], "stop");
    QCOMPARE(body["usage"]["completion_tokens"], 12);  // the marker's three tokens were generated
  }

  void streamsChunks() {
    test::GatewayServer f(true, 1000, limits());
    for (const bool include_usage : {false, true}) {
      json request{{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "7"}}}},
                   {"max_tokens", 4}, {"temperature", 0}, {"stream", true}};
      if (include_usage) request["stream_options"] = {{"include_usage", true}};
      auto response = f.chat("", request);
      QVERIFY(response);
      QCOMPARE(response->status, 200);
      QVERIFY(response->get_header_value("Content-Type").find("text/event-stream") == 0);
      const auto events = test::sse_events(response->body);
      QCOMPARE(events.back(), std::string("[DONE]"));
      std::vector<json> chunks;
      for (std::size_t i = 0; i + 1 < events.size(); ++i) chunks.push_back(parse(events[i]));
      QVERIFY(chunks.size() >= 3);
      for (const auto& chunk : chunks) {
        QCOMPARE(chunk["object"], "chat.completion.chunk");
        QCOMPARE(chunk["id"], chunks[0]["id"]);
      }
      QCOMPARE(chunks[0]["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", ""}}));
      const auto usage_chunks = include_usage ? 1u : 0u;
      const auto& finish = chunks[chunks.size() - 1 - usage_chunks];
      QCOMPARE(finish["choices"][0]["delta"], json::object());
      QCOMPARE(finish["choices"][0]["finish_reason"], "length");
      QCOMPARE(finish["usage"]["completion_tokens"], 4);
      std::string text;
      for (std::size_t i = 1; i + 1 + usage_chunks < chunks.size(); ++i) {
        QVERIFY(chunks[i]["choices"][0]["finish_reason"].is_null());
        text += chunks[i]["choices"][0]["delta"]["content"].get<std::string>();
      }
      QCOMPARE(text, std::string("0123"));
      if (include_usage) {
        QCOMPARE(chunks.back()["choices"], json::array());
        QCOMPARE(chunks.back()["usage"], finish["usage"]);
      }
    }
  }

  void refusesOverHttpWithOpenAiErrors() {
    test::GatewayServer f(/*open*/ false, 1000, limits());
    const auto key = f.keys.add("k", 1'000'000);
    const auto good = json{{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 2}};
    QCOMPARE(f.chat("", good)->status, 401);
    QCOMPARE(parse(f.chat("wrong", good)->body)["error"]["code"], "invalid_api_key");
    auto other = good;
    other["model"] = "gpt-4o";
    QCOMPARE(f.chat(key.key, other)->status, 404);
    auto tools = good;
    tools["tools"] = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
    auto refused = f.chat(key.key, tools);
    QCOMPARE(refused->status, 400);
    const auto error = parse(refused->body)["error"];
    QCOMPARE(error["type"], "invalid_request_error");
    QCOMPARE(error["param"], "tools");
    QVERIFY(error["message"].get<std::string>().find("not supported") != std::string::npos);
    QCOMPARE(f.client(key.key)->Post("/v1/chat/completions", "{not json", "application/json")->status, 400);
    QCOMPARE(f.source.calls.load(), 0);
    QCOMPARE(f.info(key.info.id).spent, std::int64_t(0));
  }

  // Paid exactly as /v1/completions: the tokens used at the run's price, whole or streamed; a
  // failure mid-stream is an error event, then [DONE], and costs nothing.
  void billsAsCompletionsDo() {
    test::GatewayServer f(/*open*/ false, /*price per 1k*/ 1000, limits());
    const auto key = f.keys.add("k", 1'000);
    const auto prompt = static_cast<std::int64_t>(render_chat({{"user", "Hi"}}).size());
    const json request{{"model", "tessera-demo"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 3}};
    QCOMPARE(f.chat(key.key, request)->status, 200);
    auto streamed = request;
    streamed["stream"] = true;
    QCOMPARE(f.chat(key.key, streamed)->status, 200);
    auto after = f.info(key.info.id);
    QCOMPARE(after.spent, 2 * (prompt + 3));
    QCOMPARE(after.balance, 1'000 - 2 * (prompt + 3));
    QCOMPARE(after.reserved, std::int64_t(0));
    QCOMPARE(f.revenue(), static_cast<std::uint64_t>(after.spent));

    f.source.fail_after = f.source.calls + 2;
    auto failed = f.chat(key.key, streamed);
    QVERIFY(failed);
    const auto events = test::sse_events(failed->body);
    QCOMPARE(events.back(), std::string("[DONE]"));
    QVERIFY(parse(events[events.size() - 2]).contains("error"));
    QCOMPARE(f.info(key.info.id).spent, after.spent);
    QCOMPARE(f.info(key.info.id).reserved, std::int64_t(0));

    // The most a request can cost is held: a balance below it is 402.
    const auto poor = f.keys.add("poor", prompt + 2);
    QCOMPARE(f.chat(poor.key, request)->status, 402);
  }
};

QTEST_APPLESS_MAIN(TestChat)
#include "test_chat.moc"
