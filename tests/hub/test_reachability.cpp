// Addresses and reachability at the hub (issue 18), through a real HubService on 127.0.0.1 that
// connects back to joining nodes: a node bound to 0.0.0.0 is listed at the address the hub saw;
// a node whose endpoint nobody serves is refused 409 with what to do; the hub probes no host but
// the node's own (403); an address update moves a member and is checked the same way; members that
// offer to relay are listed (fewest clients first), and a relayed endpoint must name a live relay
// on that relay's host.
#include <QtTest>

#include <zmq.hpp>

#include "core/client/hub_client.h"
#include "core/hub/hub_service.h"
#include "core/hub/reachability.h"
#include "core/net/http_json.h"
#include "core/net/endpoint.h"
#include "core/net/zap.h"
#include "core/wallet/delegation.h"
#include "tests/support/loopback_listener.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

// A node's stage server: a CURVE ROUTER with its ZAP handler (an empty allowlist), on `address`.
struct StageServer {
  wallet::KeyPair key = wallet::KeyPair::generate();
  zmq::context_t context{1};
  net::ZapHandler zap{context, std::make_shared<net::PeerAllowlist>()};
  net::Server server;
  explicit StageServer(const std::string& address = "tcp://0.0.0.0:0")
      : server(context, net::curve_keys_from(key), address) {}
  int port() const { return std::stoi(server.endpoint().substr(server.endpoint().rfind(':') + 1)); }
};

using Listening = test::LoopbackListener;

std::string endpoint(const std::string& host, int port) { return "tcp://" + host + ":" + std::to_string(port); }

}  // namespace

