// The pieces a hub request passes through before a route acts, without a server: signature
// headers over the raw body (any change to the body, path, method, run or time breaks them; a
// time outside the window, a repeat of a once-only request and an unsigned request are refused),
// the body limits by route, the readers of join, receipt and progress bodies and of the peer list
// (no owners in it), and the bounded state behind them: rate limits, replayed signatures, join
// challenges under a flood, and the rate-limited refusal log.
#include <QtTest>

#include <httplib.h>

#include "core/hub/challenges.h"
#include "core/hub/rate_limiter.h"
#include "core/hub/replay_guard.h"
#include "core/hub/request_stats.h"
#include "core/hub/request_verifier.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"
#include "core/wallet/encoding.h"

using namespace tessera;
using namespace std::chrono_literals;
namespace api = protocol::hub_api;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

protocol::SignatureHeaders sign(const wallet::KeyPair& key, const std::string& body, std::int64_t at = kNow,
                                const std::string& path = api::kHeartbeat, const std::string& run = "run-a") {
  return protocol::to_headers(protocol::sign_hub_request(run, "POST", path, body, at, key));
}

// The HTTP status a verification ends with: 200 when it passes.
int verdict(const std::function<void()>& verify) {
  try {
    verify();
    return 200;
  } catch (const net::HttpError& refused) {
    return refused.status;
  } catch (const std::invalid_argument&) {
    return 400;
  }
}

protocol::JoinBody join_body() {
  const auto owner = wallet::KeyPair::generate();
  const auto node = wallet::KeyPair::generate();
  protocol::JoinBody body;
  body.nonce.fill(7);
  body.request.delegation = wallet::sign_delegation(owner, node.public_key(), "run-a", 4102444800);
  body.request.endpoint = "tcp://127.0.0.1:5555";
  body.request.device = {"cpu", 1ull << 30, 12.5};
  return body;
}

}  // namespace

