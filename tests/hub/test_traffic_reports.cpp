// The hub's traffic reports: a member's latest heartbeat report is kept and summed; garbage,
// negative, fractional and huge counts, unknown kinds and oversized objects are ignored (and the
// previous report stays); at most max_nodes are kept.
#include <QtTest>

#include "core/hub/traffic_reports.h"

using namespace tessera;
using nlohmann::json;

namespace {

json heartbeat(std::uint64_t forward_sent, std::uint64_t tokens) {
  net::TrafficSnapshot bytes;
  bytes[net::TrafficKind::boundary_forward] = {forward_sent, 10};
  return {{"traffic", bytes.to_json()}, {"tokens", tokens}};
}

wallet::PublicKey key(std::uint8_t n) {
  wallet::PublicKey k{};
  k[0] = n;
  return k;
}

}  // namespace

class TestTrafficReports : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void theLatestReportIsKeptAndSummed() {
    hub::TrafficReports reports;
    QVERIFY(reports.record(key(1), 0, heartbeat(100, 5)));
    QVERIFY(reports.record(key(1), 0, heartbeat(190, 10)));
    QVERIFY(reports.record(key(2), 1, heartbeat(10, 10)));
    const auto all = reports.reports();
    QCOMPARE(all.size(), std::size_t{2});
    QCOMPARE(all[0].report.bytes[net::TrafficKind::boundary_forward].sent, std::uint64_t{190});
    QCOMPARE(all[1].stage, 1);
    const auto served = reports.to_json();
    QCOMPARE(served["nodes"].size(), std::size_t{2});
    QCOMPARE(served["nodes"][0]["tokens"].get<std::uint64_t>(), std::uint64_t{10});
    QCOMPARE(served["nodes"][1]["stage"].get<int>(), 1);
    QCOMPARE(served["total"]["traffic"]["total"]["sent"].get<std::uint64_t>(), std::uint64_t{200});
    QCOMPARE(served["total"]["tokens"].get<std::uint64_t>(), std::uint64_t{20});
    QCOMPARE(served["total"]["bytes_per_token"].get<double>(), 11.0);  // (200 + 20) / 20
  }

  void aHeartbeatWithoutReportIsNoReport() {
    hub::TrafficReports reports;
    QVERIFY(!reports.record(key(1), 0, json::object()));
    QVERIFY(reports.reports().empty());
    QVERIFY(reports.to_json()["total"]["bytes_per_token"].is_null());
  }

  void hostileReportsAreIgnored() {
    hub::TrafficReports reports;
    QVERIFY(reports.record(key(1), 0, heartbeat(7, 1)));
    const char* bad[] = {
        R"({"traffic": "lots", "tokens": 1})",
        R"({"traffic": [], "tokens": 1})",
        R"({"traffic": {"control": {"sent": -5, "received": 0}}, "tokens": 1})",
        R"({"traffic": {"control": {"sent": 1e300, "received": 0}}, "tokens": 1})",
        R"({"traffic": {"control": {"sent": 9007199254740993, "received": 0}}, "tokens": 1})",
        R"({"traffic": {"dns": {"sent": 1, "received": 0}}, "tokens": 1})",
        R"({"traffic": {"control": {"sent": 1, "received": 0}}, "tokens": -1})",
        R"({"traffic": {"control": {"sent": 1, "received": 0}}, "tokens": 1.5})",
        R"({"traffic": {"control": {"sent": 1, "received": 0}}})",
        R"({"traffic": {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1, "h": 1, "i": 1, "j": 1}, "tokens": 1})",
    };
    for (const auto* text : bad) QVERIFY2(!reports.record(key(1), 0, json::parse(text)), text);
    QCOMPARE(reports.reports().size(), std::size_t{1});
    QCOMPARE(reports.reports()[0].report.bytes[net::TrafficKind::boundary_forward].sent, std::uint64_t{7});
  }

  void atMostMaxNodesAreKept() {
    hub::TrafficReports reports(2);
    QVERIFY(reports.record(key(1), 0, heartbeat(1, 1)));
    QVERIFY(reports.record(key(2), 0, heartbeat(2, 1)));
    QVERIFY(reports.record(key(3), 0, heartbeat(3, 1)));  // replaces key 1, heard from longest ago
    const auto all = reports.reports();
    QCOMPARE(all.size(), std::size_t{2});
    QCOMPARE(all[0].node, key(2));
    QCOMPARE(all[1].node, key(3));
  }
};

QTEST_APPLESS_MAIN(TestTrafficReports)
#include "test_traffic_reports.moc"
