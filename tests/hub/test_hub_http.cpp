// The hub's HTTP layer against hostile clients, through a real HubService on loopback: signed
// requests (a body changed after signing, an old time, a replay and no signature are refused),
// bodies over their route's limit or of unknown length refused before they are read, a nesting
// bomb on every POST route answered 400, slow clients cut off, the gateway on its own server (held
// completions and slow gateway clients do not keep heartbeats from being answered), 429 with
// Retry-After beyond the completions cap and the challenge and join rate limits, a gateway that
// is closed without keys, the peer list served to members only and without owners, and refusals
// counted in GET /api/health. After every attack the hub still answers an honest heartbeat.
#include <QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <functional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/hub/gateway.h"
#include "core/hub/api_key_book.h"
#include "core/hub/hub_service.h"
#include "core/wallet/encoding.h"
#include "core/wallet/slip10.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

// A count of the hub's request statistics once it reaches `at_least` (or after 3 s): the server's
// logger counts a request after its response is written, so a reply can arrive first.
int request_count(const std::function<nlohmann::json()>& health, const char* server, const char* name, int at_least) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  int count = 0;
  while ((count = health()["requests"][server][name].get<int>()) < at_least && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  return count;
}

}  // namespace
using nlohmann::json;
namespace api = protocol::hub_api;