class TestHubRequests : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void signatureCoversEveryPartOfTheRequest() {
    const auto node = wallet::KeyPair::generate();
    const hub::RequestVerifier verifier("run-a", 120s);
    const std::string body = R"({"x":1})";
    const auto headers = sign(node, body);
    const auto check = [&](const protocol::SignatureHeaders& h, const std::string& method, const std::string& path,
                           const std::string& sent, std::int64_t now = kNow) {
      return verdict([&] { verifier.verify(h, method, path, sent, hub::Replays::Harmless, now); });
    };
    QCOMPARE(check(headers, "POST", api::kHeartbeat, body), 200);
    QVERIFY(verifier.verify(headers, "POST", api::kHeartbeat, body, hub::Replays::Harmless, kNow) == node.public_key());
    QCOMPARE(check(headers, "POST", api::kHeartbeat, R"({"x":2})"), 403);   // the body changed after signing
    QCOMPARE(check(headers, "POST", api::kHeartbeat, R"({"x": 1})"), 403);  // raw bytes, not the JSON value
    QCOMPARE(check(headers, "POST", api::kLeave, body), 403);              // another route
    QCOMPARE(check(headers, "GET", api::kHeartbeat, body), 403);           // another method
    QCOMPARE(verdict([&] { hub::RequestVerifier("run-b", 120s).verify(headers, "POST", api::kHeartbeat, body,
                                                                      hub::Replays::Harmless, kNow); }),
             403);  // another hub's run
    auto other_key = headers;
    other_key.node_key = wallet::to_hex(wallet::KeyPair::generate().public_key());
    QCOMPARE(check(other_key, "POST", api::kHeartbeat, body), 403);
    auto other_time = headers;
    other_time.time_ms = std::to_string(kNow + 1);
    QCOMPARE(check(other_time, "POST", api::kHeartbeat, body), 403);
    // A request signed for another purpose (a receipt's domain) does not pass as a hub request.
    auto wrong_domain = headers;
    wrong_domain.signature = wallet::to_hex(
        node.sign(wallet::SignatureDomain::Receipt, protocol::hub_request_message("run-a", "POST", api::kHeartbeat, kNow, body)));
    QCOMPARE(check(wrong_domain, "POST", api::kHeartbeat, body), 403);
  }

  void oldFutureUnsignedAndMalformedRequestsAreRefused() {
    const auto node = wallet::KeyPair::generate();
    const hub::RequestVerifier verifier("run-a", 120s);
    const auto check = [&](const protocol::SignatureHeaders& h) {
      return verdict([&] { verifier.verify(h, "POST", api::kHeartbeat, "{}", hub::Replays::Harmless, kNow); });
    };
    QCOMPARE(check(sign(node, "{}", kNow - 120'000)), 200);  // at the edge of the window
    QCOMPARE(check(sign(node, "{}", kNow - 121'000)), 403);  // an old request replayed later
    QCOMPARE(check(sign(node, "{}", kNow + 121'000)), 403);  // from a clock far ahead
    QCOMPARE(check({}), 401);                                // not signed at all
    auto headers = sign(node, "{}");
    for (auto bad : {std::pair{&protocol::SignatureHeaders::node_key, std::string("zz")},
                     std::pair{&protocol::SignatureHeaders::time_ms, std::string("12a")},
                     std::pair{&protocol::SignatureHeaders::time_ms, std::string("-5")},
                     std::pair{&protocol::SignatureHeaders::time_ms, std::string("99999999999999999999")},
                     std::pair{&protocol::SignatureHeaders::signature, std::string(127, 'a')},
                     std::pair{&protocol::SignatureHeaders::signature, std::string()}}) {
      auto malformed = headers;
      malformed.*bad.first = bad.second;
      QCOMPARE(check(malformed), 400);
    }
  }

  void onceOnlyRequestsCannotBeReplayed() {
    const auto node = wallet::KeyPair::generate();
    const hub::RequestVerifier verifier("run-a", 120s);
    const auto headers = sign(node, "{}", kNow, api::kLeave);
    const auto leave = [&](std::int64_t now, hub::Replays replays) {
      return verdict([&] { verifier.verify(headers, "POST", api::kLeave, "{}", replays, now); });
    };
    QCOMPARE(leave(kNow, hub::Replays::Refused), 200);
    QCOMPARE(leave(kNow + 1000, hub::Replays::Refused), 403);  // the same signed leave, sent again
    // A heartbeat may repeat: it changes nothing a second time.
    const auto heartbeat = sign(node, "{}");
    for (int i = 0; i < 3; ++i)
      QCOMPARE(verdict([&] { verifier.verify(heartbeat, "POST", api::kHeartbeat, "{}", hub::Replays::Harmless, kNow); }),
               200);
  }

  void replayGuardStaysBounded() {
    hub::ReplayGuard guard(100);
    wallet::Signature first{};
    first[0] = 1;
    QVERIFY(guard.first_use(first, kNow + 10'000, kNow));
    QVERIFY(!guard.first_use(first, kNow + 10'000, kNow + 1));
    for (int i = 0; i < 10'000; ++i) {
      wallet::Signature s{};
      std::memcpy(s.data() + 8, &i, sizeof i);
      QVERIFY(guard.first_use(s, kNow + 20'000 + i, kNow));
    }
    QVERIFY(guard.size() <= 100);
    // Entries whose time has left the window are forgotten first.
    wallet::Signature late{};
    late[0] = 2;
    QVERIFY(guard.first_use(late, kNow + 100, kNow));
    QVERIFY(guard.first_use(late, kNow + 100'000, kNow + 200'000));
  }

  void bodyLimitsByRoute() {
    QCOMPARE(api::body_limit(api::kHeartbeat), api::kHeartbeatBodyLimit);
    QCOMPARE(api::body_limit(api::kReady), api::kSmallBodyLimit);
    QCOMPARE(api::body_limit(api::kChallenge), api::kSmallBodyLimit);
    QCOMPARE(api::body_limit("/api/no-such-route"), api::kSmallBodyLimit);
    QCOMPARE(api::body_limit(api::kJoin), api::kJoinBodyLimit);
    QCOMPARE(api::body_limit(api::kProgress), api::kProgressBodyLimit);
    QCOMPARE(api::body_limit(api::kReceipts), api::kReceiptsBodyLimit);
    QCOMPARE(api::body_limit(api::kShards), api::kShardBodyLimit);
    QCOMPARE(api::largest_body_limit(), api::kShardBodyLimit);
    // The batch a node sends fits, with room to spare: 2,000 receipts of the longest run id.
    protocol::SignedReceipt receipt;
    receipt.receipt.run_id = std::string(64, 'r');
    receipt.receipt.step = UINT64_MAX;
    receipt.receipt.micro_batch = UINT32_MAX;
    receipt.receipt.tokens = UINT32_MAX;
    receipt.receipt.stage = 65535;
    auto batch = nlohmann::json::array();
    for (std::size_t i = 0; i < api::kMaxReceiptsPerBatch; ++i) batch.push_back(protocol::to_json(receipt));
    const nlohmann::json body{{"receipts", batch}};
    QVERIFY(body.dump().size() < api::kReceiptsBodyLimit);
  }

  void joinBodyRoundTripsAndNamesBadFields() {
    const auto body = join_body();
    const auto again = protocol::join_body_from_json(protocol::to_json(body));
    QVERIFY(again.nonce == body.nonce);
    QCOMPARE(again.request.endpoint, body.request.endpoint);
    QCOMPARE(again.request.device.name, body.request.device.name);
    QCOMPARE(again.request.device.memory_bytes, body.request.device.memory_bytes);
    QVERIFY(again.request.delegation.signature == body.request.delegation.signature);
    const auto refused = [](nlohmann::json json, const std::string& expected) {
      try {
        protocol::join_body_from_json(json);
      } catch (const std::invalid_argument& error) {
        return std::string(error.what()).find(expected) != std::string::npos;
      }
      return false;
    };
    auto json = protocol::to_json(body);
    QVERIFY(refused(nlohmann::json::array(), "object"));
    for (const char* name : {"nonce", "delegation", "endpoint", "device"}) {
      auto missing = json;
      missing.erase(name);
      QVERIFY2(refused(missing, name), name);
    }
    auto bad = json;
    bad["nonce"] = "00";
    QVERIFY(refused(bad, "nonce"));
    bad = json;
    bad["endpoint"] = "ipc:///tmp/x";
    QVERIFY(refused(bad, "tcp://"));
    bad = json;
    bad["endpoint"] = "tcp://" + std::string(300, 'h');
    QVERIFY(refused(bad, "endpoint"));
    bad = json;
    bad["device"]["memory_bytes"] = -1;
    QVERIFY(refused(bad, "memory_bytes"));
    bad = json;
    bad["device"]["name"] = 5;
    QVERIFY(refused(bad, "name"));
    bad = json;
    bad["delegation"] = "not an object";
    QVERIFY(refused(bad, "delegation"));
  }

  void receiptAndProgressBodiesAreBounded() {
    QCOMPARE(protocol::receipt_batch_items({{"receipts", nlohmann::json::array({1, 2})}}).size(), std::size_t(2));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::receipt_batch_items({{"receipts", "x"}}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::receipt_batch_items(nlohmann::json::object()));
    QVERIFY_THROWS_EXCEPTION(
        std::invalid_argument,
        protocol::receipt_batch_items({{"receipts", nlohmann::json::array_t(api::kMaxReceiptsPerBatch + 1, 0)}}));
    const nlohmann::json step{{"step", 3}, {"loss", 1.5}, {"note", "ok"}, {"nan", nullptr}, {"fast", true}};
    QCOMPARE(protocol::progress_step({{"step", step}}), step);
    for (const auto& bad : {nlohmann::json{{"step", 3}}, nlohmann::json{{"step", {{"deep", {{"a", 1}}}}}},
                            nlohmann::json{{"step", {{"list", {1, 2}}}}},
                            nlohmann::json{{"step", {{"long", std::string(300, 'x')}}}}, nlohmann::json::object()})
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::progress_step(bad));
  }

  void peerListNamesTheDriverAndNoOwners() {
    protocol::PeerList list{"run-a", 2, std::nullopt, {}, {}};
    const auto a = wallet::KeyPair::generate().public_key();
    list.peers.push_back({a, "tcp://10.0.0.1:1", 0, 1, "cpu"});
    list.driver = a;
    const auto json = protocol::to_json(list);
    QVERIFY(!json["peers"][0].contains("owner"));
    QCOMPARE(json["driver"], wallet::to_hex(a));
    const auto again = protocol::peer_list_from_json(json);
    QVERIFY(again.driver == a);
    QCOMPARE(again.peers.size(), std::size_t(1));
    QCOMPARE(again.peers[0].endpoint, std::string("tcp://10.0.0.1:1"));
    auto no_driver = json;
    no_driver["driver"] = nullptr;
    QVERIFY(!protocol::peer_list_from_json(no_driver).driver);
    no_driver["driver"] = "abc";
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::peer_list_from_json(no_driver));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::peer_list_from_json({{"peers", 3}}));
  }

  void rateLimiterRefillsAndSaysWhen() {
    hub::RateLimiter limiter({2.0, 3.0});
    const auto start = hub::RateLimiter::Clock::now();
    for (int i = 0; i < 3; ++i) QVERIFY(!limiter.acquire("a", start));
    const auto wait = limiter.acquire("a", start);
    QVERIFY(wait.has_value());
    QCOMPARE(wait->count(), std::int64_t(500));             // one token at 2 a second
    QVERIFY(!limiter.acquire("b", start));                   // another key has its own bucket
    QVERIFY(limiter.acquire("a", start + 499ms).has_value());
    QVERIFY(!limiter.acquire("a", start + 500ms));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, hub::RateLimiter({0.0, 1.0}));
  }

  void rateLimiterStaysBoundedUnderManyKeys() {
    hub::RateLimiter limiter({1.0, 2.0}, 1000);
    const auto start = hub::RateLimiter::Clock::now();
    for (int i = 0; i < 20'000; ++i) {
      limiter.acquire("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), start);
      limiter.acquire("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), start);
    }
    QVERIFY(limiter.size() <= 1000);
    // The newest keys are still limited: a flood of new keys does not reset recent buckets.
    QVERIFY(limiter.acquire("10.0.78.31", start).has_value());
  }

  void addressesAreLimitedPerHomeNetwork() {
    QCOMPARE(hub::address_key("192.0.2.7"), std::string("192.0.2.7"));
    QCOMPARE(hub::address_key("::ffff:192.0.2.7"), std::string("192.0.2.7"));
    QCOMPARE(hub::address_key("2001:db8:1:2:aaaa::1"), hub::address_key("2001:db8:1:2:bbbb::9"));
    QVERIFY(hub::address_key("2001:db8:1:2::1") != hub::address_key("2001:db8:1:3::1"));
  }

  void challengesAreSingleUseExpireAndStayBoundedUnderAFlood() {
    hub::ChallengeBook book(30s, 1000);
    const auto now = hub::ChallengeBook::Clock::now();
    const auto nonce = book.issue(now);
    QVERIFY(book.redeem(nonce, now + 1s));
    QVERIFY(!book.redeem(nonce, now + 2s));  // single use
    const auto late = book.issue(now);
    QVERIFY(!book.redeem(late, now + 31s));  // expired
    QVERIFY(!book.redeem(protocol::Nonce{}, now));
    // A flood keeps the book at its capacity, oldest first: the nonce an honest node was just
    // given survives, and nonces spent long ago do not accumulate.
    for (int i = 0; i < 100'000; ++i) {
      book.issue(now + 40s);
      if (i % 2 == 0) book.redeem(book.issue(now + 40s), now + 40s);
    }
    QVERIFY(book.outstanding() <= 1000);
    const auto honest = book.issue(now + 40s);
    for (int i = 0; i < 500; ++i) book.issue(now + 40s);
    QVERIFY(book.redeem(honest, now + 41s));
  }

  void refusalLogIsRateLimited() {
    hub::RequestStats stats("test", 5);
    httplib::Request request;
    request.method = "POST";
    request.path = std::string("/api/heartbeat\n\x1b[31mforged log line");
    httplib::Response refused;
    refused.status = 400;
    httplib::Response served;
    served.status = 200;
    for (int i = 0; i < 100; ++i) stats.record(request, refused);
    for (int i = 0; i < 7; ++i) stats.record(request, served);
    QCOMPARE(stats.logged(), std::uint64_t(5));
    QCOMPARE(stats.unlogged(), std::uint64_t(95));
    const auto counts = stats.to_json();
    QCOMPARE(counts["malformed"].get<int>(), 100);
    QCOMPARE(counts["served"].get<int>(), 7);
    refused.status = 413;
    stats.record(request, refused);
    refused.status = 429;
    stats.record(request, refused);
    QCOMPARE(stats.to_json()["too_large"].get<int>(), 1);
    QCOMPARE(stats.to_json()["rate_limited"].get<int>(), 1);
  }
};

QTEST_APPLESS_MAIN(TestHubRequests)
#include "test_hub_requests.moc"
