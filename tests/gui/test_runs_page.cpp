// The Runs page against a real control API: a control::ControlServer on 127.0.0.1 with a test
// ControlHandler that manages runs (the node's side of GET /v1/runs, POST /v1/runs,
// /v1/runs/remove, /v1/runs/join, /v1/runs/leave), found through control.json like the app finds
// its node. The cards show what the node's report says (model, size, peers per stage, loss,
// price, the fit labelled as estimates, why a run does not fit); a malformed link is refused
// inline without asking the node, a valid one is added, one the node refuses says why; Join,
// Leave and Switch are enabled only when they apply and issue the right calls; an absent node is
// said. Catalog entries the page cannot read are bounded and named.
#include <QtTest>

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTemporaryDir>

#include <mutex>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/control/control_api.h"
#include "core/control/control_file.h"
#include "core/protocol/run_link.h"
#include "core/wallet/encoding.h"
#include "core/wallet/signing.h"
#include "tests/gui/gui_support.h"
#include "ui/node_runs.h"
#include "ui/pages/runs_page.h"
#include "ui/runs_service.h"

using namespace tessera;
using ui::NodeRuns;
using ui::RunCard;
using ui::RunsPage;
using ui::RunsService;

namespace {

std::string publisher_key(std::uint8_t fill) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(fill);
  return wallet::base58_encode(wallet::KeyPair::from_seed(seed).public_key());
}

std::string link_of(const std::string& run) { return "tessera://127.0.0.1:8800/" + run + "#" + publisher_key(7); }

// One run as the node's report carries it (docs/control-api.md): a catalog entry from the hub and
// the fit; `fits` picks a run this machine fits or one too big for it.
nlohmann::json run_json(const std::string& run, bool fits) {
  nlohmann::json catalog = {
      {"run", run}, {"link", link_of(run)}, {"retired", false},
      {"model", {{"layers", fits ? 12 : 48}, {"width", fits ? 768 : 8192}, {"heads", 12}, {"context", 512}, {"vocab", 256}}},
      {"parameters", fits ? 124'000'000 : 40'000'000'000}, {"codec", "int8"}, {"stages", fits ? 4 : 2},
      {"peers_per_stage", fits ? nlohmann::json{3, 2, 1, 2} : nlohmann::json{7, 9}},
      {"steps", 512}, {"loss", fits ? nlohmann::json(3.25) : nlohmann::json()},
      {"price_per_1k_tokens", 20'000}, {"currency", "USDC"}};
  nlohmann::json fit = {{"estimate", true}, {"fits", fits}, {"stages", fits ? 4 : 2}, {"memory_of", "RAM"},
                        {"memory_available_bytes", std::uint64_t(8) << 30}, {"currency", "USDC"},
                        {"basis", "doctor's CPU rate scaled by FLOPs per token"}};
  if (fits) {
    fit.update({{"stage", 2}, {"memory_needed_bytes", std::uint64_t(3) << 30}, {"tokens_per_s", 420.0},
                {"units_per_day", 5.5e9}, {"revenue_per_day", 1'250'000.0}, {"why", ""}});
  } else {
    fit.update({{"stage", nullptr}, {"memory_needed_bytes", std::uint64_t(40) << 30}, {"tokens_per_s", nullptr},
                {"why", "every stage needs 40.0 GiB; this computer has 8.0 GiB"}});
  }
  return {{"link", link_of(run)}, {"run", run}, {"catalog", catalog}, {"fit", fit}, {"error", ""}};
}

// The node's side: a ControlHandler managing runs as docs/control-api.md says, recording the
// commands it was given.
class RunsNode : public control::ControlHandler {
 public:
  control::NodeStatus status() override { return {}; }
  void start() override {}
  void pause(bool) override {}
  void snooze(std::chrono::seconds) override {}
  control::NodeSettings settings() override { return {}; }
  control::NodeSettings update_settings(const nlohmann::json&) override { return {}; }

  control::RunsReport runs() override {
    std::lock_guard lock(mutex_);
    return report_;
  }
  control::RunsReport add_run(const std::string& link) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("add " + link);
    const auto parsed = protocol::parse_run_link(link);
    if (parsed.run_id == "refused") throw std::invalid_argument("the manifest is not signed by this publisher");
    auto view = control::RunView::from_json(run_json(parsed.run_id, true));
    view.link = link;
    report_.runs.push_back(view);
    return report_;
  }
  control::RunsReport remove_run(const std::string& run) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("remove " + run);
    std::erase_if(report_.runs, [&](const control::RunView& view) { return view.run == run; });
    return report_;
  }
  control::RunsReport join_run(const std::string& run) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("join " + run);
    report_.current = run;
    report_.activity = "Training " + run + ".";
    return report_;
  }
  control::RunsReport leave_run() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("leave");
    report_.current.reset();
    report_.activity = "idle";
    return report_;
  }

  void setRuns(const std::vector<nlohmann::json>& runs, std::optional<std::string> current) {
    std::lock_guard lock(mutex_);
    report_.runs.clear();
    for (const auto& run : runs) report_.runs.push_back(control::RunView::from_json(run));
    report_.current = std::move(current);
  }
  std::vector<std::string> takeCalls() {
    std::lock_guard lock(mutex_);
    return std::exchange(calls_, {});
  }

 private:
  std::mutex mutex_;
  control::RunsReport report_{std::nullopt, "idle", {}};
  std::vector<std::string> calls_;
};

