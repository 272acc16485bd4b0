// The OpenAI-compatible gateway over HTTP on loopback: /v1/models, completions plain and streamed
// (server-sent events ending in [DONE]), OpenAI-shaped 4xx errors, paid use with API keys (401
// without a live key, 402 beyond its balance, exact debits that are the epoch's revenue and split
// as before, no overdraft under concurrent requests, a failed completion costs nothing), demo usage
// on an open gateway that earns nothing, and a 503 within the bounded wait when the swarm cannot
// answer. The token source here is a fixed next-token table standing in for the swarm, whose real
// path is tested in the loopback swarm test; the billing is the hub's own (KeyBilling over an
// in-memory store): tests/support/gateway_server.h. /v1/chat/completions: test_hub_chat.
#include <QtTest>

#include <future>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/wallet/encoding.h"
#include "tests/support/gateway_server.h"

using namespace tessera;
using nlohmann::json;

namespace {

using Fixture = test::GatewayServer;

json parse(const std::string& body) { return json::parse(body); }

json counting(int max_tokens, bool stream = false) {
  return {{"model", "tessera-demo"}, {"prompt", "count: 3"}, {"max_tokens", max_tokens}, {"temperature", 0},
          {"stream", stream}};
}

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
    // Without a key on an open gateway: demo usage, shown, earning nothing.
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(13));
    QCOMPARE(f.book.open_epoch_json()["tokens"].get<std::uint64_t>(), std::uint64_t(0));
    QCOMPARE(f.revenue(), std::uint64_t(0));
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
    const auto events = test::sse_events(response->body);
    QVERIFY(events.size() >= 3);
    QCOMPARE(events.back(), std::string("[DONE]"));
    for (std::size_t i = 0; i + 1 < events.size(); ++i) text += parse(events[i])["choices"][0]["text"].get<std::string>();
    QCOMPARE(text, std::string("678"));
    const auto last = parse(events[events.size() - 2]);
    QCOMPARE(last["choices"][0]["finish_reason"], "length");
    QCOMPARE(last["usage"]["total_tokens"], 4);
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(4));
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
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(0));
  }

  void answers503WhenTheSwarmDrops() {
    Fixture f;
    f.source.fail_after = 2;
    const json request{{"model", "tessera-demo"}, {"prompt", "1"}, {"max_tokens", 10}};
    auto response = f.client()->Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(response);
    QCOMPARE(response->status, 503);
    QVERIFY(parse(response->body)["error"]["message"].get<std::string>().find("stage 1") != std::string::npos);
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(0));  // nothing served
    // Streaming: the failure arrives as an error event, then [DONE].
    f.source.calls = 0;
    auto streamed = f.client()->Post("/v1/completions", json{{"model", "tessera-demo"}, {"prompt", "1"}, {"max_tokens", 10}, {"stream", true}}.dump(), "application/json");
    QVERIFY(streamed);
    QVERIFY(streamed->body.find("\"error\"") != std::string::npos);
    QVERIFY(streamed->body.find("data: [DONE]") != std::string::npos);
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(0));
  }

  void closedGatewayRefusesMissingUnknownAndRevokedKeys() {
    Fixture f(/*open*/ false);
    const auto key = f.keys.add("alice", 1'000'000);
    const auto revoked = f.keys.add("bob", 1'000'000);
    f.keys.revoke(revoked.info.id);
    for (const std::string& presented : {std::string(), std::string("wrong"), std::string("tsk_") + std::string(64, '0'),
                                         revoked.key}) {
      QCOMPARE(f.client(presented)->Get("/v1/models")->status, 401);
      auto refused = f.complete(presented, counting(1));
      QCOMPARE(refused->status, 401);
      const auto error = parse(refused->body)["error"];
      QCOMPARE(error["type"], "invalid_api_key");
      QCOMPARE(error["code"], "invalid_api_key");
      QVERIFY(!error["message"].get<std::string>().empty());
    }
    QCOMPARE(f.source.calls.load(), 0);
    QCOMPARE(f.revenue(), std::uint64_t(0));
    QCOMPARE(f.book.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(0));
    QCOMPARE(f.client(key.key)->Get("/v1/models")->status, 200);
    auto allowed = f.complete(key.key, counting(1));
    QVERIFY2(allowed->status == 200, allowed->body.c_str());
    // An open gateway still refuses a key it does not know (only requests without one are demo usage).
    Fixture open;
    QCOMPARE(open.complete("wrong", counting(1))->status, 401);
    QCOMPARE(open.complete(revoked.key, counting(1))->status, 401);
  }

  void aBalanceBelowTheMaximumCostIs402() {
    Fixture f(false, /*price per 1k*/ 1000);  // 1 micro-unit per token
    const auto key = f.keys.add("small", 12);  // "count: 3" is 8 tokens: room for 4 more
    auto refused = f.complete(key.key, counting(5));
    QVERIFY(refused);
    QCOMPARE(refused->status, 402);
    const auto error = parse(refused->body)["error"];
    QCOMPARE(error["type"], "insufficient_quota");
    QCOMPARE(error["code"], "insufficient_quota");
    QVERIFY(error["message"].get<std::string>().find("balance") != std::string::npos);
    QCOMPARE(f.source.calls.load(), 0);
    QCOMPARE(f.info(key.info.id).reserved, std::int64_t(0));
    QCOMPARE(f.info(key.info.id).balance, std::int64_t(12));
    auto served = f.complete(key.key, counting(4));
    QCOMPARE(served->status, 200);
    QCOMPARE(f.info(key.info.id).balance, std::int64_t(0));
    QCOMPARE(f.info(key.info.id).spent, std::int64_t(12));
    QCOMPARE(f.complete(key.key, counting(1))->status, 402);
  }

  // Debits are the tokens used at the run's price, rounded up to whole micro-units; the epoch's
  // revenue is their sum, the balances dropped by exactly that, and the statement splits it as before.
  void debitsAreTheEpochsRevenueAndSplitExactly() {
    Fixture f(false, /*price per 1k*/ 1500);
    const auto owner_a = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    const auto owner_b = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    f.book.credit_work(owner_a, 3e9);
    f.book.credit_work(owner_b, 1e9);
    QCOMPARE(f.book.close_epoch(), std::uint64_t(1));
    const auto a = f.keys.add("a", 1'000'000);
    const auto b = f.keys.add("b", 1'000'000);
    std::int64_t expected = 0;
    for (int i = 1; i <= 7; ++i) {
      const auto& key = i % 2 ? a : b;
      auto response = f.complete(key.key, counting(i, /*stream*/ i % 3 == 0));
      QVERIFY2(response && response->status == 200, response ? response->body.c_str() : "no answer");
      expected += hub::price_of(8 + i, 1500);  // prompt + completion tokens
    }
    QCOMPARE(hub::price_of(9, 1500), std::int64_t(14));  // 13.5 micro-units, rounded up
    const auto [sum, count] = f.keys.debits(2);
    QCOMPARE(count, std::int64_t(7));
    QCOMPARE(sum, expected);
    QCOMPARE(f.revenue(), static_cast<std::uint64_t>(expected));
    const auto balances = f.info(a.info.id).balance + f.info(b.info.id).balance;
    QCOMPARE(2'000'000 - balances, expected);
    QCOMPARE(f.info(a.info.id).spent + f.info(b.info.id).spent, expected);
    QCOMPARE(f.info(a.info.id).reserved + f.info(b.info.id).reserved, std::int64_t(0));
    QCOMPARE(f.book.close_epoch(), std::uint64_t(2));
    const auto statement = f.book.latest()->statement();
    QCOMPARE(statement.epoch_revenue, static_cast<std::uint64_t>(expected));
    QCOMPARE(f.book.revenue_part(2, owner_a) + f.book.revenue_part(2, owner_b), static_cast<std::uint64_t>(expected));
    const auto share_a = static_cast<std::int64_t>(f.book.revenue_part(2, owner_a));
    QVERIFY(std::abs(4 * share_a - 3 * expected) <= 4);  // 3:1, to the micro-unit
    QCOMPARE(f.keys.debits(3).second, std::int64_t(0));
  }

  void aFailedCompletionCostsNothing() {
    Fixture f(false);
    const auto key = f.keys.add("k", 1000);
    f.source.fail_after = 2;
    QCOMPARE(f.complete(key.key, counting(10))->status, 503);
    f.source.calls = 0;
    auto streamed = f.complete(key.key, counting(10, true));
    QVERIFY(streamed->body.find("\"error\"") != std::string::npos);
    const auto after = f.info(key.info.id);
    QCOMPARE(after.balance, std::int64_t(1000));
    QCOMPARE(after.reserved, std::int64_t(0));
    QCOMPARE(after.spent, std::int64_t(0));
    QCOMPARE(f.revenue(), std::uint64_t(0));
    QCOMPARE(f.keys.debits(1).second, std::int64_t(0));
  }

  // Eight completions at once on a key that can pay for three at their maximum cost: the ones beyond
  // what is free are refused with 402, and the key is never overdrawn.
  void concurrentRequestsCannotOverdrawAKey() {
    Fixture f(false);
    f.source.delay = std::chrono::milliseconds(20);
    const auto key = f.keys.add("shared", 3 * (8 + 10));
    std::vector<std::future<int>> replies;
    for (int i = 0; i < 8; ++i)
      replies.push_back(std::async(std::launch::async, [&] {
        auto response = f.complete(key.key, counting(10));
        return response ? response->status : -1;
      }));
    int served = 0, refused = 0;
    for (auto& reply : replies) {
      const auto status = reply.get();
      served += status == 200;
      refused += status == 402;
    }
    QCOMPARE(served + refused, 8);
    QVERIFY(refused >= 1);
    const auto after = f.info(key.info.id);
    QVERIFY(after.balance >= 0);
    QCOMPARE(after.reserved, std::int64_t(0));
    QCOMPARE(after.spent, std::int64_t(served * 18));
    QCOMPARE(after.balance + after.spent, std::int64_t(54));
    QCOMPARE(f.revenue(), static_cast<std::uint64_t>(after.spent));
  }

  void keysAreStoredOnlyAsHashes() {
    Fixture f;
    const auto created = f.keys.add("ops", 5);
    QVERIFY(created.key.rfind("tsk_", 0) == 0);
    QCOMPARE(created.key.size(), std::size_t(4 + 64));
    QVERIFY(created.key != f.keys.add("ops", 5).key);
    const auto stored = f.store.read([&](hub::Database& db) {
      auto query = db.prepare("SELECT lower(hex(key_hash)) FROM api_keys WHERE id = ?");
      query.bind(1, created.info.id);
      query.step();
      return query.column_text(0);
    });
    QCOMPARE(stored.size(), std::size_t(64));  // BLAKE2b-256, not the key
    QVERIFY(stored != created.key.substr(4));
    QCOMPARE(f.keys.check(created.key), created.info.id);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, f.keys.credit(created.info.id, 0));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, f.keys.credit(999, 1));
    f.keys.revoke(created.info.id);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, f.keys.credit(created.info.id, 1));
  }
};

QTEST_APPLESS_MAIN(TestGateway)
#include "test_gateway.moc"
