// The fit estimate with numbers worked out by hand: the stage the hub would assign (least served
// among those that fit, the lowest index on a tie), memory against the device's or the limit,
// tokens/s scaled by FLOPs per token, units and revenue per day; why it does not fit; the
// catalog entry's checks; the views' JSON round trip.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/control/run_views.h"
#include "core/node/node_runs.h"
#include "core/node/run_fit.h"
#include "core/protocol/run_catalog.h"
#include "core/wallet/encoding.h"

using namespace tessera;

namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

// Three stages: 4, 2 and 1 GiB; 3e9, 2e9 and 1e9 training FLOPs per token; 2, 0 and 1 peers.
nlohmann::json entry() {
  protocol::RunCatalogEntry e;
  e.run = "fit-run";
  e.url = "https://hub.example:7443/runs/fit-run";
  e.publisher = wallet::base58_encode(std::vector<std::uint8_t>(32, 7));
  e.model = {4, 256, 4, 128, 256, 0};
  e.codec = "none";
  e.dataset = {"arithmetic"};
  e.stages = 3;
  e.peers_per_stage = {2, 0, 1};
  e.ready_per_stage = {2, 0, 1};
  e.currency = "USDC";
  e.last_epoch_revenue = 1000000;
  e.total_units = 8640000000ull;
  e.epoch_seconds = 3600;
  const std::uint64_t memory[] = {4 * kGiB, 2 * kGiB, 1 * kGiB};
  const double flops[] = {3e9, 2e9, 1e9};
  for (int i = 0; i < 3; ++i) e.stage_needs.push_back({i, memory[i], 1000, flops[i], 512.0});
  return protocol::to_json(e);
}

// 1,000 demo tokens/s at 1e8 FLOPs per token, 8 GiB of RAM, no limit.
node::MachineCapacity machine() {
  node::MachineCapacity out;
  out.demo_tokens_per_s = 1000;
  out.demo_flops_per_token = 1e8;
  out.memory_bytes = 8 * kGiB;
  out.memory_of = "RAM";
  return out;
}

}  // namespace