// The node's control API on 127.0.0.1 with its control.json in `data_dir`.
struct FakeNode {
  RunsNode handler;
  control::EventBus events;
  control::ControlServer server{handler, events};

  explicit FakeNode(const QString& data_dir) {
    server.start();
    control::write_control_file((data_dir + QStringLiteral("/control.json")).toStdString(), 4242, server.port(),
                                server.token());
  }
};

// The page over a service talking to `node`, shown, with the first list in.
struct ShownPage {
  explicit ShownPage(const QString& dir)
      : service(dir + QStringLiteral("/control.json")), page(&service) {
    page.resize(1100, 900);
    page.show();
  }
  RunsService service;
  RunsPage page;

  RunCard* card(const QString& run) const {
    for (auto* card : page.cards())
      if (card->run() == run) return card;
    return nullptr;
  }
  QString value(const QString& run, const char* name) const {
    auto* shown = card(run);
    auto* label = shown ? shown->findChild<QLabel*>(QString::fromLatin1(name)) : nullptr;
    return label ? label->text() : QStringLiteral("<missing %1>").arg(QString::fromLatin1(name));
  }
  QPushButton* button(const QString& run, const char* name) const {
    auto* shown = card(run);
    return shown ? shown->findChild<QPushButton*>(QString::fromLatin1(name)) : nullptr;
  }
  // Waits until the service is idle and the page shows the node's latest list.
  bool settle() {
    QTest::qWait(50);
    return QTest::qWaitFor([this] { return !service.isBusy(); }, 5000);
  }
};

}  // namespace

