// Inference through a real swarm (docs/gateway.md "Inference through the swarm"): a hub with its
// gateway and three in-process stage nodes of a run whose training is done, so the weights stay put.
// Greedy generation through the stages' KV caches equals the same stages computing every window
// whole, token for token; sixteen concurrent streaming clients all complete, each with exactly the
// text it gets alone, in shared rounds, while the hub's API keeps answering; the last stage keeps
// few sequences (a small cache), so sequences it lost are sent again and still come out the same;
// a stage stopped mid-generation ends the stream cleanly, and the restarted stage serves again.
#include <QtTest>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/hub/hub_service.h"
#include "core/hub/swarm_inference.h"
#include "core/node/swarm_node.h"
#include "core/protocol/hub_api.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::wait_until;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr std::int64_t kSmallCache = 24 * 1024;  // the last stage: a few sequences at once

std::vector<std::int32_t> bytes_of(const std::string& text) {
  std::vector<std::int32_t> out;
  for (const unsigned char c : text) out.push_back(c);
  return out;
}

std::int32_t argmax(const std::vector<float>& logits) {
  return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The gap between the two largest logits: below it, float rounding may pick either.
float top_gap(std::vector<float> logits) {
  std::partial_sort(logits.begin(), logits.begin() + 2, logits.end(), std::greater<>());
  return logits[0] - logits[1];
}

// The text of a streamed completion's events, and whether it ended with [DONE] after a finish
// reason or an error event.
struct Streamed {
  std::string text;
  bool finished = false;
  bool error = false;
  bool done = false;
};

Streamed read_stream(const std::string& body) {
  Streamed out;
  std::size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const auto end = body.find("\n\n", at);
    const auto data = body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") {
      out.done = true;
      continue;
    }
    const auto event = json::parse(data);
    if (event.contains("error")) {
      out.error = true;
      continue;
    }
    const auto& choice = event["choices"][0];
    out.text += choice["text"].get<std::string>();
    if (!choice["finish_reason"].is_null()) out.finished = true;
  }
  return out;
}

}  // namespace

class TestSwarmInference : public QObject {
  Q_OBJECT

  wallet::KeyPair publisher_ = wallet::KeyPair::generate();  // publishes the run and is its hub key
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  protocol::RunManifest manifest_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<RunningNode> nodes_[3];

  node::SwarmNodeOptions options(const std::string& name, std::int64_t cache_bytes = 0) const {
    node::SwarmNodeOptions o;
    o.hub_url = hub_->url();
    o.data_dir = dir_.filePath(QString::fromStdString(name)).toStdString();
    o.threads = 1;
    o.heartbeat_every = 200ms;
    o.hop_timeout = 3000ms;
    o.inference_cache_bytes = cache_bytes;
    return o;
  }

  json complete(const std::string& prompt, int max_tokens, bool stream, httplib::Result* raw = nullptr) const {
    httplib::Client client("127.0.0.1", hub_->gateway_port());
    client.set_read_timeout(120s);
    const json request{{"model", manifest_.run_id}, {"prompt", prompt}, {"max_tokens", max_tokens},
                       {"temperature", 0}, {"stream", stream}};
    auto reply = client.Post(protocol::hub_api::kCompletions, request.dump(), "application/json");
    if (!reply) return json{{"status", 0}};
    json out{{"status", reply->status}, {"body", reply->body}};
    if (raw) *raw = std::move(reply);
    return out;
  }

  std::string text_alone(const std::string& prompt, int max_tokens) const {
    const auto reply = complete(prompt, max_tokens, false);
    if (reply["status"] != 200) return "<status " + reply["status"].dump() + ">";
    return json::parse(reply["body"].get<std::string>())["choices"][0]["text"].get<std::string>();
  }

