// The hub chooses neighbours (core/node/swarm/route_order.h): the driver orders each stage's live
// replicas by the route seed its hub signed for the step (protocol::order_replicas, weighted by
// the peer list's throughput), not by key; a seed that the run's hub key did not sign, for
// another run or another step, is ignored, and the replicas go in key order.
#include <QtTest>

#include <algorithm>
#include <set>

#include "core/node/swarm/route_order.h"

using namespace tessera;
using node::swarm::RouteOrder;

namespace {

constexpr char kRun[] = "route-test";

protocol::SignedRouteSeed seed_for(std::uint64_t step, std::uint8_t fill, const wallet::KeyPair& signer,
                                   const std::string& run = kRun) {
  protocol::RouteSeed seed;
  seed.run_id = run;
  seed.step = step;
  seed.seed.fill(fill);
  return protocol::sign_route_seed(seed, signer);
}

std::vector<wallet::PublicKey> keys_of(const std::vector<net::Hop>& hops) {
  std::vector<wallet::PublicKey> keys;
  for (const auto& hop : hops) keys.push_back(hop.key);
  return keys;
}

}  // namespace

class TestRouteOrder : public QObject {
  Q_OBJECT

  wallet::KeyPair hub_ = wallet::KeyPair::generate();
  std::vector<net::Hop> replicas_;
  std::vector<protocol::PeerInfo> peers_;

  std::vector<wallet::PublicKey> sorted() const {
    auto keys = keys_of(replicas_);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

 private Q_SLOTS:
  void initTestCase() {
    for (int i = 0; i < 6; ++i) {
      const auto key = wallet::KeyPair::generate().public_key();
      replicas_.push_back({key, "tcp://127.0.0.1:" + std::to_string(7000 + i)});
      protocol::PeerInfo peer;
      peer.node_key = key;
      peer.stage = 1;
      peer.ready_order = static_cast<std::uint64_t>(i + 1);
      peer.tokens_per_s = 1000.0 * (i + 1);
      peers_.push_back(peer);
    }
  }

  void aSeedFromTheHubOrdersTheReplicas() {
    RouteOrder order(kRun, hub_.public_key());
    const auto signed_seed = seed_for(5, 0x11, hub_);
    QVERIFY(order.offer(signed_seed.to_hex()));
    const auto seed = order.seed_for(5);
    QVERIFY(seed.has_value());
    QVERIFY(*seed == signed_seed.seed.seed);
    std::vector<protocol::WeightedReplica> weighted;
    for (const auto& peer : peers_) weighted.push_back({peer.node_key, peer.tokens_per_s});
    const auto expected = protocol::order_replicas(*seed, 1, weighted);
    const auto ordered = RouteOrder::order(seed, 1, replicas_, peers_);
    QVERIFY(keys_of(ordered) == expected);
    for (const auto& hop : ordered) {  // endpoints travel with their keys
      const auto it = std::find_if(replicas_.begin(), replicas_.end(), [&](const net::Hop& h) { return h.key == hop.key; });
      QCOMPARE(QString::fromStdString(hop.endpoint), QString::fromStdString(it->endpoint));
    }
  }

  void seedsDrawDifferentOrders() {
    // Six replicas: two seeds giving the same order of all six would be a 1-in-720 coincidence
    // each; among ten seeds at least two orders differ, and some differ from key order.
    std::set<std::vector<wallet::PublicKey>> orders;
    for (std::uint8_t fill = 1; fill <= 10; ++fill) {
      RouteOrder order(kRun, hub_.public_key());
      QVERIFY(order.offer(seed_for(8, fill, hub_).to_hex()));
      orders.insert(keys_of(RouteOrder::order(order.seed_for(8), 1, replicas_, peers_)));
    }
    QVERIFY(orders.size() > 1);
    orders.erase(sorted());
    QVERIFY(!orders.empty());
  }

  void withoutASeedKeyOrder() {
    RouteOrder order(kRun, hub_.public_key());
    QVERIFY(!order.seed_for(0).has_value());
    QVERIFY(keys_of(RouteOrder::order(std::nullopt, 1, replicas_, peers_)) == sorted());
    QVERIFY(!order.offer(""));
    QVERIFY(!order.offer("not hex"));
  }

  void aForgedSeedIsIgnored() {
    RouteOrder order(kRun, hub_.public_key());
    QVERIFY(!order.offer(seed_for(5, 0x22, wallet::KeyPair::generate()).to_hex()));  // another key
    QVERIFY(!order.seed_for(5).has_value());
    QVERIFY(!order.offer(seed_for(5, 0x22, hub_, "another-run").to_hex()));
    QVERIFY(!order.seed_for(5).has_value());
    auto tampered = seed_for(5, 0x22, hub_);
    tampered.seed.seed[0] ^= 1;  // the hub's signature over other bytes
    QVERIFY(!order.offer(tampered.to_hex()));
    QVERIFY(!order.seed_for(5).has_value());
  }

  void aForgedSeedDoesNotReplaceTheHubs() {
    RouteOrder order(kRun, hub_.public_key());
    QVERIFY(order.offer(seed_for(5, 0x33, hub_).to_hex()));
    QVERIFY(!order.offer(seed_for(5, 0x44, wallet::KeyPair::generate()).to_hex()));
    QVERIFY(*order.seed_for(5) == seed_for(5, 0x33, hub_).seed.seed);
  }

  // The hub's newest seed orders its step and every later one (a driver that skipped steps to
  // catch up), never an earlier one; an older step's seed does not replace it.
  void theNewestSeedOrdersFromItsStepOn() {
    RouteOrder order(kRun, hub_.public_key());
    QVERIFY(order.offer(seed_for(5, 0x55, hub_).to_hex()));
    QVERIFY(!order.seed_for(4).has_value());
    QVERIFY(*order.seed_for(5) == seed_for(5, 0x55, hub_).seed.seed);
    QVERIFY(*order.seed_for(9) == seed_for(5, 0x55, hub_).seed.seed);
    QVERIFY(order.offer(seed_for(6, 0x66, hub_).to_hex()));  // the next step's replaces it
    QVERIFY(*order.seed_for(6) == seed_for(6, 0x66, hub_).seed.seed);
    QVERIFY(!order.seed_for(5).has_value());
    QVERIFY(!order.offer(seed_for(5, 0x77, hub_).to_hex()));  // an older step's
    QVERIFY(*order.seed_for(6) == seed_for(6, 0x66, hub_).seed.seed);
  }
};

QTEST_APPLESS_MAIN(TestRouteOrder)
#include "test_route_order.moc"
