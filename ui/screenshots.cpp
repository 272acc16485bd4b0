// Screenshot rendering (see screenshots.h).
#include "ui/screenshots.h"

#include <QApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <functional>

#include <cstdio>

#include "core/wallet/keystore.h"
#include "ui/ledger_service.h"
#include "ui/main_window.h"
#include "ui/node_settings.h"
#include "ui/pages/dashboards_page.h"
#include "ui/pages/first_run_dialog.h"
#include "ui/pages/home_page.h"
#include "ui/pages/log_page.h"
#include "ui/pages/runs_page.h"
#include "ui/pages/wallet_page.h"
#include "ui/sample_log.h"
#include "ui/theme.h"
#include "ui/runs_service.h"
#include "ui/wallet_service.h"
#include "ui/watch_service.h"
#include "ui/ledger_models.h"
#include "core/wallet/slip10.h"

namespace tessera::ui {

namespace {

// Lets queued work (worker answers, layouts) settle.
void settle(int ms) {
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < ms) {
    QApplication::processEvents(QEventLoop::AllEvents, 20);
    QThread::msleep(5);
  }
}

bool waitFor(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!done() && timer.elapsed() < timeout_ms) {
    QApplication::processEvents(QEventLoop::AllEvents, 20);
    QThread::msleep(5);
  }
  return done();
}

bool save(QWidget* widget, const QString& dir, const QString& name) {
  const QString file = QDir(dir).filePath(name + QStringLiteral(".png"));
  const bool ok = widget->grab().save(file, "PNG");
  std::fprintf(stderr, "%s %s\n", ok ? "wrote" : "FAILED to write", qPrintable(file));
  return ok;
}

control::NodeStatus sampleStatus() {
  control::NodeStatus status;
  status.state = "running";
  status.network = "tessera://hub.example.org:8800/tessera-1b#6rXrawwbFfkFMR8kwad269X3xCBJbWE7Vrsk9cCfiCvR";
  status.run = "tessera-1b";
  status.reachability = "port mapping";  // behind a home router that opened the port (issue 18)
  status.endpoint = "tcp://198.51.100.1:7000";
  status.reachability_detail = "UPnP-IGD: 198.51.100.1:7000 → port 7000";
  status.stage = 2;
  status.stages = 4;
  status.peers = 3;
  status.step = 18231;
  status.step_rate = 0.42;
  status.loss = 3.184;
  status.tokens_per_s = 6880.0;
  status.device = "NVIDIA RTX 4070";
  status.temperature_c = 71;
  // A node of a PowerSGD run with codec subspace (docs/swarm.md "Traffic"): 17.7x less than raw float32.
  status.traffic.tokens = 2'400'000;
  status.traffic.bytes[net::TrafficKind::boundary_forward] = {136'000'000, 136'000'000};
  status.traffic.bytes[net::TrafficKind::boundary_backward] = {107'000'000, 107'000'000};
  status.traffic.bytes[net::TrafficKind::replica_averaging] = {267'000'000, 267'000'000};
  status.traffic.bytes[net::TrafficKind::embedding_sync] = {63'000'000, 63'000'000};
  status.traffic.bytes[net::TrafficKind::control] = {16'000'000, 16'000'000};
  status.traffic.fp32_equivalent = 20'300'000'000;
  // The hub's count of the epoch under way (30) and of the one just settled, not yet verified (29).
  status.verification = client::node_work_from_json(nlohmann::json::parse(R"([
    {"epoch": 30, "counters": {"credited_receipts": 1874, "credited_flops": 2.1e17, "rejected:tokens": 2,
      "rejected:not-committed": 1, "checks_passed": 4, "checks_failed": 0, "verification_flops": 3.2e15}},
    {"epoch": 29, "counters": {"credited_receipts": 5840, "credited_flops": 6.5e17, "checks_passed": 9,
      "checks_failed": 0, "verification_flops": 8.1e15}}])"));
  return status;
}

// What Home shows when the hub excluded this node.
control::NodeStatus excludedStatus() {
  auto status = sampleStatus();
  status.state = "excluded";
  status.reason = "its work failed a spot check at step 18,204 (activations differ from the checker's)";
  return status;
}

// Scrolls the page's scroll area to `target` (on the page) and saves the window.
bool saveScrolledTo(QWidget* window, QWidget* page, QWidget* target, const QString& dir, const QString& name) {
  auto* scroll = page->findChild<QScrollArea*>();
  if (scroll == nullptr || target == nullptr) return false;
  settle(100);
  scroll->ensureWidgetVisible(target, 0, 0);
  scroll->horizontalScrollBar()->setValue(0);
  settle(200);
  return save(window, dir, name);
}