namespace {

// Stands in for the swarm: every next token waits until the test lets it go.
class HeldSource : public hub::NextTokenSource {
 public:
  std::vector<float> next_token_logits(const std::vector<std::int32_t>&, std::chrono::milliseconds) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    --waiting_;
    return std::vector<float>(256, 0.0f);
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  bool wait_for_waiting(int count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

// A connection the test writes raw bytes to, as a hostile or broken client would.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Everything until the server closes the connection (or 20 s pass).
  std::string read_all() {
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
    return out;
  }
  // True when the server closed the connection within `timeout`.
  bool closed_within(std::chrono::seconds timeout) {
    timeval wait{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char buffer[4096];
    for (;;) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;  // timed out, still open
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

struct TestHub {
  wallet::KeyPair publisher = wallet::KeyPair::generate();
  wallet::KeyPair owner = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  HeldSource source;
  std::unique_ptr<hub::HubService> service;

  explicit TestHub(hub::HubOptions options = generous()) {
    manifest = test::tiny_two_stage_manifest("hub-http");
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    options.hub_key = &publisher;
    options.inference_source = &source;
    service = std::make_unique<hub::HubService>(manifest, options);
    service->start();
  }
  ~TestHub() {
    source.release();
    service->stop();
  }

  // Limits no test trips by accident (the rate-limit test sets its own).
  static hub::HubOptions generous() {
    hub::HubOptions options;
    options.membership.challenges_per_address = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    options.membership.joins_per_key = {1000, 1000};
    options.membership.joins_per_owner = {1000, 1000};
    options.open_gateway = true;
    options.max_concurrent_completions = 4;  // what the gateway test below counts on
    options.gateway_server.threads = 8;
    return options;
  }

  // A new member of the run, joined through the node's own client; returns its stage.
  int join(const wallet::KeyPair& node, std::uint64_t memory = 1ull << 34) {
    client::HubClient client(service->url());
    const protocol::JoinRequest request{wallet::sign_delegation(owner, node.public_key(), wallet::kAnyRun, 4102444800),
                                        "tcp://127.0.0.1:1", {"cpu", memory, 0}};
    return client.join(node, request);
  }

  // A request signed by `key` over `signed_body`, sending `sent_body` (the same unless a test tampers).
  httplib::Result signed_request(const std::string& method, const std::string& path, const wallet::KeyPair& key,
                                 const std::string& signed_body, std::optional<std::string> sent_body = std::nullopt,
                                 std::int64_t at = hub::unix_ms()) {
    const auto headers = protocol::to_headers(protocol::sign_hub_request(manifest.run_id, method, path, signed_body, at, key));
    httplib::Client client("127.0.0.1", service->port());
    client.set_read_timeout(20s);
    const httplib::Headers sent{{protocol::kNodeKeyHeader, headers.node_key},
                                {protocol::kTimeHeader, headers.time_ms},
                                {protocol::kSignatureHeader, headers.signature}};
    if (method == "GET") return client.Get(path, sent);
    return client.Post(path, sent, sent_body.value_or(signed_body), "application/json");
  }

  httplib::Result post(const std::string& path, const std::string& body, int port = 0) {
    httplib::Client client("127.0.0.1", port ? port : service->port());
    client.set_read_timeout(20s);
    return client.Post(path, body, "application/json");
  }

  json health() {
    httplib::Client client("127.0.0.1", service->port());
    const auto reply = client.Get(api::kHealth);
    return reply && reply->status == 200 ? json::parse(reply->body) : json();
  }

  // What every test ends with: an honest member is still answered at once.
  bool answers_heartbeat(const wallet::KeyPair& member) {
    client::HubClient client(service->url(), 3s);
    return client.heartbeat(member);
  }
};

std::string nesting_bomb(std::size_t bytes) { return std::string(bytes, '['); }

}  // namespace

class TestHubHttp : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void heartbeatsCarryTrafficReports() {
    TestHub hub;
    const auto node = wallet::KeyPair::generate();
    const int stage = hub.join(node);
    net::TrafficMeter meter;
    client::HubClient client(hub.service->url(), 3s, &meter);
    net::TrafficReport report;
    report.bytes[net::TrafficKind::boundary_forward] = {4000, 1000};
    report.tokens = 50;
    QVERIFY(client.heartbeat(node, &report));
    // The node's HTTP exchanges count as control traffic, both ways.
    const auto counted = meter.snapshot();
    // The signed body, its three signature headers and cpp-httplib's own (Host, User-Agent, …).
    const auto body_bytes = nlohmann::json{{"traffic", report.bytes.to_json()}, {"tokens", report.tokens}}.dump().size();
    qInfo("heartbeat: %llu bytes sent (body %zu), %llu received",
          static_cast<unsigned long long>(counted[net::TrafficKind::control].sent), body_bytes,
          static_cast<unsigned long long>(counted[net::TrafficKind::control].received));
    QVERIFY(counted[net::TrafficKind::control].sent > body_bytes + 64 + 20 + 128 + 40);
    QVERIFY(counted[net::TrafficKind::control].received > 50);
    QCOMPARE(counted.total(), counted[net::TrafficKind::control]);
    const auto kept = hub.service->traffic_reports();
    QCOMPARE(kept.size(), std::size_t{1});
    QCOMPARE(kept[0].node, node.public_key());
    QCOMPARE(kept[0].stage, stage);
    QCOMPARE(kept[0].report, report);
    httplib::Client reader("127.0.0.1", hub.service->port());
    const auto served = reader.Get(api::kTraffic);
    QVERIFY(served && served->status == 200);
    const auto body = json::parse(served->body);
    QCOMPARE(body["nodes"][0]["node"].get<std::string>(), wallet::to_hex(node.public_key()));
    QCOMPARE(body["nodes"][0]["traffic"]["boundary_forward"]["sent"].get<std::uint64_t>(), std::uint64_t{4000});
    QCOMPARE(body["total"]["bytes_per_token"].get<double>(), 100.0);
    // A hostile report is ignored, never refused: the heartbeat is answered and the last report stays.
    const std::string hostile = R"({"traffic": {"control": {"sent": -1, "received": 1e300}}, "tokens": "many"})";
    QCOMPARE(hub.signed_request("POST", api::kHeartbeat, node, hostile)->status, 200);
    QCOMPARE(hub.service->traffic_reports()[0].report, report);
  }

  void signedRequestsAreCheckedOverTheRawBody() {
    TestHub hub;
    const auto node = wallet::KeyPair::generate();
    hub.join(node);
    auto reply = hub.signed_request("POST", api::kHeartbeat, node, "{}");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    reply = hub.signed_request("POST", api::kHeartbeat, node, "{}", std::string("{ }"));  // changed after signing
    QCOMPARE(reply->status, 403);
    reply = hub.post(api::kHeartbeat, "{}");  // unsigned
    QCOMPARE(reply->status, 401);
    reply = hub.signed_request("POST", api::kHeartbeat, node, "{}", std::nullopt, hub::unix_ms() - 10 * 60'000);
    QCOMPARE(reply->status, 403);  // an old request sent again
    QVERIFY(json::parse(reply->body)["error"]["message"].get<std::string>().find("clock") != std::string::npos);
    // The same signed ready, sent twice: the second is a replay.
    const auto at = hub::unix_ms();
    QCOMPARE(hub.signed_request("POST", api::kReady, node, "{}", std::nullopt, at)->status, 200);
    QCOMPARE(hub.signed_request("POST", api::kReady, node, "{}", std::nullopt, at)->status, 403);
    // A node the hub does not know is told to join again.
    const auto stranger = wallet::KeyPair::generate();
    QCOMPARE(hub.signed_request("POST", api::kHeartbeat, stranger, "{}")->status, 404);
    QVERIFY(hub.answers_heartbeat(node));
  }

  void bodiesOverTheirRouteLimitAreRefusedBeforeBeingRead() {
    TestHub hub;
    const auto node = wallet::KeyPair::generate();
    hub.join(node);
    // The refusal comes before the body is read and the connection closes unread, so the request
    // goes out in one write, as a client that is not still sending reads the answer.
    const auto post_at_once = [&](const std::string& path, std::size_t bytes) {
      RawConnection connection(hub.service->port());
      connection.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(bytes) +
                      "\r\n\r\n" + std::string(bytes, '['));
      return status_of(connection.read_all());
    };
    QCOMPARE(post_at_once(api::kHeartbeat, api::kHeartbeatBodyLimit + 1), 413);
    QCOMPARE(post_at_once(api::kHeartbeat, 64 * 1024), 413);
    QCOMPARE(post_at_once(api::kJoin, api::kJoinBodyLimit + 1), 413);
    QCOMPARE(post_at_once(api::kProgress, api::kProgressBodyLimit + 1), 413);
    QCOMPARE(post_at_once("/api/no-such-route", api::kSmallBodyLimit + 1), 413);
    // A client still sending a body bigger than any route's may see the connection closed first.
    const auto huge = hub.post(api::kReceipts, std::string(3 * 1024 * 1024, '['));
    QVERIFY(!huge || huge->status == 413);
    // Bodies whose length is not declared up front, and methods nobody serves.
    for (const auto& [request, status] : std::vector<std::pair<std::string, int>>{
             {"POST /api/heartbeat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411},
             {"POST /api/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n{}", 411},
             {"POST /api/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n{}", 411},
             {"POST /api/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Encoding: gzip\r\n\r\n{}", 415},
             {"PUT /api/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 405},
             // Asked before the upload: refused without 100 Continue, so nothing is sent.
             {"POST /api/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\nExpect: 100-continue\r\n\r\n", 413},
         }) {
      RawConnection connection(hub.service->port());
      QVERIFY(connection.connected());
      connection.send(request);
      QCOMPARE(status_of(connection.read_all()), status);
    }
    QVERIFY2(request_count([&] { return hub.health(); }, "api", "too_large", 10) >= 10, hub.health().dump().c_str());
    QVERIFY(hub.answers_heartbeat(node));
  }

  void nestingBombsOnEveryPostRouteAreBadRequests() {
    TestHub hub;
    const auto member = wallet::KeyPair::generate();
    hub.join(member);
    for (const std::string path : {api::kChallenge, api::kJoin, api::kReady, api::kHeartbeat, api::kLeave,
                                   api::kReceipts, api::kProgress}) {
      const auto bomb = nesting_bomb(std::min<std::size_t>(api::body_limit(path), 512 * 1024));
      const auto balanced = nesting_bomb(64) + std::string(64, ']');
      for (const auto& body : {bomb, balanced}) {
        // Signed by a fresh key for the join (which admits strangers) and by the member elsewhere,
        // so the body is parsed: and refused, not crashed on.
        const auto stranger = wallet::KeyPair::generate();
        const auto& signer = path == api::kJoin ? stranger : member;
        const auto reply = path == api::kChallenge ? hub.post(path, body) : hub.signed_request("POST", path, signer, body);
        QVERIFY2(reply, path.c_str());
        QVERIFY2(reply->status == 400, (path + ": " + std::to_string(reply->status) + " " + reply->body).c_str());
        if (path != api::kChallenge) QCOMPARE(hub.post(path, body)->status, 401);  // unsigned: never parsed
      }
      QVERIFY2(hub.answers_heartbeat(member), path.c_str());
    }
    // The gateway's body too.
    const auto gateway = hub.post(api::kCompletions, nesting_bomb(8000), hub.service->gateway_port());
    QVERIFY(gateway);
    QCOMPARE(gateway->status, 400);
    QVERIFY(json::parse(gateway->body)["error"]["type"].is_string());
    QVERIFY(request_count([&] { return hub.health(); }, "api", "malformed", 14) >= 14);
    QVERIFY(hub.answers_heartbeat(member));
  }

  void slowClientsAreCutOff() {
    auto options = TestHub::generous();
    options.api_server.read_timeout = 1000ms;
    options.api_server.idle_timeout = 1s;
    TestHub hub(options);
    const auto member = wallet::KeyPair::generate();
    hub.join(member);
    RawConnection silent(hub.service->port());  // connects and says nothing
    RawConnection headers(hub.service->port());  // stops in the middle of its headers
    headers.send("POST /api/heartbeat HTTP/1.1\r\nHost: x\r\n");
    RawConnection body(hub.service->port());  // stops in the middle of its body
    body.send("POST /api/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":");
    QVERIFY(hub.answers_heartbeat(member));
    // Within the configured second and a wide margin, well before cpp-httplib's own 5 s defaults.
    QVERIFY(silent.closed_within(4s));
    QVERIFY(headers.closed_within(4s));
    QVERIFY(body.closed_within(4s));
  }

  // Completions hold their workers for as long as the swarm takes; they and slow gateway clients
  // must leave the workers membership needs alone (they shared eight before).
  void heldCompletionsAndSlowGatewayClientsDoNotStarveHeartbeats() {
    TestHub hub;
    const auto member = wallet::KeyPair::generate();
    hub.join(member);
    const auto gateway_port = hub.service->gateway_port();
    QVERIFY(gateway_port > 0 && gateway_port != hub.service->port());
    QVERIFY(hub.service->gateway_url().find(std::to_string(gateway_port)) != std::string::npos);
    const json request{{"model", hub.manifest.run_id}, {"prompt", "1+1="}, {"max_tokens", 1}};
    std::vector<std::future<std::pair<int, std::string>>> completions;
    std::atomic<int> answered{0};
    for (int i = 0; i < 8; ++i)
      completions.push_back(std::async(std::launch::async, [&] {
        httplib::Client client("127.0.0.1", gateway_port);
        client.set_read_timeout(60s);
        const auto reply = client.Post(api::kCompletions, request.dump(), "application/json");
        ++answered;
        return reply ? std::pair{reply->status, reply->get_header_value("Retry-After") + " " + reply->body}
                     : std::pair{0, std::string()};
      }));
    QVERIFY(hub.source.wait_for_waiting(1, 20s));  // one round of completions is inside the swarm
    for (int i = 0; i < 400 && answered < 4; ++i) std::this_thread::sleep_for(50ms);
    QCOMPARE(answered.load(), 4);  // the four beyond the cap were told to come back later
    std::vector<std::unique_ptr<RawConnection>> slow;
    for (int i = 0; i < 8; ++i) {
      slow.push_back(std::make_unique<RawConnection>(gateway_port));
      slow.back()->send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{");
    }
    QCOMPARE(hub.health()["completions_running"].get<int>(), 4);
    for (int i = 0; i < 5; ++i) {
      const auto start = std::chrono::steady_clock::now();
      QVERIFY(hub.answers_heartbeat(member));  // within its 3 s timeout, while the gateway is saturated
      qInfo("heartbeat answered in %.1f ms while the gateway is saturated",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    hub.source.release();
    int served = 0, refused = 0;
    for (auto& completion : completions) {
      const auto [status, text] = completion.get();
      if (status == 200) ++served;
      if (status == 429) {
        ++refused;
        QVERIFY2(text.rfind("2 ", 0) == 0, text.c_str());  // Retry-After: 2
        const auto error = json::parse(text.substr(2))["error"];
        QCOMPARE(error["code"], "rate_limit_exceeded");
        QVERIFY(error["message"].get<std::string>().find("try again") != std::string::npos);
      }
    }
    QCOMPARE(served, 4);
    QCOMPARE(refused, 4);
    QVERIFY(request_count([&] { return hub.health(); }, "gateway", "rate_limited", 4) >= 4);
  }

  void theGatewayIsClosedWithoutKeys() {
    auto options = TestHub::generous();
    options.open_gateway = false;
    TestHub closed(options);
    httplib::Client client("127.0.0.1", closed.service->gateway_port());
    auto reply = client.Get(api::kModels);
    QVERIFY(reply);
    QCOMPARE(reply->status, 401);
    QVERIFY(json::parse(reply->body)["error"]["message"].get<std::string>().find("API key") != std::string::npos);
    const json request{{"model", closed.manifest.run_id}, {"prompt", "1"}, {"max_tokens", 1}};
    QCOMPARE(client.Post(api::kCompletions, request.dump(), "application/json")->status, 401);
    QCOMPARE(closed.service->health()["completions_running"].get<int>(), 0);
    const auto key = closed.service->api_keys()->add("operator", 0);  // keys live in the hub's store
    httplib::Client with_key("127.0.0.1", closed.service->gateway_port());
    with_key.set_bearer_token_auth(key.key);
    QCOMPARE(with_key.Get(api::kModels)->status, 200);
    closed.service->api_keys()->revoke(key.info.id);
    QCOMPARE(with_key.Get(api::kModels)->status, 401);
  }

  void challengesAndJoinsAreRateLimited() {
    auto options = TestHub::generous();
    options.membership.challenges_per_address = {0.5, 3};
    TestHub challenged(options);
    for (int i = 0; i < 3; ++i) QCOMPARE(challenged.post(api::kChallenge, "{}")->status, 200);
    auto reply = challenged.post(api::kChallenge, "{}");
    QCOMPARE(reply->status, 429);
    QVERIFY(std::stoi(reply->get_header_value("Retry-After")) >= 1);

    options = TestHub::generous();
    options.membership.joins_per_key = {0.001, 2};
    options.membership.joins_per_address = {0.001, 5};
    TestHub joined(options);
    const auto node = wallet::KeyPair::generate();
    joined.join(node);
    joined.join(node);
    try {
      joined.join(node);
      QFAIL("a third join by the same key within its burst was accepted");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("node key") != std::string::npos, error.what());
    }
    joined.join(wallet::KeyPair::generate());
    joined.join(wallet::KeyPair::generate());
    try {
      joined.join(wallet::KeyPair::generate());
      QFAIL("a sixth join from one address within its burst was accepted");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("address") != std::string::npos, error.what());
    }
    QCOMPARE(request_count([&] { return joined.health(); }, "api", "rate_limited", 2), 2);
    QVERIFY(joined.answers_heartbeat(node));

    // One owner's keys share a budget (a Sybil re-joining until it sits beside itself), whatever
    // their keys and however generous the address's.
    options = TestHub::generous();
    options.membership.joins_per_owner = {0.001, 3};
    TestHub owned(options);
    for (int i = 0; i < 3; ++i) owned.join(wallet::KeyPair::generate());
    try {
      owned.join(wallet::KeyPair::generate());
      QFAIL("a fourth join for one owner within its burst was accepted");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("owner") != std::string::npos, error.what());
    }
  }

  void peersAreServedToMembersOnlyWithoutOwners() {
    TestHub hub;
    const auto first = wallet::KeyPair::generate();
    const auto second = wallet::KeyPair::generate();
    QCOMPARE(hub.join(first), 0);
    QCOMPARE(hub.join(second), 1);
    httplib::Client anonymous("127.0.0.1", hub.service->port());
    QCOMPARE(anonymous.Get(api::kPeers)->status, 401);
    QCOMPARE(hub.signed_request("GET", api::kPeers, wallet::KeyPair::generate(), "")->status, 403);
    client::HubClient as_first(hub.service->url());
    auto list = as_first.peer_list(first);
    QCOMPARE(list.peers.size(), std::size_t(2));
    QVERIFY(!list.driver);  // nobody is ready yet
    as_first.ready(second);
    as_first.ready(first);
    list = as_first.peer_list(first);
    QVERIFY(list.driver == first.public_key());  // the oldest ready stage-0 replica
    QVERIFY(list.peers[0].node_key == second.public_key());  // ready order: second was ready first
    const auto reply = hub.signed_request("GET", api::kPeers, second, "");
    QCOMPARE(reply->status, 200);
    QVERIFY(reply->body.find("owner") == std::string::npos);
    QVERIFY(reply->body.find(wallet::address_of(hub.owner.public_key())) == std::string::npos);
    QCOMPARE(json::parse(reply->body)["driver"], wallet::to_hex(first.public_key()));
    as_first.leave(first);
    QCOMPARE(hub.signed_request("GET", api::kPeers, first, "")->status, 403);  // no longer a member
  }
};

QTEST_APPLESS_MAIN(TestHubHttp)
#include "test_hub_http.moc"
