// net::probe_endpoint against real CURVE servers on 127.0.0.1: a server holding the node's key is
// reachable whether or not its allowlist admits the probe; a server with another key, a closed
// port and a plain TCP listener that never speaks are not, each with a reason, within the timeout.
#include <QtTest>

#include <chrono>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/reach_probe.h"
#include "core/net/zap.h"
#include "tests/support/loopback_listener.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

using Node = test::CurveNode;
using SilentListener = test::LoopbackListener;

}  // namespace

class TestReachProbe : public QObject {
  Q_OBJECT

 private:
  zmq::context_t context_;
  std::shared_ptr<net::PeerAllowlist> allowlist_ = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap_;
  Node server_node_;
  std::unique_ptr<net::Server> server_;

 private Q_SLOTS:
  void initTestCase() {
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist_);
    server_ = std::make_unique<net::Server>(context_, server_node_.curve, "tcp://127.0.0.1:0");
  }

  void theKeysHolderIsReachableThoughItsAllowlistRefusesTheProbe() {
    const auto refused_before = zap_->refused();
    const auto result = net::probe_endpoint(context_, server_node_.curve.public_key, server_->endpoint(), 3000ms);
    QVERIFY2(result.reachable, result.detail.c_str());
    QVERIFY(zap_->refused() > refused_before);  // the probe was not admitted, and still proved the key
  }

  void anotherKeyIsNotTheNode() {
    const Node stranger;
    const auto started = std::chrono::steady_clock::now();
    const auto result = net::probe_endpoint(context_, stranger.curve.public_key, server_->endpoint(), 1500ms);
    QVERIFY(!result.reachable);
    QVERIFY(!result.detail.empty());
    QVERIFY(std::chrono::steady_clock::now() - started < 5s);
  }

  void aClosedPortIsRefused() {
    const int port = test::closed_loopback_port();
    const auto result =
        net::probe_endpoint(context_, server_node_.curve.public_key, "tcp://127.0.0.1:" + std::to_string(port), 1000ms);
    QVERIFY(!result.reachable);
    QVERIFY2(result.detail.find("refused") != std::string::npos, result.detail.c_str());
  }

  void aSilentPortTimesOut() {
    SilentListener silent;
    const auto started = std::chrono::steady_clock::now();
    const auto result = net::probe_endpoint(context_, server_node_.curve.public_key,
                                            "tcp://127.0.0.1:" + std::to_string(silent.port), 1000ms);
    QVERIFY(!result.reachable);
    QVERIFY(std::chrono::steady_clock::now() - started < 4s);
  }

  void aMalformedEndpointIsNotReachable() {
    const auto result = net::probe_endpoint(context_, server_node_.curve.public_key, "tcp://no port here", 500ms);
    QVERIFY(!result.reachable);
    QVERIFY(!result.detail.empty());
  }

  void cleanupTestCase() {
    server_.reset();
    zap_.reset();
  }
};

QTEST_APPLESS_MAIN(TestReachProbe)
#include "test_reach_probe.moc"
