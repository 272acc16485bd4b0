// /v1/completions without HTTP: every field validated with an OpenAI-shaped error naming it,
// sampling (greedy, temperature, nucleus), stop sequences and UTF-8-safe streaming of byte tokens.
#include <QtTest>

#include <map>

#include <nlohmann/json.hpp>

#include "core/hub/completion.h"

using namespace tessera::hub;
using nlohmann::json;

namespace {

CompletionLimits limits() {
  CompletionLimits l;
  l.model_id = "tessera-demo";
  l.context = 64;
  l.max_tokens = 100;
  return l;
}

// The status and param of the error a body is refused with (0 when it is accepted).
std::pair<int, std::string> refusal(const json& body) {
  try {
    parse_completion_request(body, limits());
    return {0, ""};
  } catch (const GatewayError& error) {
    const auto shape = error_body(error);
    if (!shape.contains("error") || !shape["error"].contains("message") || !shape["error"].contains("type"))
      return {-1, "bad shape"};
    return {error.status(), error.param()};
  }
}

std::vector<std::int32_t> bytes(const std::string& text) { return tokenize(text); }

std::string run(CompletionText& text, const std::string& generated) {
  std::string out;
  for (const auto token : bytes(generated)) out += text.push(token);
  return out + text.finish();
}

}  // namespace