class TestRunsPage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { QVERIFY(sodium_init() >= 0); }

  void readsTheNodesReport() {
    const auto runs = ui::node_runs_from_json(
        {{"current", "a"}, {"activity", "Training a."}, {"runs", {run_json("a", true), run_json("b", false)}}});
    QCOMPARE(runs.current.value_or(""), std::string("a"));
    QCOMPARE(runs.runs.size(), std::size_t(2));
    const auto& a = runs.runs[0];
    QVERIFY(a.catalog && a.fit);
    QCOMPARE(a.catalog->layers, 12);
    QCOMPARE(a.catalog->peers_per_stage, (std::vector<std::uint64_t>{3, 2, 1, 2}));
    QCOMPARE(a.catalog->loss.value_or(0), 3.25);
    QCOMPARE(a.fit->stage.value_or(-1), 2);
    QCOMPARE(a.fit->memory_needed_bytes, std::uint64_t(3) << 30);
    QVERIFY(!runs.runs[1].fit->fits);
    QVERIFY(!runs.runs[1].catalog->loss);
    QCOMPARE(runs.find("b"), &runs.runs[1]);
    // No catalog and no fit (the hub did not answer) is a run with its error.
    const auto bare = ui::node_runs_from_json({{"current", nullptr}, {"runs", {{{"run", "c"}, {"error", "hub down"}}}}});
    QVERIFY(!bare.current && !bare.runs[0].catalog && !bare.runs[0].fit);
    QCOMPARE(bare.runs[0].error, std::string("hub down"));
    // A catalog entry the page cannot read becomes that run's error, naming the key.
    auto bad = run_json("d", true);
    bad["catalog"]["model"]["layers"] = "twelve";
    const auto unreadable = ui::node_runs_from_json({{"runs", {bad}}});
    QVERIFY(!unreadable.runs[0].catalog);
    QVERIFY2(QString::fromStdString(unreadable.runs[0].error).contains(QStringLiteral("model.layers")),
             unreadable.runs[0].error.c_str());
    bad = run_json("e", true);
    bad["catalog"]["peers_per_stage"] = std::vector<int>(ui::kMaxStages + 1, 1);
    QVERIFY(QString::fromStdString(ui::node_runs_from_json({{"runs", {bad}}}).runs[0].error).contains(QStringLiteral("too long")));
    // The report itself: too many runs, an over-long activity, the wrong shape are refused.
    const auto refusal = [](const nlohmann::json& json) {
      try {
        ui::node_runs_from_json(json);
      } catch (const std::runtime_error& error) {
        return QString::fromUtf8(error.what());
      }
      return QString();
    };
    QVERIFY(refusal({{"runs", std::vector<nlohmann::json>(ui::kMaxRuns + 1, run_json("f", true))}}).contains("more runs"));
    QVERIFY(refusal({{"activity", std::string(ui::kMaxText + 1, 'x')}}).contains("too long"));
    QVERIFY(refusal({{"runs", {{{"run", 5}}}}}).contains("'run'"));
    QVERIFY(!refusal(nlohmann::json::array()).isEmpty());
  }

  void cardsShowTheRuns() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    node.handler.setRuns({run_json("small", true), run_json("huge", false)}, "small");
    ShownPage shown(dir.path());
    QTRY_COMPARE(shown.page.cards().size(), 2);
    QCOMPARE(shown.page.activityText(), QStringLiteral("Now: idle"));
    QCOMPARE(shown.value("small", "modelValue"), QStringLiteral("12 layers × 768 wide"));
    QCOMPARE(shown.value("small", "parametersValue"), QStringLiteral("124 M"));
    QCOMPARE(shown.value("small", "peersValue"), QStringLiteral("3 · 2 · 1 · 2"));
    QCOMPARE(shown.value("small", "lossValue"), QStringLiteral("3.250"));
    QVERIFY(shown.card("small")->findChild<QLabel*>(QStringLiteral("lossValue"))->parentWidget()->findChildren<QLabel*>().constFirst()->text() ==
            QStringLiteral("Loss after 512 steps"));
    QCOMPARE(shown.value("small", "priceValue"), QStringLiteral("0.02 USDC"));
    QCOMPARE(shown.value("small", "stageValue"), QStringLiteral("3 of 4"));
    QCOMPARE(shown.value("small", "memoryValue"), QStringLiteral("3.0 GiB of 8.0 GiB"));
    QCOMPARE(shown.value("small", "tokensValue"), QStringLiteral("420"));
    QCOMPARE(shown.value("small", "unitsValue"), QStringLiteral("5.5 B"));
    QCOMPARE(shown.value("small", "revenueValue"), QStringLiteral("1.25 USDC"));
    // Every figure for this computer says it is an estimate.
    auto* small = shown.card("small");
    QVERIFY(small->findChild<QLabel*>(QStringLiteral("fitHeading"))->text().contains(QStringLiteral("estimate")));
    QStringList captions;
    for (const auto* label : small->findChildren<QLabel*>())
      if (label->text().contains(QStringLiteral("/day")) || label->text().startsWith(QStringLiteral("Tokens/s")))
        captions << label->text();
    QCOMPARE(captions, (QStringList{QStringLiteral("Tokens/s (estimate)"), QStringLiteral("Units/day (estimate)"),
                                    QStringLiteral("Revenue/day (estimate)")}));
    QVERIFY(small->findChild<QLabel*>(QStringLiteral("badgeCurrent")) != nullptr);
    // The run that does not fit says why, and shows no earnings.
    QCOMPARE(shown.value("huge", "modelValue"), QStringLiteral("48 layers × 8192 wide"));
    QCOMPARE(shown.value("huge", "parametersValue"), QStringLiteral("40.0 B"));
    QCOMPARE(shown.value("huge", "lossValue"), QStringLiteral("no steps yet"));
    QCOMPARE(shown.value("huge", "memoryValue"), QStringLiteral("40.0 GiB of 8.0 GiB"));
    QCOMPARE(shown.value("huge", "fitReason"),
             QStringLiteral("every stage needs 40.0 GiB; this computer has 8.0 GiB"));
    QVERIFY(shown.card("huge")->findChild<QLabel*>(QStringLiteral("revenueValue")) == nullptr);
    QVERIFY(shown.card("huge")->findChild<QLabel*>(QStringLiteral("badgeNoFit")) != nullptr);
  }

  void addsALink() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    ShownPage shown(dir.path());
    QVERIFY(shown.settle());
    auto* field = shown.page.findChild<QLineEdit*>(QStringLiteral("runLink"));
    auto* add = shown.page.findChild<QPushButton*>(QStringLiteral("addRun"));
    // Malformed: said inline, in the parser's words; the node is not asked.
    node.handler.takeCalls();
    field->setText(QStringLiteral("tessera://127.0.0.1:8800/r"));
    QVERIFY(test::clickEnabled(add));
    QVERIFY2(shown.page.addError().contains(QStringLiteral("publisher key")), qPrintable(shown.page.addError()));
    field->setText(QStringLiteral("https://hub.example.org/r"));
    QVERIFY(test::clickEnabled(add));
    QVERIFY2(shown.page.addError().startsWith(QStringLiteral("Not a run link")), qPrintable(shown.page.addError()));
    QTest::qWait(100);
    QVERIFY(node.handler.takeCalls().empty());
    // Valid: sent to the node, listed, the field emptied and the error gone.
    const auto link = link_of("fresh");
    field->setText(QString::fromStdString("  " + link + " "));
    QVERIFY(test::clickEnabled(add));
    QVERIFY(shown.page.addError().isEmpty());
    QTRY_VERIFY(shown.card(QStringLiteral("fresh")) != nullptr);
    QCOMPARE(node.handler.takeCalls(), std::vector<std::string>{"add " + link});
    QTRY_VERIFY(field->text().isEmpty());
    // The same link again is already there.
    field->setText(QString::fromStdString(link));
    QVERIFY(test::clickEnabled(add));
    QVERIFY(shown.page.addError().contains(QStringLiteral("already")));
    // Refused by the node (its manifest does not verify under the link): the node's reason, inline.
    field->setText(QString::fromStdString(link_of("refused")));
    QVERIFY(test::clickEnabled(add));
    QTRY_VERIFY(shown.page.addError().contains(QStringLiteral("the manifest is not signed by this publisher")));
    QVERIFY(!field->text().isEmpty());  // kept, to correct
    QCOMPARE(shown.page.cards().size(), 1);
  }

  void joinsLeavesAndSwitches() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    node.handler.setRuns({run_json("a", true), run_json("b", true), run_json("huge", false)}, std::nullopt);
    ShownPage shown(dir.path());
    QTRY_COMPARE(shown.page.cards().size(), 3);
    QVERIFY(shown.settle());
    node.handler.takeCalls();
    // Idle: Join where it fits, not where it does not; no Leave, no Switch.
    QVERIFY(shown.button("a", "joinButton")->isEnabled());
    QVERIFY(!shown.button("huge", "joinButton")->isEnabled());
    QVERIFY(shown.button("huge", "joinButton")->toolTip().contains(QStringLiteral("40.0 GiB")));
    QVERIFY(shown.button("a", "leaveButton") == nullptr && shown.button("a", "switchButton") == nullptr);
    QVERIFY(test::clickEnabled(shown.button("a", "joinButton")));
    QTRY_VERIFY(shown.card("a") && shown.card("a")->isCurrent());
    QVERIFY(shown.settle());
    QCOMPARE(node.handler.takeCalls(), std::vector<std::string>{"join a"});
    QCOMPARE(shown.page.activityText(), QStringLiteral("Now: Training a."));
    // One current: Leave it, Switch to another that fits; the current one cannot be removed.
    QVERIFY(shown.button("a", "leaveButton")->isEnabled());
    QVERIFY(shown.button("a", "removeButton") == nullptr);
    QVERIFY(shown.button("b", "switchButton")->isEnabled());
    QVERIFY(!shown.button("huge", "switchButton")->isEnabled());
    QVERIFY(shown.button("b", "joinButton") == nullptr);
    QVERIFY(test::clickEnabled(shown.button("b", "switchButton")));
    QTRY_VERIFY(shown.card("b") && shown.card("b")->isCurrent());
    QVERIFY(shown.settle());
    QCOMPARE(node.handler.takeCalls(), std::vector<std::string>{"join b"});
    QVERIFY(!shown.card("a")->isCurrent());
    QVERIFY(test::clickEnabled(shown.button("b", "leaveButton")));
    QTRY_VERIFY(shown.button("b", "joinButton") != nullptr);
    QVERIFY(shown.settle());
    QCOMPARE(node.handler.takeCalls(), std::vector<std::string>{"leave"});
    QCOMPARE(shown.page.activityText(), QStringLiteral("Now: idle"));
    // Remove.
    QVERIFY(test::clickEnabled(shown.button("huge", "removeButton")));
    QTRY_COMPARE(shown.page.cards().size(), 2);
    QCOMPARE(node.handler.takeCalls(), std::vector<std::string>{"remove huge"});
  }

  void buttonsWaitWhileACommandRuns() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    node.handler.setRuns({run_json("a", true)}, std::nullopt);
    ShownPage shown(dir.path());
    QTRY_COMPARE(shown.page.cards().size(), 1);
    QVERIFY(shown.settle());
    QSignalSpy busy(&shown.service, &RunsService::busyChanged);
    shown.service.joinRun(QStringLiteral("a"));
    QCOMPARE(busy.count(), 1);
    QVERIFY(!shown.button("a", "joinButton")->isEnabled());
    QVERIFY(!shown.page.findChild<QPushButton*>(QStringLiteral("addRun"))->isEnabled());
    QTRY_COMPARE(busy.count(), 2);
    QTRY_VERIFY(shown.button("a", "leaveButton") != nullptr && shown.button("a", "leaveButton")->isEnabled());
  }

  void saysWhenTheNodeIsAbsent() {
    QTemporaryDir dir;
    ShownPage shown(dir.path());  // no control.json: no node
    QTRY_VERIFY2(shown.page.activityText().startsWith(QStringLiteral("Cannot ask the node for its runs: no control file")),
                 qPrintable(shown.page.activityText()));
    QVERIFY(shown.page.cards().isEmpty());
    // A node that starts later is found on the next poll (control.json is read again).
    FakeNode node(dir.path());
    node.handler.setRuns({run_json("a", true)}, std::nullopt);
    shown.service.refresh();
    QTRY_COMPARE(shown.page.cards().size(), 1);
    // A failed command is said on the page.
    node.server.stop();
    QVERIFY(shown.settle());
    shown.service.leaveRun();
    QTRY_VERIFY(shown.page.findChild<QLabel*>(QStringLiteral("runsError"))->isVisible());
    QVERIFY(shown.page.findChild<QLabel*>(QStringLiteral("runsError"))->text().startsWith(QStringLiteral("Leave failed")));
  }

  void demoFollowsTheNetwork() {
    RunsPage page(nullptr);
    QSignalSpy asked(&page, &RunsPage::demoRequested);
    control::NodeStatus status;
    status.network = "https://hub.example.org";
    page.showNodeStatus(status);
    auto* button = page.findChild<QPushButton*>(QStringLiteral("demoButton"));
    page.show();
    QVERIFY(test::clickEnabled(button));
    QCOMPARE(asked.count(), 1);
    status.network = "local";
    status.state = "running";
    page.showNodeStatus(status);
    QVERIFY(!button->isVisible());
    QVERIFY(page.findChild<QLabel*>(QStringLiteral("demoState"))->text().startsWith(QStringLiteral("Running now")));
    status.state = "idle";  // the user left the demo
    page.showNodeStatus(status);
    QVERIFY(button->isVisible());
  }
};

QTEST_MAIN(TestRunsPage)
#include "test_runs_page.moc"
