// Run links (core/protocol/run_link.h): written and read back, IPv6 in brackets, the default port,
// and each malformed part refused with a message naming it; loopback hosts (core/net/loopback_host.h).
#include <QtTest>

#include "core/net/loopback_host.h"
#include "core/protocol/run_link.h"
#include "core/wallet/encoding.h"

using namespace tessera;

namespace {

QString refusal(const std::string& text) {
  try {
    protocol::parse_run_link(text);
  } catch (const std::invalid_argument& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace

class TestRunLink : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void roundTrips() {
    const auto key = wallet::KeyPair::generate().public_key();
    const protocol::RunLink link{"hub.example.org", 8800, "tiny-run_2.0", key};
    const auto text = link.to_string();
    QCOMPARE(QString::fromStdString(text),
             QStringLiteral("tessera://hub.example.org:8800/tiny-run_2.0#") + QString::fromStdString(wallet::base58_encode(key)));
    QVERIFY(protocol::is_run_link(text));
    const auto back = protocol::parse_run_link(text);
    QCOMPARE(QString::fromStdString(back.host), QStringLiteral("hub.example.org"));
    QCOMPARE(back.port, 8800);
    QCOMPARE(QString::fromStdString(back.run_id), QStringLiteral("tiny-run_2.0"));
    QVERIFY(back.publisher == key);
    QCOMPARE(QString::fromStdString(back.https_url()), QStringLiteral("https://hub.example.org:8800"));
  }

  void ipv6HostsGoInBracketsAndThePortDefaultsTo443() {
    const auto key = wallet::KeyPair::generate().public_key();
    const protocol::RunLink link{"2001:db8::7", 9000, "r", key};
    const auto text = link.to_string();
    QVERIFY(text.rfind("tessera://[2001:db8::7]:9000/r#", 0) == 0);
    const auto back = protocol::parse_run_link(text);
    QCOMPARE(QString::fromStdString(back.host), QStringLiteral("2001:db8::7"));
    QCOMPARE(QString::fromStdString(back.https_url()), QStringLiteral("https://[2001:db8::7]:9000"));
    const auto no_port = protocol::parse_run_link("tessera://198.51.100.4/r#" + wallet::base58_encode(key));
    QCOMPARE(no_port.port, 443);
    QVERIFY(no_port.to_string().find(":443/") != std::string::npos);  // written out in full
  }

  void malformedPartsAreNamed() {
    const auto key = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    QVERIFY(refusal("https://hub:1/r#" + key).contains("must start with tessera://"));
    QVERIFY(!protocol::is_run_link("https://hub:1/r#" + key));
    QVERIFY(refusal("tessera://:8800/r#" + key).contains("no host"));
    QVERIFY(refusal("tessera://hu b:8800/r#" + key).contains("host"));
    QVERIFY(refusal("tessera://[::1:8800/r#" + key).contains("closing ']'"));
    QVERIFY(refusal("tessera://[hub]:8800/r#" + key).contains("IPv6"));
    QVERIFY(refusal("tessera://hub:0/r#" + key).contains("port"));
    QVERIFY(refusal("tessera://hub:65536/r#" + key).contains("port"));
    QVERIFY(refusal("tessera://hub:80x/r#" + key).contains("port"));
    QVERIFY(refusal("tessera://hub:/r#" + key).contains("port"));
    QVERIFY(refusal("tessera://hub:8800#" + key).contains("run id"));
    QVERIFY(refusal("tessera://hub:8800/#" + key).contains("run id"));
    QVERIFY(refusal("tessera://hub:8800/a/b#" + key).contains("run id"));
    QVERIFY(refusal("tessera://hub:8800/r").contains("publisher key"));
    QVERIFY(refusal("tessera://hub:8800/r#").contains("publisher key"));
    QVERIFY(refusal("tessera://hub:8800/r#0OIl").contains("publisher key"));            // not base58
    QVERIFY(refusal("tessera://hub:8800/r#" + key.substr(0, 20)).contains("32-byte"));  // too short
    QVERIFY(refusal("tessera://hub:8800/r#" + std::string(600, '1')).contains("longer than"));
    QVERIFY(refusal("tessera://hub:8800/r#" + key).isEmpty());
  }

  void loopbackHosts() {
    for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost", "node.localhost",
                             "::ffff:127.0.0.1"})
      QVERIFY2(net::is_loopback_host(host), host);
    for (const char* host : {"192.0.2.1", "0.0.0.0", "::", "128.0.0.1", "localhost.example", "hub", "", "::ffff:10.0.0.1"})
      QVERIFY2(!net::is_loopback_host(host), host);
  }
};

QTEST_APPLESS_MAIN(TestRunLink)
#include "test_run_link.moc"
