// is_reserved_ipv4: which router WAN addresses mean "behind another NAT".
#include <QTest>

#include "core/nat/address_class.h"

using tessera::nat::is_reserved_ipv4;

class TestAddressClass : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void privateSharedAndDocumentationBlocksAreReserved() {
    for (const char* address : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                                "100.127.255.254", "127.0.0.1", "169.254.9.9", "192.0.2.1", "198.51.100.1",
                                "203.0.113.7", "0.0.0.0", "224.0.0.1", "255.255.255.255"})
      QVERIFY2(is_reserved_ipv4(address), address);
  }
  void publicAddressesAreNot() {
    for (const char* address : {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255",
                                "100.128.0.1", "198.51.101.1", "203.0.114.1", "81.2.69.160"})
      QVERIFY2(!is_reserved_ipv4(address), address);
  }
  void textThatIsNotAnAddressIsReserved() {
    QVERIFY(is_reserved_ipv4(""));
    QVERIFY(is_reserved_ipv4("router.local"));
    QVERIFY(is_reserved_ipv4("1.2.3.4.5"));
  }
};

QTEST_APPLESS_MAIN(TestAddressClass)
#include "test_address_class.moc"
