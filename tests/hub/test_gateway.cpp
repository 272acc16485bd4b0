// The OpenAI-compatible gateway over HTTP on loopback: /v1/models, completions plain and streamed
// (server-sent events ending in [DONE]), OpenAI-shaped 4xx errors, optional API keys, usage
// metering, and a 503 within the bounded wait when the swarm cannot answer. The token source
// here is a fixed next-token table standing in for the swarm, whose real path is tested in the
// loopback swarm test; this suite pins the HTTP contract.
#include <QtTest>

#include <atomic>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/hub/gateway.h"
#include "core/hub/gateway_controller.h"

using namespace tessera;
using nlohmann::json;

namespace {

// "Counts": after a digit d the most likely next byte is d + 1 (mod 10); after anything else '0'.
class CountingSource : public hub::NextTokenSource {
 public:
  std::vector<float> next_token_logits(const std::vector<std::int32_t>& tokens, std::chrono::milliseconds) override {
    ++calls;
    last_length = tokens.size();
    if (fail_after >= 0 && calls > fail_after) throw std::runtime_error("stage 1 stopped answering");
    std::vector<float> logits(256, 0.0f);
    const int last = tokens.back();
    logits[last >= '0' && last <= '9' ? '0' + (last - '0' + 1) % 10 : '0'] = 20.0f;
    return logits;
  }
  std::atomic<int> calls{0};
  std::atomic<std::size_t> last_length{0};
  int fail_after = -1;
};

struct Fixture {
  CountingSource source;
  std::vector<hub::Usage> metered;
  std::mutex mutex;
  std::unique_ptr<hub::Gateway> gateway;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  explicit Fixture(std::vector<std::string> keys = {}) {
    hub::GatewayOptions options;
    options.limits.model_id = "tessera-demo";
    options.limits.context = 16;
    options.limits.max_tokens = 64;
    options.api_keys = std::move(keys);
    options.open = true;  // without keys, as the local demo runs it (closed by default: test_hub_http)
    gateway = std::make_unique<hub::Gateway>(options, source, [this](const hub::Usage& usage) {
      std::lock_guard lock(mutex);
      metered.push_back(usage);
    });
    hub::GatewayController(*gateway).mount(server);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~Fixture() {
    server.stop();
    thread.join();
  }
  // httplib's Client must not be moved: hand out a pointer.
  std::unique_ptr<httplib::Client> client(const std::string& key = {}) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(std::chrono::seconds(10));
    if (!key.empty()) c->set_bearer_token_auth(key);
    return c;
  }
};

json parse(const std::string& body) { return json::parse(body); }

}  // namespace