class TestCompletion : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void acceptsAWellFormedRequest() {
    const auto request = parse_completion_request(
        {{"model", "tessera-demo"}, {"prompt", "12+7="}, {"max_tokens", 5}, {"temperature", 0}, {"top_p", 0.9},
         {"stop", {"\n", "."}}, {"stream", true}, {"seed", 7}},
        limits());
    QCOMPARE(request.prompt_tokens, bytes("12+7="));
    QCOMPARE(request.max_tokens, 5);
    QCOMPARE(request.temperature, 0.0);
    QCOMPARE(request.top_p, 0.9);
    QCOMPARE(request.stop.size(), std::size_t(2));
    QVERIFY(request.stream);
    QCOMPARE(*request.seed, std::uint64_t(7));
    // Defaults, and a prompt given as a one-string array.
    const auto plain = parse_completion_request({{"model", "tessera-demo"}, {"prompt", {"hi"}}}, limits());
    QCOMPARE(plain.max_tokens, 16);
    QCOMPARE(plain.temperature, 1.0);
    QVERIFY(!plain.stream);
  }

  void refusesBadRequestsNamingTheField() {
    const json good{{"model", "tessera-demo"}, {"prompt", "1+1="}};
    auto with = [&](const char* key, const json& value) {
      auto body = good;
      body[key] = value;
      return body;
    };
    QCOMPARE(refusal(good).first, 0);
    QCOMPARE(refusal(json::array()), std::make_pair(400, std::string()));
    QCOMPARE(refusal({{"prompt", "x"}}), std::make_pair(400, std::string("model")));
    QCOMPARE(refusal(with("model", "gpt-4")), std::make_pair(404, std::string("model")));
    QCOMPARE(refusal({{"model", "tessera-demo"}}), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", 5)), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", "")), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", json::array({"a", "b"}))), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", std::string(65, 'x'))), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", std::string("\xC3\x28"))), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("prompt", std::string("\xED\xA0\x80"))), std::make_pair(400, std::string("prompt")));
    QCOMPARE(refusal(with("max_tokens", 101)), std::make_pair(400, std::string("max_tokens")));
    QCOMPARE(refusal(with("max_tokens", 1e12)), std::make_pair(400, std::string("max_tokens")));
    QCOMPARE(refusal(with("max_tokens", 0)), std::make_pair(400, std::string("max_tokens")));
    QCOMPARE(refusal(with("max_tokens", 2.5)), std::make_pair(400, std::string("max_tokens")));
    QCOMPARE(refusal(with("max_tokens", "10")), std::make_pair(400, std::string("max_tokens")));
    QCOMPARE(refusal(with("temperature", 3)), std::make_pair(400, std::string("temperature")));
    QCOMPARE(refusal(with("temperature", -0.1)), std::make_pair(400, std::string("temperature")));
    QCOMPARE(refusal(with("top_p", 0)), std::make_pair(400, std::string("top_p")));
    QCOMPARE(refusal(with("top_p", 1.5)), std::make_pair(400, std::string("top_p")));
    QCOMPARE(refusal(with("n", 2)), std::make_pair(400, std::string("n")));
    QCOMPARE(refusal(with("stop", json::array({"a", "b", "c", "d", "e"}))), std::make_pair(400, std::string("stop")));
    QCOMPARE(refusal(with("stop", "")), std::make_pair(400, std::string("stop")));
    QCOMPARE(refusal(with("stop", 3)), std::make_pair(400, std::string("stop")));
    QCOMPARE(refusal(with("stream", "yes")), std::make_pair(400, std::string("stream")));
    QCOMPARE(refusal(with("seed", "x")), std::make_pair(400, std::string("seed")));
  }

  void validUtf8IsStrict() {
    QVERIFY(valid_utf8("plain ascii"));
    QVERIFY(valid_utf8("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"));
    QVERIFY(!valid_utf8("\xC0\xAF"));          // overlong
    QVERIFY(!valid_utf8("\xE0\x80\xAF"));      // overlong
    QVERIFY(!valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    QVERIFY(!valid_utf8("\xE2\x82"));          // truncated
    QVERIFY(!valid_utf8("\x80"));              // lone continuation
  }

  void greedyPicksTheLargestLogit() {
    std::mt19937_64 rng(1);
    std::vector<float> logits(256, 0.0f);
    logits[42] = 5.0f;
    QCOMPARE(sample_token(logits, 0.0, 1.0, rng), 42);
    // A tiny nucleus keeps only the most likely token, whatever the temperature.
    for (int i = 0; i < 50; ++i) QCOMPARE(sample_token(logits, 2.0, 0.01, rng), 42);
  }

  void samplingFollowsTheDistribution() {
    std::mt19937_64 rng(7);
    // Three tokens with probabilities 0.5, 0.3, 0.2 at temperature 1.
    const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    std::map<int, int> counts;
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) ++counts[sample_token(logits, 1.0, 1.0, rng)];
    QVERIFY(std::abs(counts[0] / double(draws) - 0.5) < 0.02);
    QVERIFY(std::abs(counts[1] / double(draws) - 0.3) < 0.02);
    QVERIFY(std::abs(counts[2] / double(draws) - 0.2) < 0.02);
    // top_p = 0.8 keeps the first two (0.5 + 0.3), renormalised to 0.625 / 0.375.
    counts.clear();
    for (int i = 0; i < draws; ++i) ++counts[sample_token(logits, 1.0, 0.8, rng)];
    QCOMPARE(counts[2], 0);
    QVERIFY(std::abs(counts[0] / double(draws) - 0.625) < 0.02);
    // Broken logits are the swarm's fault: 503, not the client's.
    std::vector<float> broken{1.0f, std::nanf("")};
    try {
      sample_token(broken, 1.0, 1.0, rng);
      QFAIL("non-finite logits accepted");
    } catch (const GatewayError& error) {
      QCOMPARE(error.status(), 503);
    }
  }

  void stopSequencesCutTheText() {
    CompletionText text({"\n", "END"});
    QCOMPARE(run(text, "502\nmore"), std::string("502"));
    QVERIFY(text.stopped());
    QCOMPARE(text.text(), std::string("502"));
    CompletionText across({"END"});
    std::string streamed;
    for (const auto token : bytes("abcENxENDzz")) streamed += across.push(token);
    QCOMPARE(streamed, std::string("abcENx"));  // "EN" was held back until it could not become "END"
    QVERIFY(across.stopped());
    CompletionText none({});
    QCOMPARE(run(none, "no stop here"), std::string("no stop here"));
    QVERIFY(!none.stopped());
  }

  void multiByteCharactersAreNeverSplit() {
    CompletionText text({});
    const std::string euro = "\xE2\x82\xAC";
    QCOMPARE(text.push(0xE2), std::string());
    QCOMPARE(text.push(0x82), std::string());
    QCOMPARE(text.push(0xAC), euro);
    // Invalid bytes become U+FFFD; a truncated tail at the end too.
    CompletionText broken({});
    std::string out = broken.push(0xFF);
    out += broken.push('a');
    out += broken.push(0xE2);
    out += broken.finish();
    QCOMPARE(out, std::string("\xEF\xBF\xBD" "a" "\xEF\xBF\xBD"));
    QVERIFY(valid_utf8(out));
  }
};

QTEST_APPLESS_MAIN(TestCompletion)
#include "test_completion.moc"