// Two watched addresses as a hub's verified statements would show them.
WatchSnapshot sampleWatch(WatchModel& model) {
  const char* labels[] = {"Lab cluster", "Friend's GPU"};
  const quint64 units[] = {18'400'000'000ull, 2'350'000'000ull};
  const quint64 revenue[] = {412'530'000ull, 51'220'000ull};
  const quint64 rejected[] = {3, 0}, passed[] = {12, 4};
  WatchSnapshot snapshot;
  snapshot.hub_url = QStringLiteral("https://hub.tessera.example");
  snapshot.checked_at = QDateTime::currentDateTime();
  for (int i = 0; i < 2; ++i) {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(static_cast<std::uint8_t>(0x41 + i));
    const auto address =
        QString::fromStdString(wallet::address_of(wallet::KeyPair::from_seed(seed).public_key()));
    model.add(address, QString::fromLatin1(labels[i]));
    WatchCheck check;
    check.address = address;
    check.state = WatchCheck::State::Verified;
    check.run = QStringLiteral("tessera-1b");
    check.currency = QStringLiteral("USDC");
    check.units = units[i];
    check.run_units = 96'000'000'000ull;
    check.revenue = revenue[i];
    check.epoch = 41;
    check.epoch_rejected = rejected[i];
    check.epoch_checks_passed = passed[i];
    snapshot.checks.push_back(check);
  }
  return snapshot;
}

// The Runs page's fixed state: a run this computer fits and trains, and one too big for it.
NodeRuns sampleRuns() {
  NodeRuns runs;
  runs.current = "tessera-1b";
  runs.activity = "Training tessera-1b: stage 3 of 4, step 18,231, 6,880 tokens/s.";
  RunEntry fitting;
  fitting.run = "tessera-1b";
  fitting.link = "tessera://hub.example.org:8800/tessera-1b#6rXrawwbFfkFMR8kwad269X3xCBJbWE7Vrsk9cCfiCvR";
  fitting.catalog = RunCatalogInfo{"tessera-1b", fitting.link, false, 24, 2048, 1024, 1'310'000'000, "int8", 4,
                                   {5, 3, 4, 2}, 18231, 3.184, 20'000, "USDC", 41'200'000};
  control::RunFit fits;
  fits.fits = true;
  fits.stage = 2;
  fits.stages = 4;
  fits.memory_needed_bytes = 5'580'000'000ull;
  fits.memory_available_bytes = 12'884'901'888ull;
  fits.memory_of = "GPU cuda:0";
  fits.tokens_per_s = 6900;
  fits.units_per_day = 1.9e12;
  fits.revenue_per_day = 3'400'000;
  fits.currency = "USDC";
  fits.basis = "doctor's measured rate on this GPU, scaled by the stage's FLOPs per token; last epoch's revenue";
  fitting.fit = fits;
  RunEntry too_big;
  too_big.run = "code-7b";
  too_big.link = "tessera://runs.example.net:8800/code-7b#9h3kq2Jx7TQvBzY4cN1pL8mRkW5sE6dF2gHaUoPiVtZy";
  too_big.catalog = RunCatalogInfo{"code-7b", too_big.link, false, 32, 4096, 4096, 6'740'000'000, "int8", 8,
                                   {12, 9, 10, 8, 7, 9, 11, 6}, 120'400, 2.41, 100'000, "USDC", 630'000'000};
  control::RunFit too_much;
  too_much.stages = 8;
  too_much.memory_needed_bytes = 23'400'000'000ull;
  too_much.memory_available_bytes = 12'884'901'888ull;
  too_much.memory_of = "GPU cuda:0";
  too_much.currency = "USDC";
  too_much.why = "each of its 8 stages needs 21.8 GiB of device memory; this computer's GPU has 12.0 GiB";
  too_big.fit = too_much;
  runs.runs = {fitting, too_big};
  return runs;
}

// A node that always lists the sample runs and ignores commands.
class SampleRunsControl : public RunsControl {
 public:
  NodeRuns list() override { return sampleRuns(); }
  NodeRuns add(const std::string&) override { return sampleRuns(); }
  NodeRuns remove(const std::string&) override { return sampleRuns(); }
  NodeRuns join(const std::string&) override { return sampleRuns(); }
  NodeRuns leave() override { return sampleRuns(); }
};

}  // namespace