class TestGateway : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void listsTheModel() {
    Fixture f;
    auto response = f.client()->Get("/v1/models");
    QVERIFY(response);
    QCOMPARE(response->status, 200);
    const auto body = parse(response->body);
    QCOMPARE(body["object"], "list");
    QCOMPARE(body["data"][0]["id"], "tessera-demo");
  }

  void completesAndMeters() {
    Fixture f;
    const json request{{"model", "tessera-demo"}, {"prompt", "count: 3"}, {"max_tokens", 5}, {"temperature", 0}};
    auto response = f.client()->Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(response);
    QCOMPARE(response->status, 200);
    const auto body = parse(response->body);
    QCOMPARE(body["object"], "text_completion");
    QCOMPARE(body["choices"][0]["text"], "45678");
    QCOMPARE(body["choices"][0]["finish_reason"], "length");
    QCOMPARE(body["usage"]["prompt_tokens"], 8);
    QCOMPARE(body["usage"]["completion_tokens"], 5);
    QCOMPARE(body["usage"]["total_tokens"], 13);
    QCOMPARE(f.metered.size(), std::size_t(1));
    QCOMPARE(f.metered[0].total(), std::uint64_t(13));
    // The model never sees more than its context: the window slides.
    const json longer{{"model", "tessera-demo"}, {"prompt", "0123456789abcde"}, {"max_tokens", 10}, {"temperature", 0}};
    response = f.client()->Post("/v1/completions", longer.dump(), "application/json");
    QCOMPARE(response->status, 200);
    QCOMPARE(f.source.last_length.load(), std::size_t(16));
  }

  void stopsAtAStopSequence() {
    Fixture f;
    const json request{{"model", "tessera-demo"}, {"prompt", "7"}, {"max_tokens", 20}, {"temperature", 0}, {"stop", "1"}};
    auto response = f.client()->Post("/v1/completions", request.dump(), "application/json");
    QCOMPARE(response->status, 200);
    const auto body = parse(response->body);
    QCOMPARE(body["choices"][0]["text"], "890");
    QCOMPARE(body["choices"][0]["finish_reason"], "stop");
    QCOMPARE(body["usage"]["completion_tokens"], 4);  // the stop sequence's token was generated and is metered
  }

  void streamsServerSentEvents() {
    Fixture f;
    const json request{{"model", "tessera-demo"}, {"prompt", "5"}, {"max_tokens", 3}, {"temperature", 0}, {"stream", true}};
    auto response = f.client()->Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(response);
    QCOMPARE(response->status, 200);
    QVERIFY(response->get_header_value("Content-Type").find("text/event-stream") == 0);
    std::string text;
    std::vector<std::string> events;
    std::size_t start = 0;
    while ((start = response->body.find("data: ", start)) != std::string::npos) {
      const auto end = response->body.find("\n\n", start);
      events.push_back(response->body.substr(start + 6, end - start - 6));
      start = end;
    }
    QVERIFY(events.size() >= 3);
    QCOMPARE(events.back(), std::string("[DONE]"));
    for (std::size_t i = 0; i + 1 < events.size(); ++i) text += parse(events[i])["choices"][0]["text"].get<std::string>();
    QCOMPARE(text, std::string("678"));
    const auto last = parse(events[events.size() - 2]);
    QCOMPARE(last["choices"][0]["finish_reason"], "length");
    QCOMPARE(last["usage"]["total_tokens"], 4);
    QCOMPARE(f.metered.size(), std::size_t(1));
  }

  void refusesBadRequestsWithOpenAiErrors() {
    Fixture f;
    const auto post = [&](const std::string& body) { return f.client()->Post("/v1/completions", body, "application/json"); };
    for (const auto& [body, status] : std::vector<std::pair<std::string, int>>{
             {"{not json", 400},
             {json{{"prompt", "x"}}.dump(), 400},
             {json{{"model", "tessera-demo"}}.dump(), 400},
             {json{{"model", "nope"}, {"prompt", "x"}}.dump(), 404},
             {json{{"model", "tessera-demo"}, {"prompt", "x"}, {"max_tokens", 100000}}.dump(), 400},
             {json{{"model", "tessera-demo"}, {"prompt", std::string(17, 'x')}}.dump(), 400},
             {std::string("{\"model\":\"tessera-demo\",\"prompt\":\"\xff\"}"), 400},
         }) {
      auto response = post(body);
      QVERIFY(response);
      QCOMPARE(response->status, status);
      const auto error = parse(response->body);
      QVERIFY(error["error"]["message"].is_string());
      QVERIFY(!error["error"]["message"].get<std::string>().empty());
      QVERIFY(error["error"]["type"].is_string());
    }
    QCOMPARE(f.source.calls.load(), 0);
    QVERIFY(f.metered.empty());
  }

  void answers503WhenTheSwarmDrops() {
    Fixture f;
    f.source.fail_after = 2;
    const json request{{"model", "tessera-demo"}, {"prompt", "1"}, {"max_tokens", 10}};
    auto response = f.client()->Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(response);
    QCOMPARE(response->status, 503);
    QVERIFY(parse(response->body)["error"]["message"].get<std::string>().find("stage 1") != std::string::npos);
    QVERIFY(f.metered.empty());  // nothing served, nothing charged
    // Streaming: the failure arrives as an error event, then [DONE].
    f.source.calls = 0;
    auto streamed = f.client()->Post("/v1/completions", json{{"model", "tessera-demo"}, {"prompt", "1"}, {"max_tokens", 10}, {"stream", true}}.dump(), "application/json");
    QVERIFY(streamed);
    QVERIFY(streamed->body.find("\"error\"") != std::string::npos);
    QVERIFY(streamed->body.find("data: [DONE]") != std::string::npos);
    QVERIFY(f.metered.empty());
  }

  void requiresAKeyWhenConfigured() {
    Fixture f({"sk-test-1"});
    QCOMPARE(f.client()->Get("/v1/models")->status, 401);
    QCOMPARE(f.client("wrong")->Get("/v1/models")->status, 401);
    QCOMPARE(f.client("sk-test-1")->Get("/v1/models")->status, 200);
    const json request{{"model", "tessera-demo"}, {"prompt", "1"}, {"max_tokens", 1}};
    QCOMPARE(f.client()->Post("/v1/completions", request.dump(), "application/json")->status, 401);
    auto allowed = f.client("sk-test-1")->Post("/v1/completions", request.dump(), "application/json");
    QVERIFY2(allowed->status == 200, allowed->body.c_str());
  }
};

QTEST_APPLESS_MAIN(TestGateway)
#include "test_gateway.moc"
