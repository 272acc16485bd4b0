// PortMapper against a real miniupnpd: a node in a home namespace behind a NAT router namespace
// maps its port with UPnP-IGD or NAT-PMP, a host on the WAN side reaches it through the mapping,
// the mapping is renewed past its lease and is gone once removed; without miniupnpd, map() gives
// up in bounded time and says why. Needs root (CI runs tests as root).
#include <QDeadlineTimer>
#include <QProcess>
#include <QTest>

#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "nat_lab.h"

using nlohmann::json;
using tessera::test::EchoServer;
using tessera::test::NatLab;

namespace {

constexpr std::uint16_t kNodePort = 4242;

// nat_map_probe running inside `home`: its PortMapper's reports, one JSON line each.
class Probe {
 public:
  Probe(const std::string& home, const QStringList& options) {
    process_.setProcessChannelMode(QProcess::ForwardedErrorChannel);  // its log shows in the test output
    process_.start("ip", QStringList{"netns", "exec", QString::fromStdString(home), NAT_MAP_PROBE, "--port",
                                     QString::number(kNodePort), "--allow-reserved"} + options);
  }
  ~Probe() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.kill();
    process_.waitForFinished(5000);
  }

  // The next line as JSON; an object with "timeout" when none came within `timeout_ms`.
  json next(int timeout_ms = 20000) {
    const QDeadlineTimer deadline(timeout_ms);
    while (!process_.canReadLine()) {
      if (deadline.hasExpired() || !process_.waitForReadyRead(static_cast<int>(std::max<qint64>(deadline.remainingTime(), 1))))
        return json{{"timeout", true}};
    }
    const std::string line = process_.readLine().toStdString();
    json report = json::parse(line, nullptr, false);
    return report.is_object() ? report : json{{"unreadable", line}};
  }
  json current() {
    process_.write("current\n");
    return next();
  }
  json finish() {  // closes stdin: the probe removes its mapping and says so
    process_.closeWriteChannel();
    json removed = next();
    process_.waitForFinished(10000);
    return removed;
  }

 private:
  QProcess process_;
};

std::string text(const json& report, const char* key) { return report.value(key, std::string()); }

bool removedAtExit(Probe& probe) {
  const json said = probe.finish();
  if (said == json{{"removed", true}}) return true;
  qWarning("the probe did not report its removal: %s", said.dump().c_str());
  return false;
}

}  // namespace

