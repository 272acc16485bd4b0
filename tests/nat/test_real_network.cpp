// Issue 18 end to end, with the real binaries on hosts in network namespaces (lab_run.h):
// - a hub and three nodes on three hosts train over HTTPS-pinned links, every receipt verified,
//   each node reachable directly at its host's address;
// - a node behind a NAT router running miniupnpd maps a port and trains directly through it;
// - a node behind a NAT router without UPnP trains through a relay another node offers; killing
//   that relay moves it to the other relay and the run goes on.
// Needs root, ip, nft and /usr/sbin/miniupnpd (skips without root).
#include <QtTest>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "lab_run.h"
#include "network_lab.h"

using namespace tessera;
using test::LabRun;
using test::NetworkLab;

namespace {

template <typename Condition>
bool eventually(Condition&& condition, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return true;
}

std::string how(const nlohmann::json& status) {
  return status.is_object() && status.contains("reachability") ? status["reachability"].value("how", "") : "";
}
std::string where(const nlohmann::json& status) {
  return status.is_object() && status.contains("reachability") ? status["reachability"].value("endpoint", "") : "";
}
std::string detail(const nlohmann::json& status) {
  return status.is_object() && status.contains("reachability") ? status["reachability"].value("detail", "") : "";
}

// Prints what every process wrote (a QVERIFY2 message is cut short) and returns a short message.
QByteArray explain(LabRun& run, const nlohmann::json& status = nullptr) {
  qWarning("%s", qPrintable(run.outputs()));
  return QByteArray::fromStdString("status: " + status.dump() + " (every process's output is above)");
}

}  // namespace

class TestRealNetwork : public QObject {
  Q_OBJECT

 private:
  // Verified receipts grow and none is rejected.
  static void expect_receipts_verified(LabRun& run) {
    nlohmann::json summary;
    QVERIFY2(eventually(
                 [&] {
                   summary = run.hub_get("/api/receipts/summary");
                   return summary.is_object() && summary.value("verified", 0) >= 4;
                 },
                 60),
             explain(run, summary).constData());
    QCOMPARE(summary.value("rejected", -1), 0);
  }

 private Q_SLOTS:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("needs root for network namespaces");
  }

  void threeHostsTrainWithEveryReceiptVerified() {
    NetworkLab lab("run3");
    const auto hub = lab.add_host("hub", "198.51.100.10");
    LabRun run(3);
    QVERIFY2(!run.start_hub(hub, "198.51.100.10").empty(), explain(run).constData());
    QVERIFY(run.link().rfind("tessera://198.51.100.10:8800/", 0) == 0);
    for (int i = 1; i <= 3; ++i) {
      const auto address = "198.51.100.1" + std::to_string(i);
      run.start_node("n" + std::to_string(i), lab.add_host("n" + std::to_string(i), address));
    }
    QVERIFY2(eventually([&] { return run.steps() >= 5; }, 120), explain(run).constData());
    expect_receipts_verified(run);
    for (int i = 1; i <= 3; ++i) {
      const auto status = run.node_status("n" + std::to_string(i));
      QCOMPARE(how(status), std::string("direct"));
      QCOMPARE(where(status), "tcp://198.51.100.1" + std::to_string(i) + ":7000");
    }
  }

  void aNodeBehindUpnpMapsAPortAndTrainsDirectly() {
    NetworkLab lab("upnp");
    const auto hub = lab.add_host("hub", "198.51.100.10");
    const auto home = lab.add_home("home", "198.51.100.1", true);
    LabRun run(2);
    QVERIFY2(!run.start_hub(hub, "198.51.100.10").empty(), explain(run).constData());
    run.start_node("public", lab.add_host("public", "198.51.100.11"));
    run.start_node("home", home.host);
    nlohmann::json status;
    QVERIFY2(eventually([&] { return how(status = run.node_status("home")) == "port mapping"; }, 60),
             explain(run, status).constData());
    QCOMPARE(where(status), std::string("tcp://198.51.100.1:7000"));  // the router's address, the node's port
    QVERIFY2(lab.miniupnpd_redirects(home).find("dport 7000") != std::string::npos,
             lab.miniupnpd_redirects(home).c_str());
    QVERIFY2(eventually([&] { return run.steps() >= 5; }, 120), explain(run).constData());
    expect_receipts_verified(run);
  }

  void aNodeBehindNatWithoutUpnpTrainsThroughARelayAndMovesWhenItDies() {
    NetworkLab lab("relay");
    const auto hub = lab.add_host("hub", "198.51.100.10");
    const auto home = lab.add_home("home", "198.51.100.1", false);
    LabRun run(2);
    QVERIFY2(!run.start_hub(hub, "198.51.100.10").empty(), explain(run).constData());
    // Stages by arrival: r1 → 0, r2 → 1, plain → 0, home → 1; either relay can die and leave a replica.
    run.start_node("r1", lab.add_host("r1", "198.51.100.11"), {"--relay", "7001"});
    QVERIFY(eventually([&] { return !where(run.node_status("r1")).empty(); }, 60));
    run.start_node("r2", lab.add_host("r2", "198.51.100.12"), {"--relay", "7001"});
    QVERIFY(eventually([&] { return !where(run.node_status("r2")).empty(); }, 60));
    run.start_node("plain", lab.add_host("plain", "198.51.100.13"));
    QVERIFY(eventually([&] { return !where(run.node_status("plain")).empty(); }, 60));
    run.start_node("home", home.host);
    nlohmann::json status;
    QVERIFY2(eventually([&] { return how(status = run.node_status("home")) == "relay"; }, 90),
             explain(run, status).constData());
    const bool via_r1 = detail(status).find(run.node_key_hex("r1").substr(0, 12)) != std::string::npos;
    const std::string used = via_r1 ? "r1" : "r2", other = via_r1 ? "r2" : "r1";
    QCOMPARE(where(status), std::string(via_r1 ? "tcp://198.51.100.11:" : "tcp://198.51.100.12:") +
                                where(status).substr(where(status).rfind(':') + 1));
    // The relayed node has its stage's state and trains (it syncs from a replica, which may be
    // its relay: killing that before would leave the stage with no state to give).
    QVERIFY2(eventually([&] { return (status = run.node_status("home")).value("state", "") == "running"; }, 120),
             explain(run, status).constData());
    const auto trained_from = run.steps();
    QVERIFY2(eventually([&] { return run.steps() >= trained_from + 3; }, 120), explain(run).constData());
    expect_receipts_verified(run);

    run.kill_node(used);
    QVERIFY2(eventually(
                 [&] {
                   status = run.node_status("home");
                   return how(status) == "relay" &&
                          detail(status).find(run.node_key_hex(other).substr(0, 12)) != std::string::npos;
                 },
                 90),
             explain(run, status).constData());
    // Training goes on, and its receipts are verified (a step the killed relay was part of may
    // have left receipts that are rejected because it never committed: that is the hub's rule).
    const auto after_move = run.steps();
    const auto verified = run.hub_get("/api/receipts/summary").value("verified", 0);
    QVERIFY2(eventually([&] { return run.steps() >= after_move + 5; }, 120), explain(run).constData());
    // Receipts reach the hub in batches after their step: the new ones are verified soon after.
    QVERIFY2(eventually([&] { return run.hub_get("/api/receipts/summary").value("verified", 0) > verified; }, 60),
             explain(run).constData());
  }
};

QTEST_APPLESS_MAIN(TestRealNetwork)
#include "test_real_network.moc"