 private Q_SLOTS:
  void initTestCase() {
    manifest_ = test::tiny_two_stage_manifest("inference-test");
    manifest_.stages = 3;
    manifest_.model.layers = 3;
    manifest_.model.context = 32;
    manifest_.train.total_steps = 2;  // then the weights stay as they are
    manifest_.codec = "none";
    manifest_.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest_, publisher_);
    hub::HubOptions hub_options;
    hub_options.hub_key = &publisher_;
    hub_options.open_gateway = true;
    hub_ = std::make_unique<hub::HubService>(manifest_, hub_options);
    hub_->start();
    for (int stage = 0; stage < 3; ++stage) {
      nodes_[stage] = std::make_unique<RunningNode>();
      nodes_[stage]->launch(owner_, options("node" + std::to_string(stage), stage == 2 ? kSmallCache : 0));
      QVERIFY(wait_until([&] { return nodes_[stage]->ready(); }, 60s));
      QCOMPARE(nodes_[stage]->node->stage(), stage);
    }
    QVERIFY(wait_until([&] { return nodes_[0]->node->stats().committed_steps >= 2; }, 120s));
  }

  void cleanupTestCase() {
    for (auto& node : nodes_) node.reset();
    hub_->stop();
  }

  // The cached path (next_logits: the prompt once, then one position a token, the window sent
  // whole again once it slides past the context) against every window computed whole.
  void greedyWithTheCacheEqualsTheStagesWithout() {
    hub::SwarmInference swarm(hub_->directory(), manifest_, publisher_);
    std::uint64_t session = 41;
    for (const std::string prompt : {"12+34=", "7*8=56, 9*9=", "a prompt of twenty-six bytes"}) {
      auto tokens = bytes_of(prompt);
      ++session;
      for (int generated = 0; generated < 24; ++generated) {
        std::vector<std::int32_t> window(tokens.end() - std::min<std::ptrdiff_t>(tokens.size(), 32), tokens.end());
        const auto whole = swarm.next_token_logits(window, 10s);
        const auto round = swarm.next_logits({{session, window}}, 10s);
        QVERIFY2(round[0].error.empty(), round[0].error.c_str());
        QCOMPARE(round[0].logits.size(), whole.size());
        float worst = 0;
        for (std::size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, std::abs(whole[i] - round[0].logits[i]));
        QVERIFY2(worst < 1e-4f, qPrintable(QString("logits differ by %1 at token %2").arg(worst).arg(generated)));
        if (top_gap(whole) > 1e-4f) QCOMPARE(argmax(round[0].logits), argmax(whole));
        tokens.push_back(argmax(whole));
      }
      swarm.end_sequence(session);
    }
    const auto stats = swarm.stats();
    // The first prompt's 24 tokens send 6 + 23 positions on the cached path, not 24 windows.
    QVERIFY(stats.positions < 3 * 24 * 32);
  }

  void sixteenStreamingClientsGetWhatEachGetsAlone() {
    std::vector<std::string> prompts, alone;
    for (int i = 0; i < 16; ++i) prompts.push_back(std::to_string(i * 7 + 3) + "+" + std::to_string(i) + "=");
    for (const auto& prompt : prompts) alone.push_back(text_alone(prompt, 16));
    const auto before = hub_->health()["inference"];

    std::atomic<bool> streaming{true};
    std::atomic<double> slowest_health_ms{0};
    std::thread watcher([&] {  // the hub's API keeps answering while the gateway is busy
      httplib::Client api("127.0.0.1", hub_->port());
      api.set_read_timeout(5s);
      while (streaming) {
        const auto start = std::chrono::steady_clock::now();
        const auto reply = api.Get(protocol::hub_api::kHealth);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        slowest_health_ms = std::max(slowest_health_ms.load(), reply && reply->status == 200 ? ms : 1e9);
        std::this_thread::sleep_for(50ms);
      }
    });
    std::vector<std::future<json>> clients;
    for (const auto& prompt : prompts)
      clients.push_back(std::async(std::launch::async, [&, prompt] { return complete(prompt, 16, true); }));
    std::vector<json> replies;
    for (auto& client : clients) replies.push_back(client.get());
    streaming = false;
    watcher.join();

    for (std::size_t i = 0; i < prompts.size(); ++i) {
      QCOMPARE(replies[i]["status"].get<int>(), 200);
      const auto streamed = read_stream(replies[i]["body"].get<std::string>());
      QVERIFY(streamed.finished && streamed.done && !streamed.error);
      QCOMPARE(streamed.text, alone[i]);
    }
    const auto after = hub_->health()["inference"];
    const auto rounds = after["rounds"].get<double>() - before["rounds"].get<double>();
    const auto sequences = after["sequences"].get<double>() - before["sequences"].get<double>();
    qInfo("16 clients: %.0f sequence-tokens in %.0f rounds (%.1f a round), %d sent again, slowest health %.1f ms",
          sequences, rounds, sequences / rounds, after["resent"].get<int>(), slowest_health_ms.load());
    QVERIFY(sequences / rounds > 2.0);  // they were generated together
    QVERIFY(after["resent"].get<int>() > 0);  // the last stage's small cache lost some, sent again
    QVERIFY(slowest_health_ms < 2000);
  }

  void aStageStoppedMidGenerationEndsTheStreamCleanly() {
    const auto key = wallet::KeyPair::from_seed(nodes_[1]->key.seed());
    auto reply = std::async(std::launch::async, [&] { return complete("a long story: ", 512, true); });
    const auto rounds = hub_->health()["inference"]["rounds"].get<int>();
    QVERIFY(wait_until([&] { return hub_->health()["inference"]["rounds"].get<int>() > rounds + 5; }, 20s));
    nodes_[1].reset();  // stage 1 stops while the completion is generated
    QVERIFY(reply.wait_for(60s) == std::future_status::ready);  // never hangs
    const auto answer = reply.get();
    QCOMPARE(answer["status"].get<int>(), 200);
    const auto streamed = read_stream(answer["body"].get<std::string>());
    QVERIFY(streamed.done);
    QVERIFY(streamed.finished || streamed.error);
    qInfo("the stream ended %s after %zu bytes", streamed.error ? "with an error event" : "complete", streamed.text.size());

    nodes_[1] = std::make_unique<RunningNode>();
    nodes_[1]->key = wallet::KeyPair::from_seed(key.seed());  // the same node, restarted: its checkpoint, an empty cache
    nodes_[1]->launch(owner_, options("node1"));
    QVERIFY(wait_until([&] { return nodes_[1]->ready() && nodes_[1]->node->stage() == 1; }, 60s));
    json again;
    QVERIFY(wait_until([&] {
      again = complete("12+34=", 8, false);
      return again["status"] == 200;
    }, 30s));
    QCOMPARE(json::parse(again["body"].get<std::string>())["usage"]["completion_tokens"].get<int>(), 8);
  }
};

QTEST_GUILESS_MAIN(TestSwarmInference)
#include "test_swarm_inference.moc"