int renderScreenshots(QApplication& app, const QString& dir) {
  if (!QDir().mkpath(dir)) {
    std::fprintf(stderr, "cannot create %s\n", qPrintable(dir));
    return 1;
  }
  QTemporaryDir data;
  if (!data.isValid()) {
    std::fprintf(stderr, "cannot create a temporary folder: %s\n", qPrintable(data.errorString()));
    return 1;
  }
  const QString data_dir = data.path();
  try {
    writeSampleLog((data_dir + QStringLiteral("/contributions.db")).toStdString(),
                   (data_dir + QStringLiteral("/node_key.json")).toStdString(), QDateTime::currentMSecsSinceEpoch());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "cannot write the sample log: %s\n", error.what());
    return 1;
  }
  // A throwaway wallet in the temporary folder: the cheapest KDF limits are fine for it.
  WalletService wallet(data_dir + QStringLiteral("/wallet.json"), wallet::KdfLimits::insecure_for_tests_only());
  wallet.createFromWords(secretFrom(QStringLiteral(
                             "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                             "abandon about")),
                         secretFrom(QStringLiteral("screenshot password")));
  if (!waitFor([&] { return wallet.exists() && !wallet.isBusy(); }, 20'000)) {
    std::fprintf(stderr, "the sample wallet was not created\n");
    return 1;
  }
  LedgerService ledger(data_dir + QStringLiteral("/contributions.db"));
  NodeSettings settings(nullptr, data_dir);
  WatchService watch(data_dir + QStringLiteral("/watching.ini"));  // never the user's own list
  const auto watched = sampleWatch(*watch.model());
  RunsService runs([] { return std::make_unique<SampleRunsControl>(); });

  bool ok = true;
  for (const auto& [theme, suffix] : {std::pair{Theme::Light, QStringLiteral("light")},
                                      std::pair{Theme::Dark, QStringLiteral("dark")}}) {
    applyTheme(app, theme);
    MainWindow window(AppServices{data_dir, nullptr, &wallet, &ledger, &settings, &watch, &runs});
    watch.showSample(watched);
    window.setFixedSize(1280, 800);
    window.homePage()->showStatus(sampleStatus());
    window.dashboardsPage()->showNodeStatus(sampleStatus());
    window.runsPage()->showNodeStatus(sampleStatus());
    window.show();
    for (int page = 0; page < MainWindow::PageCount; ++page) {
      window.showPage(static_cast<MainWindow::Page>(page));
      settle(page == MainWindow::Home ? 100 : 700);  // the worker answers, charts lay out
      ok = save(&window, dir, MainWindow::pageName(static_cast<MainWindow::Page>(page)) + QLatin1Char('-') + suffix) && ok;
    }
    // The Watching section sits below the keys on the Wallet page, Verified work below the charts
    // on Dashboards: one more shot of each, scrolled to it.
    window.showPage(MainWindow::Wallet);
    auto* watch_table = window.walletPage()->findChild<QWidget*>(QStringLiteral("watchTable"));
    ok = saveScrolledTo(&window, window.walletPage(), watch_table != nullptr ? watch_table->parentWidget() : nullptr, dir,
                        QStringLiteral("wallet-watching-") + suffix) && ok;
    window.showPage(MainWindow::Dashboards);
    auto* verified_table = window.dashboardsPage()->findChild<QWidget*>(QStringLiteral("verifiedWorkTable"));
    ok = saveScrolledTo(&window, window.dashboardsPage(), verified_table != nullptr ? verified_table->parentWidget() : nullptr,
                        dir, QStringLiteral("dashboards-verified-") + suffix) && ok;
    window.homePage()->showStatus(excludedStatus());
    window.showPage(MainWindow::Home);
    settle(100);
    ok = save(&window, dir, QStringLiteral("home-excluded-") + suffix) && ok;
    window.homePage()->showStatus(sampleStatus());
    window.hide();

    FirstRunDialog first_run(&wallet);
    first_run.setFixedSize(1280, 800);
    first_run.show();
    settle(50);
    ok = save(&first_run, dir, QStringLiteral("first-run-") + suffix) && ok;
    if (auto* create = first_run.findChild<QPushButton*>(QStringLiteral("createWallet"))) create->click();
    settle(50);
    ok = save(&first_run, dir, QStringLiteral("first-run-words-") + suffix) && ok;
    first_run.hide();
  }
  return ok ? 0 : 1;
}

}  // namespace tessera::ui