class TestReachability : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  protocol::RunManifest manifest_ = test::tiny_two_stage_manifest("reach");
  std::unique_ptr<hub::HubService> hub_;

  protocol::JoinRequest request(const wallet::KeyPair& node, std::string where) const {
    return {wallet::sign_delegation(owner_, node.public_key(), wallet::kAnyRun, 4102444800), std::move(where),
            {"cpu", 1ull << 34, 1000}};
  }

  // The refusal's status, or 0 when it joined.
  static int refused(client::HubClient& client, const wallet::KeyPair& key, const protocol::JoinRequest& request,
                     std::string* message = nullptr) {
    try {
      client.join(key, request);
      return 0;
    } catch (const client::HubRefused& refusal) {
      if (message) *message = refusal.what();
      return refusal.status;
    }
  }

  std::optional<protocol::PeerInfo> listed(const wallet::KeyPair& asking, const wallet::PublicKey& node) {
    for (const auto& peer : client::HubClient(hub_->url()).peers(asking))
      if (peer.node_key == node) return peer;
    return std::nullopt;
  }

 private Q_SLOTS:
  void initTestCase() {
    manifest_.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest_, publisher_);
    hub::HubOptions options;
    options.reachability_timeout = 1500ms;
    options.membership.joins_per_owner = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    hub_ = std::make_unique<hub::HubService>(manifest_, options);
    hub_->start();
  }

  void addressesResolveForIpv4AndIpv6() {
    using hub::ReachabilityCheck;
    QCOMPARE(ReachabilityCheck::resolve("tcp://0.0.0.0:7000", "198.51.100.7"), std::string("tcp://198.51.100.7:7000"));
    QCOMPARE(ReachabilityCheck::resolve("tcp://0.0.0.0:7000", "::ffff:198.51.100.7"),
             std::string("tcp://198.51.100.7:7000"));
    QCOMPARE(ReachabilityCheck::resolve("tcp://[::]:7000", "2001:db8::5"), std::string("tcp://[2001:db8::5]:7000"));
    QCOMPARE(ReachabilityCheck::resolve("tcp://*:7000", "2001:db8::5"), std::string("tcp://[2001:db8::5]:7000"));
    QCOMPARE(ReachabilityCheck::resolve("tcp://[2001:db8::9]:7001", "198.51.100.7"),
             std::string("tcp://[2001:db8::9]:7001"));  // a specified host stays (the check decides)
    for (const char* bad : {"tcp://2001:db8::9:7001", "tcp://host", "udp://1.2.3.4:5", "tcp://1.2.3.4:0",
                            "tcp://1.2.3.4:70000", "tcp://a b:1", "tcp://[::1:5"}) {
      try {
        ReachabilityCheck::resolve(bad, "198.51.100.7");
        QFAIL(bad);
      } catch (const net::HttpError& error) {
        QCOMPARE(error.status, 400);
      }
    }
  }

  void anUnspecifiedHostBecomesTheAddressTheHubSees() {
    StageServer node;
    client::HubClient client(hub_->url());
    QCOMPARE(refused(client, node.key, request(node.key, endpoint("0.0.0.0", node.port()))), 0);
    const auto named = client.named();
    QCOMPARE(named.endpoint, endpoint("127.0.0.1", node.port()));
    QCOMPARE(named.address, std::string("127.0.0.1"));
    QCOMPARE(named.reachability, std::string("checked"));
    const auto peer = listed(node.key, node.key.public_key());
    QVERIFY(peer);
    QCOMPARE(peer->endpoint, endpoint("127.0.0.1", node.port()));
  }

  void aNodeNobodyCanReachIsToldWhatToDo() {
    const wallet::KeyPair key = wallet::KeyPair::generate();
    const int port = test::closed_loopback_port();
    client::HubClient client(hub_->url());
    std::string message;
    QCOMPARE(refused(client, key, request(key, endpoint("0.0.0.0", port)), &message), 409);
    QVERIFY2(message.find("unreachable") != std::string::npos, message.c_str());
    QVERIFY2(message.find("forward TCP port " + std::to_string(port)) != std::string::npos, message.c_str());
    QVERIFY(!hub_->directory().find(key.public_key()));
  }

  void anotherKeyAtTheEndpointIsNotTheNode() {
    StageServer impostor;
    const wallet::KeyPair key = wallet::KeyPair::generate();
    client::HubClient client(hub_->url());
    QCOMPARE(refused(client, key, request(key, endpoint("127.0.0.1", impostor.port()))), 409);
  }

  void theHubProbesNoOtherHost() {
    StageServer node;
    client::HubClient client(hub_->url());
    std::string message;
    QCOMPARE(refused(client, node.key, request(node.key, endpoint("192.0.2.9", node.port())), &message), 403);
    QVERIFY2(message.find("127.0.0.1") != std::string::npos, message.c_str());
  }

  void anAddressUpdateIsCheckedAndMovesTheMember() {
    StageServer first;
    client::HubClient client(hub_->url());
    QCOMPARE(refused(client, first.key, request(first.key, endpoint("127.0.0.1", first.port()))), 0);
    // The same key serving on another port (a new mapping): accepted and listed.
    zmq::context_t context{1};
    net::ZapHandler zap{context, std::make_shared<net::PeerAllowlist>()};
    net::Server moved(context, net::curve_keys_from(first.key), "tcp://127.0.0.1:0");
    const auto moved_port = std::stoi(moved.endpoint().substr(moved.endpoint().rfind(':') + 1));
    QCOMPARE(client.update_endpoint(first.key, {endpoint("0.0.0.0", moved_port), std::nullopt}),
             endpoint("127.0.0.1", moved_port));
    QCOMPARE(listed(first.key, first.key.public_key())->endpoint, endpoint("127.0.0.1", moved_port));
    // Somewhere it does not answer: refused, and the listing stays.
    const int dead = test::closed_loopback_port();
    try {
      client.update_endpoint(first.key, {endpoint("127.0.0.1", dead), std::nullopt});
      QFAIL("an unreachable endpoint was taken");
    } catch (const client::HubRefused& refusal) {
      QCOMPARE(refusal.status, 409);
    }
    QCOMPARE(listed(first.key, first.key.public_key())->endpoint, endpoint("127.0.0.1", moved_port));
  }

  void relaysAreListedAndARelayedEndpointNamesALiveOne() {
    StageServer relay_node;
    Listening relay_port;
    client::HubClient client(hub_->url());
    auto offer = request(relay_node.key, endpoint("0.0.0.0", relay_node.port()));
    offer.relay = endpoint("0.0.0.0", relay_port.port);
    QCOMPARE(refused(client, relay_node.key, offer), 0);
    auto relays = client.relays();
    QCOMPARE(relays.size(), std::size_t(1));
    QCOMPARE(relays[0].node, relay_node.key.public_key());
    QCOMPARE(relays[0].endpoint, endpoint("127.0.0.1", relay_port.port));
    QCOMPARE(relays[0].clients, std::uint64_t(0));

    // A node "through" a relay nobody lists is refused; through the listed one it joins, and counts.
    StageServer relayed;
    auto through = request(relayed.key, endpoint("127.0.0.1", relayed.port()));
    through.relayed_by = wallet::KeyPair::generate().public_key();
    QCOMPARE(refused(client, relayed.key, through), 409);
    through.relayed_by = relay_node.key.public_key();
    QCOMPARE(refused(client, relayed.key, through), 0);
    relays = client.relays();
    QCOMPARE(relays[0].clients, std::uint64_t(1));

    // An offered relay port that does not answer is refused.
    StageServer liar;
    auto dead_offer = request(liar.key, endpoint("127.0.0.1", liar.port()));
    dead_offer.relay = endpoint("127.0.0.1", test::closed_loopback_port());
    QCOMPARE(refused(client, liar.key, dead_offer), 409);
  }

  void cleanupTestCase() { hub_.reset(); }
};

QTEST_APPLESS_MAIN(TestReachability)
#include "test_reachability.moc"