class TestPortMapping : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<NatLab> lab_;

  bool startLab(bool with_miniupnpd) {
    lab_ = std::make_unique<NatLab>();
    try {
      lab_->start(with_miniupnpd);
      return true;
    } catch (const std::exception& error) {
      qWarning("%s", error.what());
      return false;
    }
  }

  // From the WAN host, through the mapping, to the echo server in `home`.
  std::string reachThrough(const json& mapping, const std::string& message) {
    return tessera::test::exchange(lab_->wan(), text(mapping, "external_address"),
                                   mapping.value("external_port", std::uint16_t{0}), message);
  }

  void mapReachRemove(const QStringList& options, const char* protocol) {
    QVERIFY(startLab(true));
    EchoServer server(lab_->home(), kNodePort);
    Probe probe(lab_->home(), options);
    const json mapping = probe.next();
    QVERIFY2(mapping.value("mapped", false), (mapping.dump() + "\n" + lab_->miniupnpd_log()).c_str());
    QCOMPARE(text(mapping, "protocol"), std::string(protocol));
    QCOMPARE(text(mapping, "external_address"), std::string(tessera::test::kRouterWanAddress));
    QCOMPARE(text(mapping, "internal_address"), std::string(tessera::test::kHomeAddress));
    QCOMPARE(mapping.value("internal_port", 0), int{kNodePort});
    QCOMPARE(mapping.value("external_port", 0), int{kNodePort});  // free on the router: the same port
    const std::string port_rule = "dport " + std::to_string(kNodePort);
    QVERIFY2(lab_->miniupnpd_redirects().find(port_rule) != std::string::npos, lab_->miniupnpd_redirects().c_str());

    QCOMPARE(reachThrough(mapping, "hello through the router"), std::string("hello through the router"));

    QVERIFY(removedAtExit(probe));
    QVERIFY2(lab_->miniupnpd_redirects().find(port_rule) == std::string::npos, lab_->miniupnpd_redirects().c_str());
    const std::string after = reachThrough(mapping, "still there?");
    QVERIFY2(after.starts_with("error:"), after.c_str());
  }

 private Q_SLOTS:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("needs root: it builds network namespaces and runs miniupnpd");
    if (::access("/usr/sbin/miniupnpd", X_OK) != 0) QFAIL("/usr/sbin/miniupnpd is missing (apt install miniupnpd-nftables)");
  }

  void cleanup() { lab_.reset(); }

  void upnpIgdMapsReachesAndRemoves() { mapReachRemove({}, "UPnP-IGD"); }

  void natPmpMapsReachesAndRemoves() { mapReachRemove({"--no-upnp"}, "NAT-PMP"); }

  void withoutRouterSupportMapGivesUpAndSaysWhy() {
    QVERIFY(startLab(false));
    Probe probe(lab_->home(), {"--timeout-ms", "1000"});
    const json report = probe.next();  // within the 20 s the probe is given: map() gave up on its own
    QVERIFY2(!report.contains("timeout"), "map() did not return");
    QCOMPARE(report.value("mapped", true), false);
    const std::string error = text(report, "error");
    QVERIFY2(error.find("no UPnP-IGD router answered within 1 s") != std::string::npos, error.c_str());
    QVERIFY2(error.find("NAT-PMP: ") != std::string::npos, error.c_str());
    QVERIFY(removedAtExit(probe));
  }

  // The lab's router has a TEST-NET WAN address, as a router behind another NAT has a private one.
  void routerBehindAnotherNatIsRefusedWithAReason() {
    QVERIFY(startLab(true));
    Probe probe(lab_->home(), {"--refuse-reserved"});
    const json report = probe.next();
    QCOMPARE(report.value("mapped", true), false);
    const std::string error = text(report, "error");
    QVERIFY2(error.find("UPnP-IGD: the UPnP-IGD router's internet address 198.51.100.1 is private or reserved") !=
                 std::string::npos, error.c_str());
    QVERIFY2(error.find("NAT-PMP: the gateway's internet address 198.51.100.1 is private or reserved") !=
                 std::string::npos, error.c_str());
    QVERIFY(removedAtExit(probe));
    QVERIFY2(lab_->miniupnpd_redirects().find("dport") == std::string::npos, lab_->miniupnpd_redirects().c_str());
  }

  void renewalKeepsTheMappingPastItsLease_data() {
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("protocol");
    QTest::newRow("UPnP-IGD") << QStringList{"--lease", "4"} << "UPnP-IGD";
    QTest::newRow("NAT-PMP") << QStringList{"--lease", "4", "--no-upnp"} << "NAT-PMP";
  }

  // miniupnpd drops a mapping when its lease ends; only renewals keep it.
  void renewalKeepsTheMappingPastItsLease() {
    QFETCH(QStringList, options);
    QFETCH(QString, protocol);
    QVERIFY(startLab(true));
    EchoServer server(lab_->home(), kNodePort);
    Probe probe(lab_->home(), options);
    const json mapping = probe.next();
    QVERIFY2(mapping.value("mapped", false), (mapping.dump() + "\n" + lab_->miniupnpd_log()).c_str());
    QCOMPARE(text(mapping, "protocol"), protocol.toStdString());
    QCOMPARE(mapping.value("lifetime", 0), 4);
    QTest::qWait(9000);  // two leases and a bit
    const json renewed = probe.current();
    QVERIFY2(renewed.value("mapped", false), (renewed.dump() + "\n" + lab_->miniupnpd_log()).c_str());
    QCOMPARE(reachThrough(renewed, "after two leases"), std::string("after two leases"));
    QVERIFY(removedAtExit(probe));
  }
};

QTEST_APPLESS_MAIN(TestPortMapping)
#include "test_port_mapping.moc"
