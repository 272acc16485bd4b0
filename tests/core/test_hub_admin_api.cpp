// The admin API's shapes and amounts: decimals of the currency read as exact micro-units (and
// anything else refused), printed back with 6 decimals; key records and the access file round-trip,
// and an access file that points off this machine is refused.
#include <QtTest>

#include <limits>

#include "core/protocol/hub_admin_api.h"

using namespace tessera;

class TestHubAdminApi : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void amountsAreExactMicroUnits() {
    QCOMPARE(protocol::parse_currency_amount("5"), std::int64_t(5'000'000));
    QCOMPARE(protocol::parse_currency_amount("0.25"), std::int64_t(250'000));
    QCOMPARE(protocol::parse_currency_amount("1.000001"), std::int64_t(1'000'001));
    QCOMPARE(protocol::parse_currency_amount("0.000020"), std::int64_t(20));
    QCOMPARE(protocol::parse_currency_amount("9223372036854.775807"), std::numeric_limits<std::int64_t>::max());
    for (const char* bad : {"", "-1", "+1", "1e3", "1.", ".5", "1.0000001", "1,5", "0x10", " 1", "9223372036854.775808",
                            "99999999999999999999"})
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::parse_currency_amount(bad));
    QCOMPARE(protocol::format_currency_amount(12'500'000), std::string("12.500000"));
    QCOMPARE(protocol::format_currency_amount(20), std::string("0.000020"));
    QCOMPARE(protocol::format_currency_amount(-1), std::string("-0.000001"));
  }

  void recordsAndAccessRoundTrip() {
    const protocol::ApiKeyInfo key{7, "alice", 100, 18, 2, 1700000000000, 1700000001000};
    const auto back = protocol::api_key_info_from_json(protocol::to_json(key));
    QCOMPARE(back.id, key.id);
    QCOMPARE(back.name, key.name);
    QCOMPARE(back.balance, key.balance);
    QCOMPARE(back.reserved, key.reserved);
    QCOMPARE(back.spent, key.spent);
    QCOMPARE(back.revoked_ms, key.revoked_ms);
    auto json = protocol::to_json(key);
    json["balance"] = 1.5;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::api_key_info_from_json(json));
    const protocol::AdminAccess access{"http://127.0.0.1:4242", std::string(64, 'a')};
    QCOMPARE(protocol::admin_access_from_json(protocol::to_json(access)).url, access.url);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             protocol::admin_access_from_json({{"url", "http://evil.example:80"}, {"token", "x"}}));
  }
};

QTEST_APPLESS_MAIN(TestHubAdminApi)
#include "test_hub_admin_api.moc"