class TestRunFit : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void theLeastServedStageThatFitsAndItsEarnings() {
    const auto fit = node::estimate_fit(protocol::run_catalog_entry_from_json(entry()), machine());
    QVERIFY(fit.fits);
    QVERIFY(fit.why.empty());
    QCOMPARE(fit.stage.value_or(-1), 1);  // no peers on stage 1
    QCOMPARE(fit.stages, 3);
    QCOMPARE(fit.memory_needed_bytes, 2 * kGiB);
    QCOMPARE(fit.memory_available_bytes, 8 * kGiB);
    QCOMPARE(QString::fromStdString(fit.memory_of), QStringLiteral("RAM"));
    QCOMPARE(fit.tokens_per_s.value_or(0), 50.0);  // 1000 × 1e8 / 2e9
    QCOMPARE(fit.flops_per_token, 2e9);
    QCOMPARE(fit.units_per_day, 8.64e9);           // 50 × 2e9 × 86400 / 1e6
    // Its 8.64e9 units beside the run's 8.64e9: half of 1,000,000 an epoch, 24 epochs a day.
    QCOMPARE(fit.revenue_per_day, 12e6);
    QCOMPARE(QString::fromStdString(fit.currency), QStringLiteral("USDC"));
    QVERIFY(fit.basis.find("estimate") != std::string::npos);
  }

  void theMemoryLimitNarrowsTheChoice() {
    auto limited = machine();
    limited.memory_limit_bytes = 1536ull << 20;  // 1.5 GiB: only stage 2 (1 GiB) fits
    const auto fit = node::estimate_fit(protocol::run_catalog_entry_from_json(entry()), limited);
    QVERIFY(fit.fits);
    QCOMPARE(fit.stage.value_or(-1), 2);
    QCOMPARE(fit.memory_available_bytes, 1536ull << 20);
    QCOMPARE(QString::fromStdString(fit.memory_of), QStringLiteral("memory limit"));
    QCOMPARE(fit.tokens_per_s.value_or(0), 100.0);  // 1000 × 1e8 / 1e9
    QCOMPARE(fit.units_per_day, 8.64e9);            // the same FLOPs a second, so the same units
  }

  void aTieGoesToTheLowestStage() {
    auto even = entry();
    even["peers_per_stage"] = {1, 1, 1};
    QCOMPARE(node::estimate_fit(protocol::run_catalog_entry_from_json(even), machine()).stage.value_or(-1), 0);
  }

  void noStageFitsSaysWhy() {
    auto small = machine();
    small.memory_bytes = 512ull << 20;
    const auto fit = node::estimate_fit(protocol::run_catalog_entry_from_json(entry()), small);
    QVERIFY(!fit.fits);
    QVERIFY(!fit.stage);
    QCOMPARE(fit.memory_needed_bytes, kGiB);  // the smallest stage's
    QVERIFY2(fit.why.find("no stage fits") != std::string::npos, fit.why.c_str());
    QVERIFY2(fit.why.find("1.0 GiB") != std::string::npos, fit.why.c_str());
    QVERIFY(!fit.tokens_per_s);
    QCOMPARE(fit.units_per_day, 0.0);
  }

  void aRetiredRunDoesNotFit() {
    auto retired = entry();
    retired["retired"] = true;
    const auto fit = node::estimate_fit(protocol::run_catalog_entry_from_json(retired), machine());
    QVERIFY(!fit.fits);
    QVERIFY(fit.why.find("retired") != std::string::npos);
  }

  void withoutAMeasuredRateNoEarnings() {
    auto unmeasured = machine();
    unmeasured.demo_tokens_per_s = 0;
    const auto fit = node::estimate_fit(protocol::run_catalog_entry_from_json(entry()), unmeasured);
    QVERIFY(fit.fits);
    QVERIFY(!fit.tokens_per_s);
    QCOMPARE(fit.revenue_per_day, 0.0);
  }

  void aRunWithoutUnitsOrEpochsEarnsTheWholeRevenueOrNothing() {
    auto first = entry();
    first["total_units"] = 0;  // the only contributor gets the whole epoch's revenue
    QCOMPARE(node::estimate_fit(protocol::run_catalog_entry_from_json(first), machine()).revenue_per_day, 24e6);
    first["epoch_seconds"] = 0;
    QCOMPARE(node::estimate_fit(protocol::run_catalog_entry_from_json(first), machine()).revenue_per_day, 0.0);
  }

  void theGpuIsTheDeviceOnCuda() {
    node::DoctorReport report;
    report.ram_bytes = 64 * kGiB;
    report.device = "cuda:1";
    report.demo_tokens_per_s = 7;
    report.devices = {{0, "first", 80 * kGiB, 9, 0}, {1, "second", 24 * kGiB, 8, 9}};
    const auto gpu = node::machine_capacity(report, 0);
    QCOMPARE(gpu.memory_bytes, 24 * kGiB);
    QCOMPARE(QString::fromStdString(gpu.memory_of), QStringLiteral("GPU cuda:1 (second)"));
    QCOMPARE(gpu.demo_tokens_per_s, 7.0);
    QCOMPARE(gpu.demo_flops_per_token, node::demo_training_flops_per_token());
    report.device = "cpu";
    const auto cpu = node::machine_capacity(report, 3 * kGiB);
    QCOMPARE(cpu.memory_bytes, 64 * kGiB);
    QCOMPARE(cpu.memory_limit_bytes, 3 * kGiB);
  }

  void aBadEntryIsRefusedByName() {
    const auto refused = [](nlohmann::json bad, const char* field) {
      try {
        protocol::run_catalog_entry_from_json(bad);
      } catch (const std::invalid_argument& error) {
        return std::string(error.what()).find(field) != std::string::npos;
      }
      return false;
    };
    auto bad = entry();
    bad["peers_per_stage"] = {1, 2};
    QVERIFY(refused(bad, "peers_per_stage"));
    bad = entry();
    bad["stage_needs"][1]["flops_per_token"] = -1.0;
    QVERIFY(refused(bad, "flops_per_token"));
    bad = entry();
    bad["stage_needs"][1]["stage"] = 2;
    QVERIFY(refused(bad, "stage_needs"));
    bad = entry();
    bad["stages"] = 0;
    QVERIFY(refused(bad, "stages"));
    bad = entry();
    bad.erase("total_units");
    QVERIFY(refused(bad, "total_units"));
    QVERIFY(refused(nlohmann::json::array(), "not an object"));
  }

  // What the node is doing, in words, from the switcher's phase and the node's status.
  void theActivityLine() {
    using Phase = node::RunSwitcher::Phase;
    node::RunSwitcher::State state;
    QCOMPARE(node::NodeRuns::activity(state, std::nullopt), std::string("idle"));
    state.error = "hub refused";
    QCOMPARE(node::NodeRuns::activity(state, std::nullopt), std::string("idle (the last run stopped: hub refused)"));
    state = {Phase::joining, "tessera://h:1/a#k", "a", std::string("a"), ""};
    QCOMPARE(node::NodeRuns::activity(state, std::nullopt), std::string("joining a"));
    control::NodeStatus status;
    status.run = "a";
    status.stage = 1;
    status.stages = 3;
    status.state = "joining";
    status.reason = "fetching the stage's state from a replica";
    state.phase = Phase::in_run;
    QCOMPARE(node::NodeRuns::activity(state, status), std::string("fetching stage 2 of 3's state for a"));
    status.state = "running";
    QCOMPARE(node::NodeRuns::activity(state, status), std::string("training stage 2 of 3 of a"));
    status.state = "paused";
    status.reason = "on battery";
    QCOMPARE(node::NodeRuns::activity(state, status), std::string("paused in a: on battery"));
    state.phase = Phase::leaving;
    state.target = "b";
    QCOMPARE(node::NodeRuns::activity(state, std::nullopt), std::string("leaving a to join b"));
  }

  void theViewsRoundTrip() {
    control::RunsReport report;
    report.current = "fit-run";
    report.activity = "training stage 2 of 3 of fit-run";
    control::RunView view;
    view.link = "tessera://127.0.0.1:9/fit-run#key";
    view.run = "fit-run";
    view.catalog = entry();
    view.fit = node::estimate_fit(protocol::run_catalog_entry_from_json(entry()), machine());
    report.runs.push_back(view);
    control::RunView unreachable;
    unreachable.link = "tessera://127.0.0.1:10/other#key";
    unreachable.run = "other";
    unreachable.error = "hub did not answer";
    report.runs.push_back(unreachable);
    const auto json = report.to_json();
    QCOMPARE(json["runs"][0]["fit"]["estimate"].get<bool>(), true);
    QVERIFY(json["runs"][1]["catalog"].is_null());
    QVERIFY(json["runs"][1]["fit"].is_null());
    QVERIFY(control::RunsReport::from_json(json) == report);
    QVERIFY(!control::RunsReport::from_json({{"current", nullptr}, {"activity", "idle"}, {"runs", nlohmann::json::array()}})
                 .current);
  }
};

QTEST_APPLESS_MAIN(TestRunFit)
#include "test_run_fit.moc"
