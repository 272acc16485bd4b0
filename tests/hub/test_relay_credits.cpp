// RelayCredits: a relay is credited only what both it and its client say it carried, each byte
// once, at the hub's rate, to the relay's owner; restarts, lies and malformed entries earn nothing.
#include <QtTest>

#include "core/hub/relay_credits.h"
#include "core/wallet/encoding.h"

using namespace tessera;
using nlohmann::json;

class TestRelayCredits : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair relay_ = wallet::KeyPair::generate();
  wallet::KeyPair client_ = wallet::KeyPair::generate();
  wallet::KeyPair sibling_ = wallet::KeyPair::generate();  // another node of the relay's owner
  std::map<std::string, double> credited_;
  std::unique_ptr<hub::RelayCredits> credits_;

  json served(std::uint64_t bytes) const {
    return {{"relay_served", json::array({{{"client", wallet::to_hex(client_.public_key())}, {"bytes", bytes}}})}};
  }
  json relayed(std::uint64_t bytes) const {
    return {{"relayed", {{"via", wallet::to_hex(relay_.public_key())}, {"bytes", bytes}}}};
  }

 private Q_SLOTS:
  void init() {
    credited_.clear();
    credits_ = std::make_unique<hub::RelayCredits>(
        10.0,
        [this](const wallet::PublicKey& key) -> std::optional<std::string> {
          if (key == relay_.public_key()) return std::string("relay-owner");
          if (key == client_.public_key()) return std::string("client-owner");
          if (key == sibling_.public_key()) return std::string("relay-owner");
          return std::nullopt;
        },
        [this](const std::string& owner, double flops) { credited_[owner] += flops; });
  }

  void theSmallerClaimIsCreditedOnce() {
    credits_->heartbeat(relay_.public_key(), served(1000));
    QCOMPARE(credited_["relay-owner"], 0.0);  // the client has not said anything yet
    credits_->heartbeat(client_.public_key(), relayed(800));
    QCOMPARE(credited_["relay-owner"], 8000.0);
    credits_->heartbeat(client_.public_key(), relayed(800));  // the same count again: nothing new
    QCOMPARE(credited_["relay-owner"], 8000.0);
    credits_->heartbeat(client_.public_key(), relayed(5000));  // the client says more than the relay
    QCOMPARE(credited_["relay-owner"], 10000.0);
    QCOMPARE(credits_->credited(relay_.public_key(), client_.public_key()), std::uint64_t(1000));
    QCOMPARE(credited_.size(), std::size_t(1));  // nobody else earned anything
  }

  void aRestartedRelayEarnsNothingUntilItPassesWhatWasCredited() {
    credits_->heartbeat(relay_.public_key(), served(1000));
    credits_->heartbeat(client_.public_key(), relayed(1000));
    credits_->heartbeat(relay_.public_key(), served(10));  // it restarted: counts from zero again
    credits_->heartbeat(client_.public_key(), relayed(1500));
    QCOMPARE(credited_["relay-owner"], 10000.0);
    credits_->heartbeat(relay_.public_key(), served(1200));
    QCOMPARE(credited_["relay-owner"], 12000.0);
  }

  void oneSideAloneEarnsNothing() {
    credits_->heartbeat(relay_.public_key(), served(1u << 30));
    json self{{"relay_served", json::array({{{"client", wallet::to_hex(relay_.public_key())}, {"bytes", 1u << 30}}})},
              {"relayed", {{"via", wallet::to_hex(relay_.public_key())}, {"bytes", 1u << 30}}}};
    credits_->heartbeat(relay_.public_key(), self);  // a relay cannot be its own client
    QCOMPARE(credited_["relay-owner"], 0.0);
  }

  void aRelayEarnsNothingForItsOwnOwnersNodes() {
    const json served_sibling{
        {"relay_served", json::array({{{"client", wallet::to_hex(sibling_.public_key())}, {"bytes", 5000}}})}};
    credits_->heartbeat(relay_.public_key(), served_sibling);
    const json relayed_sibling{{"relayed", {{"via", wallet::to_hex(relay_.public_key())}, {"bytes", 5000}}}};
    credits_->heartbeat(sibling_.public_key(), relayed_sibling);
    QVERIFY(credited_.empty());
  }

  void colludingSidesAreHeldToALinksRate() {
    const auto start = hub::RelayCredits::Clock::now();
    const std::uint64_t huge = 1ull << 40;
    credits_->heartbeat(relay_.public_key(), served(huge), start);
    credits_->heartbeat(client_.public_key(), relayed(huge), start);
    const auto burst = static_cast<std::uint64_t>(hub::RelayCredits::kBurstBytes);
    QCOMPARE(credits_->credited(relay_.public_key(), client_.public_key()), burst);
    credits_->heartbeat(client_.public_key(), relayed(huge), start + std::chrono::seconds(10));
    QCOMPARE(credits_->credited(relay_.public_key(), client_.public_key()),
             burst + static_cast<std::uint64_t>(10 * hub::RelayCredits::kMaxBytesPerSecond));
  }

  void malformedEntriesAreIgnored() {
    for (const auto& body : {json::array(), json{{"relay_served", "x"}}, json{{"relay_served", json::array({1, "a"})}},
                             json{{"relayed", {{"via", "zz"}, {"bytes", 5}}}},
                             json{{"relayed", {{"via", wallet::to_hex(relay_.public_key())}, {"bytes", -5}}}}}) {
      credits_->heartbeat(client_.public_key(), body);
      credits_->heartbeat(relay_.public_key(), body);
    }
    QCOMPARE(credits_->credited(relay_.public_key(), client_.public_key()), std::uint64_t(0));
    QVERIFY(credited_.empty());
  }
};

QTEST_APPLESS_MAIN(TestRelayCredits)
#include "test_relay_credits.moc"
