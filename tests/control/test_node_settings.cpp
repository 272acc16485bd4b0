// What the node and the app share, read and written in one place (core/control): the settings'
// defaults, rules and merge (the app refuses what the node refuses, with the same message), the
// status's JSON form, and control.json.
#include <QtTest>

#include <QTemporaryDir>

#include <filesystem>

#include "core/control/control_file.h"
#include "core/control/node_settings.h"
#include "core/control/node_status.h"

using tessera::control::NodeSettings;
using tessera::control::NodeStatus;
using tessera::control::PowerProfile;

namespace {

// The message a patch is refused with, or empty when it is accepted.
QString refusal(const nlohmann::json& patch, const NodeSettings& base = {}) {
  try {
    base.merged(patch);
  } catch (const std::invalid_argument& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace

class TestNodeSettings : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void defaultsAreTheNodes() {
    const auto json = NodeSettings{}.to_json();
    QCOMPARE(json, nlohmann::json::parse(R"({"power_profile": "balanced", "threads": 0, "device_share": 1.0,
      "memory_limit_mib": 0, "only_when_idle": false, "idle_minutes": 5, "on_battery": false,
      "schedule": {"enabled": false, "start": "22:00", "end": "07:00"}, "max_temperature_c": 85.0,
      "max_power_w": 0.0, "hub_url": ""})"));
    QVERIFY(NodeSettings::from_json(json) == NodeSettings{});
    QVERIFY(NodeSettings::from_json(nlohmann::json::object()) == NodeSettings{});
  }

  void patchesMerge() {
    const auto merged = NodeSettings{}.merged({{"power_profile", "light"}, {"schedule", {{"enabled", true}}}});
    QVERIFY(merged.profile == PowerProfile::Light);
    QVERIFY(merged.schedule.enabled);
    QCOMPARE(merged.schedule.start_minute, 22 * 60);  // the fields a patch leaves out stay
    QCOMPARE(merged.device_share, 1.0);
    const auto back = merged.merged({{"schedule", {{"start", "06:30"}}}, {"hub_url", "https://hub.example"}});
    QCOMPARE(back.schedule.start_minute, 6 * 60 + 30);
    QVERIFY(back.schedule.enabled);
    QCOMPARE(QString::fromStdString(back.hub_url), QStringLiteral("https://hub.example"));
    QVERIFY(NodeSettings::from_json(back.to_json()) == back);
  }

  void refusalsNameTheSetting() {
    QCOMPARE(refusal({{"power_profile", "turbo"}}),
             QStringLiteral("settings: power_profile must be \"light\", \"balanced\" or \"full\""));
    QCOMPARE(refusal({{"threads", 2.5}}), QStringLiteral("settings: threads must be a whole number from 0 (automatic) to 1024"));
    QCOMPARE(refusal({{"threads", 2000}}), QStringLiteral("settings: threads must be a whole number from 0 (automatic) to 1024"));
    QCOMPARE(refusal({{"device_share", 1.5}}), QStringLiteral("settings: device_share must be a number from 0 to 1"));
    QCOMPARE(refusal({{"memory_limit_mib", -1}}), QStringLiteral("settings: memory_limit_mib must be 0 (no limit) or more"));
    QCOMPARE(refusal({{"only_when_idle", "yes"}}), QStringLiteral("settings: only_when_idle must be true or false"));
    QCOMPARE(refusal({{"idle_minutes", 0}}), QStringLiteral("settings: idle_minutes must be from 1 to 1440"));
    QCOMPARE(refusal({{"on_battery", 1}}), QStringLiteral("settings: on_battery must be true or false"));
    QVERIFY(refusal({{"schedule", {{"end", "24:00"}}}}).contains(QStringLiteral("HH:MM")));
    QVERIFY(refusal({{"schedule", "nightly"}}).contains(QStringLiteral("HH:MM")));
    QCOMPARE(refusal({{"schedule", {{"days", 5}}}}), QStringLiteral("settings: unknown schedule field 'days'"));
    QCOMPARE(refusal({{"max_temperature_c", 20}}),
             QStringLiteral("settings: max_temperature_c must be 0 (no cap) or from 30 to 110"));
    QCOMPARE(refusal({{"max_temperature_c", 0}}), QString());  // no cap
    QCOMPARE(refusal({{"max_power_w", -5}}), QStringLiteral("settings: max_power_w must be 0 (no cap) or more"));
    QCOMPARE(refusal({{"hub_url", "hub.example:8080"}}), QStringLiteral("settings: hub_url: not a hub address (it must start with tessera://, https:// or http://): 'hub.example:8080'; give the run's tessera:// link or an https:// URL"));
    QCOMPARE(refusal({{"hub_url", 7}}), QStringLiteral("settings: hub_url must be a string (empty: the local network)"));
    QCOMPARE(refusal({{"hub_url", ""}}), QString());
    // A run link, https://, or plain http:// to this computer only (the node's own rules).
    QCOMPARE(refusal({{"hub_url", "tessera://hub.example:8800/run-1#6ppSLuJLV4VRCFWRuyQ5spdG8sPztyf5RSZYpRbF2mTi"}}), QString());
    QCOMPARE(refusal({{"hub_url", "http://127.0.0.1:8800"}}), QString());
    QCOMPARE(refusal({{"hub_url", "http://192.0.2.1:8800"}}),
             QStringLiteral("settings: hub_url: refusing plain HTTP to 192.0.2.1: ask for the run's tessera:// link or an https:// URL"));
    QVERIFY(refusal({{"hub_url", "tessera://hub.example:8800/run-1#nokey"}}).contains(QStringLiteral("publisher key")));
    QCOMPARE(refusal({{"turbo", true}}), QStringLiteral("settings: unknown setting 'turbo'"));
    QCOMPARE(refusal(nlohmann::json::array()), QStringLiteral("settings: settings must be a JSON object"));
  }

  void patchHoldsWhatChanged() {
    NodeSettings before;
    auto after = before;
    QCOMPARE(tessera::control::settings_patch(before, after), nlohmann::json::object());
    after.idle_minutes = 12;
    after.schedule.enabled = true;
    const auto patch = tessera::control::settings_patch(before, after);
    QCOMPARE(patch, (nlohmann::json{{"idle_minutes", 12}, {"schedule", {{"enabled", true}, {"start", "22:00"}, {"end", "07:00"}}}}));
    QVERIFY(before.merged(patch) == after);
  }

  void statusRoundTrips() {
    NodeStatus status;
    status.state = "running";
    status.network = "local";
    status.stage = 1;
    status.stages = 3;
    status.step = 42;
    status.loss = 2.5;
    status.peers = 2;
    const auto json = status.to_json();
    QCOMPARE(json["state"], nlohmann::json("running"));
    QCOMPARE(json["loss"], nlohmann::json(2.5));
    QVERIFY(json["temperature_c"].is_null());
    QVERIFY(NodeStatus::from_json(json) == status);
    // A status with fewer keys (an older node) keeps the defaults; a wrong type is an error.
    const auto partial = NodeStatus::from_json({{"state", "paused"}, {"loss", nullptr}});
    QCOMPARE(QString::fromStdString(partial.state), QStringLiteral("paused"));
    QVERIFY(!partial.loss && partial.stage == -1);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, NodeStatus::from_json({{"step", "many"}}));
  }

  void controlFileRoundTrips() {
    QTemporaryDir dir;
    const std::filesystem::path file = dir.filePath(QString::fromLatin1(tessera::control::kControlFileName)).toStdString();
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, tessera::control::read_control_file(file));
    const std::string hex(64, 'a');
    const auto token = tessera::wallet::SecureBytes::copy_of({reinterpret_cast<const std::uint8_t*>(hex.data()), hex.size()});
    tessera::control::write_control_file(file, 4242, 51234, token);
    QCOMPARE(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
             std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const auto endpoint = tessera::control::read_control_file(file);
    QCOMPARE(endpoint.pid, std::int64_t{4242});
    QCOMPARE(endpoint.port, 51234);
    QVERIFY(endpoint.token.equals(token.span()));
  }
};

QTEST_APPLESS_MAIN(TestNodeSettings)
#include "test_node_settings.moc"
