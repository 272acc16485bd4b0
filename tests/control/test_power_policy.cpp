// The power policy's decisions (core/control/power_policy.h) and the host probes it reads
// (core/sys/host_state.h): profiles, schedule, battery, idle, temperature and power hysteresis,
// the settings it reads (core/control/node_settings.h), and probes that degrade to "unknown".
#include <QtTest>

#include <QTemporaryDir>

#include <fstream>

#include "core/control/power_policy.h"
#include "core/sys/host_state.h"

using tessera::control::HostState;
using tessera::control::NodeSettings;
using tessera::control::PowerPolicy;
using tessera::control::PowerProfile;

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text << "\n";
}

}  // namespace

class TestPowerPolicy : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void profilesMapToExplicitCaps() {
    const auto light = tessera::control::profile_caps(PowerProfile::Light, 16, 8192);
    const auto balanced = tessera::control::profile_caps(PowerProfile::Balanced, 16, 8192);
    const auto full = tessera::control::profile_caps(PowerProfile::Full, 16, 8192);
    QCOMPARE(light.threads, 4);
    QCOMPARE(balanced.threads, 8);
    QCOMPARE(full.threads, 15);
    QVERIFY(light.device_share < balanced.device_share);
    QCOMPARE(full.device_share, 1.0);
    QCOMPARE(light.memory_limit_mib, std::int64_t{2048});
    QCOMPARE(balanced.memory_limit_mib, std::int64_t{4096});
    QVERIFY(full.memory_limit_mib < 8192);
    // One thread is always allowed, even on a single-core machine.
    QCOMPARE(tessera::control::profile_caps(PowerProfile::Light, 1, 0).threads, 1);
    QCOMPARE(tessera::control::profile_caps(PowerProfile::Full, 1, 0).threads, 1);
  }

  void runsWhenNothingObjects() {
    PowerPolicy policy;
    QVERIFY(!policy.pause_reason(NodeSettings{}, HostState{}).has_value());
  }

  void temperatureHasHysteresis() {
    NodeSettings settings;
    settings.max_temperature_c = 80;
    PowerPolicy policy;
    HostState host;
    host.gpu_temperature_c = 79;
    QVERIFY(!policy.pause_reason(settings, host));
    host.gpu_temperature_c = 81;
    const auto reason = policy.pause_reason(settings, host);
    QVERIFY(reason.has_value());
    QVERIFY2(reason->find("81 °C") != std::string::npos, reason->c_str());
    // Cooling a little is not enough: it stays paused until 5 °C below the cap.
    host.gpu_temperature_c = 78;
    QVERIFY(policy.pause_reason(settings, host).has_value());
    host.gpu_temperature_c = 75;
    QVERIFY(!policy.pause_reason(settings, host).has_value());
    host.gpu_temperature_c = 79;
    QVERIFY(!policy.pause_reason(settings, host).has_value());
    // Unknown temperature never pauses.
    host.gpu_temperature_c.reset();
    QVERIFY(!policy.pause_reason(settings, host).has_value());
  }

  void powerCapHasHysteresis() {
    NodeSettings settings;
    settings.max_power_w = 200;
    PowerPolicy policy;
    HostState host;
    host.gpu_power_w = 230;
    QVERIFY(policy.pause_reason(settings, host).has_value());
    host.gpu_power_w = 190;  // within 10 % of the cap: still paused
    QVERIFY(policy.pause_reason(settings, host).has_value());
    host.gpu_power_w = 150;
    QVERIFY(!policy.pause_reason(settings, host).has_value());
  }

  void batteryPausesUnlessAllowed() {
    NodeSettings settings;
    PowerPolicy policy;
    HostState host;
    host.on_battery = true;
    const auto reason = policy.pause_reason(settings, host);
    QVERIFY(reason.has_value());
    QCOMPARE(QString::fromStdString(*reason), QStringLiteral("running on battery"));
    settings.on_battery = true;
    QVERIFY(!policy.pause_reason(settings, host).has_value());
  }

  void scheduleWrapsPastMidnight() {
    tessera::control::Schedule schedule;
    schedule.enabled = true;
    schedule.start_minute = 22 * 60;
    schedule.end_minute = 7 * 60;
    QVERIFY(schedule.contains(23 * 60));
    QVERIFY(schedule.contains(3 * 60));
    QVERIFY(!schedule.contains(12 * 60));
    QVERIFY(!schedule.contains(7 * 60));
    schedule.start_minute = 9 * 60;
    schedule.end_minute = 17 * 60;
    QVERIFY(schedule.contains(9 * 60));
    QVERIFY(!schedule.contains(17 * 60));
    NodeSettings settings;
    settings.schedule = schedule;
    HostState host;
    host.local_minute_of_day = 20 * 60;
    PowerPolicy policy;
    const auto reason = policy.pause_reason(settings, host);
    QVERIFY(reason.has_value());
    QVERIFY2(reason->find("09:00") != std::string::npos, reason->c_str());
  }

  void onlyWhenIdle() {
    NodeSettings settings;
    settings.only_when_idle = true;
    settings.idle_minutes = 5;
    PowerPolicy policy;
    HostState host;
    host.idle_seconds = 30;
    QVERIFY(policy.pause_reason(settings, host).has_value());
    host.idle_seconds = 301;
    QVERIFY(!policy.pause_reason(settings, host).has_value());
    host.idle_seconds.reset();  // unknown (Wayland, headless): never blocks
    QVERIFY(!policy.pause_reason(settings, host).has_value());
  }

  void heatComesFirst() {
    NodeSettings settings;
    settings.max_temperature_c = 80;
    PowerPolicy policy;
    HostState host;
    host.on_battery = true;
    host.gpu_temperature_c = 90;
    const auto reason = policy.pause_reason(settings, host);
    QVERIFY(reason && reason->find("GPU at 90") == 0);
    QCOMPARE(policy.last_reason(), reason);
  }

  void settingsRoundTripAndValidate() {
    NodeSettings settings;
    settings.profile = PowerProfile::Light;
    settings.only_when_idle = true;
    settings.idle_minutes = 12;
    settings.schedule = {true, 60, 6 * 60};
    settings.max_power_w = 180;
    const auto back = NodeSettings::from_json(settings.to_json());
    QCOMPARE(back.to_json(), settings.to_json());
    QCOMPARE(back.schedule.end_minute, 360);

    auto rejects = [](const nlohmann::json& patch, const char* key) {
      try {
        NodeSettings::from_json(patch);
      } catch (const std::invalid_argument& error) {
        return std::string(error.what()).find(key) != std::string::npos;
      }
      return false;
    };
    QVERIFY(rejects({{"power_profile", "turbo"}}, "power_profile"));
    QVERIFY(rejects({{"idle_minutes", 0}}, "idle_minutes"));
    QVERIFY(rejects({{"device_share", 1.5}}, "device_share"));
    QVERIFY(rejects({{"on_battery", "yes"}}, "on_battery"));
    QVERIFY(rejects({{"schedule", {{"enabled", true}, {"start", "25:00"}}}}, "HH:MM"));
    QVERIFY(rejects({{"max_temperature_c", "hot"}}, "max_temperature_c"));
    // hub_url is a setting of the node the policy does not read: accepted, and nothing else moves.
    QVERIFY(!NodeSettings::from_json({{"hub_url", "https://hub.example"}}).only_when_idle);
  }

  void clockParsing() {
    QCOMPARE(tessera::control::parse_clock("00:00"), 0);
    QCOMPARE(tessera::control::parse_clock("23:59"), 23 * 60 + 59);
    QCOMPARE(QString::fromStdString(tessera::control::format_clock(7 * 60 + 5)), QStringLiteral("07:05"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tessera::control::parse_clock("7:05"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tessera::control::parse_clock("12:60"));
  }

  void batteryProbeReadsPowerSupplies() {
    QTemporaryDir dir;
    const std::filesystem::path root = dir.path().toStdString();
    QVERIFY(!tessera::sys::on_battery(root / "missing").has_value());
    QVERIFY(!tessera::sys::on_battery(root).has_value());  // no supplies: unknown
    write(root / "BAT0/type", "Battery");
    write(root / "BAT0/status", "Discharging");
    write(root / "AC/type", "Mains");
    write(root / "AC/online", "0");
    QCOMPARE(tessera::sys::on_battery(root), std::optional<bool>(true));
    write(root / "AC/online", "1");
    QCOMPARE(tessera::sys::on_battery(root), std::optional<bool>(false));
    write(root / "AC/online", "0");
    write(root / "BAT0/status", "Full");
    QCOMPARE(tessera::sys::on_battery(root), std::optional<bool>(false));
  }

  void probesDegradeGracefully() {
    // Without a display (the test runs offscreen, DISPLAY unset or not) idle time is a number or
    // unknown, never an error; NVML is present or says why not.
    const auto idle = tessera::sys::input_idle_seconds();
    if (idle) QVERIFY(*idle >= 0);
    tessera::sys::Nvml nvml;
    if (!nvml.available()) {
      QVERIFY(!nvml.error().empty());
      const auto readings = nvml.read(0);
      QVERIFY(!readings.temperature_c && !readings.power_w && !readings.utilization);
    } else {
      const auto readings = nvml.read(0);
      if (readings.temperature_c) QVERIFY(*readings.temperature_c > 0 && *readings.temperature_c < 130);
    }
  }
};

QTEST_APPLESS_MAIN(TestPowerPolicy)
#include "test_power_policy.moc"
