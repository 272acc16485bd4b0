// The Runs page against a node's runs routes on 127.0.0.1 (GET /v1/runs, POST /v1/runs,
// /v1/runs/remove, /v1/runs/join, /v1/runs/leave with the control API's bearer token, found
// through control.json): the cards show what the node's JSON says (model, size, peers per stage,
// loss, price, the fit labelled as estimates, why a run does not fit); a malformed link is refused
// inline without asking the node, a valid one is added, one the node refuses says why; Join,
// Leave and Switch are enabled only when they apply and issue the right calls; an absent node is
// said. The parser bounds and names what it refuses.
#include <QtTest>

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTemporaryDir>

#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/control/control_file.h"
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
  const auto key = wallet::KeyPair::from_seed(seed).public_key();
  return wallet::base58_encode(key);
}

std::string link_of(const std::string& run, std::uint8_t fill = 7) {
  return "tessera://127.0.0.1:8800/" + run + "#" + publisher_key(fill);
}

// A catalog entry and fit as the node's JSON carries them; `fits` picks a fitting or a too-big run.
nlohmann::json run_json(const std::string& run, bool fits) {
  nlohmann::json catalog = {
      {"run", run}, {"link", link_of(run)}, {"retired", false},
      {"model", {{"layers", fits ? 12 : 48}, {"width", fits ? 768 : 8192}, {"heads", 12}, {"context", 512}, {"vocab", 256}}},
      {"parameters", fits ? 124'000'000 : 40'000'000'000}, {"codec", "int8"}, {"stages", fits ? 4 : 2},
      {"peers_per_stage", fits ? nlohmann::json{3, 2, 1, 2} : nlohmann::json{7, 9}},
      {"steps", 512}, {"loss", fits ? nlohmann::json(3.25) : nlohmann::json()},
      {"price_per_1k_tokens", 20'000}, {"currency", "USDC"}};
  nlohmann::json fit = fits ? nlohmann::json{{"fits", true}, {"stage", 2}, {"memory_needed_bytes", 3ull << 30},
                                             {"memory_available_bytes", 8ull << 30}, {"device", "cpu"},
                                             {"tokens_per_s", 420.0}, {"units_per_day", 5.5e9},
                                             {"revenue_per_day", 1'250'000.0}, {"reason", ""}}
                            : nlohmann::json{{"fits", false}, {"stage", nullptr}, {"memory_needed_bytes", 40ull << 30},
                                             {"memory_available_bytes", 8ull << 30}, {"device", "cpu"},
                                             {"reason", "every stage needs 40.0 GiB; this computer has 8.0 GiB"}};
  return {{"link", link_of(run)}, {"run", run}, {"catalog", catalog}, {"fit", fit}, {"error", ""}};
}

// The node's side of the runs routes, as spec #21 section 7 describes them, behind the control
// API's bearer token; it records the calls it was asked.
struct FakeNode {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mutex;
  nlohmann::json state = {{"current", nullptr}, {"activity", "Idle: not in any run."}, {"runs", nlohmann::json::array()}};
  std::vector<std::string> calls;
  std::string token = std::string(64, 'a');

  explicit FakeNode(const QString& data_dir) {
    server.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
      if (request.get_header_value("Authorization") == "Bearer " + token) return httplib::Server::HandlerResponse::Unhandled;
      response.status = 401;
      return httplib::Server::HandlerResponse::Handled;
    });
    server.Get("/v1/runs", [this](const httplib::Request&, httplib::Response& response) {
      std::lock_guard lock(mutex);
      response.set_content(state.dump(), "application/json");
    });
    server.Post("/v1/runs", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex);
      const auto link = nlohmann::json::parse(request.body).at("link").get<std::string>();
      calls.push_back("add " + link);
      if (link.find("/refused#") != std::string::npos) return refuse(response, "the manifest is not signed by this publisher");
      const auto run = link.substr(link.rfind('/') + 1, link.find('#') - link.rfind('/') - 1);
      auto entry = run_json(run, true);
      entry["link"] = link;
      state["runs"].push_back(entry);
      response.set_content("{}", "application/json");
    });
    server.Post("/v1/runs/join", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex);
      const auto run = nlohmann::json::parse(request.body).at("run").get<std::string>();
      calls.push_back("join " + run);
      state["current"] = run;
      state["activity"] = "Training " + run + ".";
      response.set_content("{}", "application/json");
    });
    server.Post("/v1/runs/leave", [this](const httplib::Request&, httplib::Response& response) {
      std::lock_guard lock(mutex);
      calls.push_back("leave");
      state["current"] = nullptr;
      state["activity"] = "Idle: not in any run.";
      response.set_content("{}", "application/json");
    });
    server.Post("/v1/runs/remove", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex);
      const auto run = nlohmann::json::parse(request.body).at("run").get<std::string>();
      calls.push_back("remove " + run);
      auto& runs = state["runs"];
      for (auto it = runs.begin(); it != runs.end(); ++it)
        if ((*it)["run"] == run) {
          runs.erase(it);
          break;
        }
      response.set_content("{}", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    wallet::SecureBytes secret(token.size());
    std::copy(token.begin(), token.end(), secret.data());
    control::write_control_file((data_dir + QStringLiteral("/control.json")).toStdString(), 4242, port, secret);
  }
  ~FakeNode() {
    server.stop();
    thread.join();
  }
  static void refuse(httplib::Response& response, const std::string& message) {
    response.status = 400;
    response.set_content(nlohmann::json{{"error", {{"message", message}, {"type", "invalid_request"}}}}.dump(),
                         "application/json");
  }
  void setRuns(const nlohmann::json& runs, const nlohmann::json& current) {
    std::lock_guard lock(mutex);
    state["runs"] = runs;
    state["current"] = current;
  }
  std::vector<std::string> takeCalls() {
    std::lock_guard lock(mutex);
    return std::exchange(calls, {});
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

  void parsesTheNodesList() {
    const auto runs = ui::node_runs_from_json({{"current", "a"},
                                               {"activity", "Training a."},
                                               {"runs", {run_json("a", true), run_json("b", false)}}});
    QCOMPARE(runs.current.value_or(""), std::string("a"));
    QCOMPARE(runs.runs.size(), std::size_t(2));
    const auto& a = runs.runs[0];
    QVERIFY(a.catalog && a.fit);
    QCOMPARE(a.catalog->layers, 12);
    QCOMPARE(a.catalog->peers_per_stage, (std::vector<int>{3, 2, 1, 2}));
    QCOMPARE(a.catalog->loss.value_or(0), 3.25);
    QCOMPARE(a.fit->stage, 2);
    QCOMPARE(a.fit->memory_needed_bytes, 3ull << 30);
    QVERIFY(!runs.runs[1].fit->fits);
    QVERIFY(!runs.runs[1].catalog->loss);
    QCOMPARE(runs.find("b"), &runs.runs[1]);
    // Missing catalog and fit (the hub did not answer) are allowed; wrong types and floods are not.
    const auto bare = ui::node_runs_from_json({{"current", nullptr}, {"runs", {{{"run", "c"}, {"error", "hub down"}}}}});
    QVERIFY(!bare.current && !bare.runs[0].catalog && !bare.runs[0].fit);
    const auto refusal = [](const nlohmann::json& json) {
      try {
        ui::node_runs_from_json(json);
      } catch (const std::runtime_error& error) {
        return QString::fromUtf8(error.what());
      }
      return QString();
    };
    QVERIFY(refusal({{"runs", {{{"run", 5}}}}}).contains("runs[0].run"));
    QVERIFY(refusal({{"runs", {{{"run", "a"}, {"catalog", {{"model", {{"layers", "x"}}}}}}}}}).contains("model.layers"));
    QVERIFY(refusal({{"runs", nlohmann::json(std::vector<int>(ui::kMaxRuns + 1, 0))}}).contains("too many"));
    QVERIFY(refusal({{"activity", std::string(ui::kMaxText + 1, 'x')}}).contains("too long"));
    QVERIFY(refusal(nlohmann::json::array()).contains("not a JSON object"));
  }

  void cardsShowTheRuns() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    node.setRuns({run_json("small", true), run_json("huge", false)}, "small");
    ShownPage shown(dir.path());
    QTRY_COMPARE(shown.page.cards().size(), 2);
    QCOMPARE(shown.page.activityText(), QStringLiteral("Now: Idle: not in any run."));
    QCOMPARE(shown.value("small", "modelValue"), QStringLiteral("12 layers × 768 wide · 124 M parameters"));
    QCOMPARE(shown.value("small", "peersValue"), QStringLiteral("3 · 2 · 1 · 2"));
    QVERIFY(shown.value("small", "lossValue").startsWith(QStringLiteral("3.250 after 512 steps")));
    QCOMPARE(shown.value("small", "priceValue"), QStringLiteral("0.02 USDC per 1,000 tokens"));
    QCOMPARE(shown.value("small", "stageValue"), QStringLiteral("3 of 4"));
    QCOMPARE(shown.value("small", "memoryValue"), QStringLiteral("3.0 GiB of 8.0 GiB (cpu)"));
    QCOMPARE(shown.value("small", "tokensValue"), QStringLiteral("420"));
    QCOMPARE(shown.value("small", "unitsValue"), QStringLiteral("5.5 B"));
    QCOMPARE(shown.value("small", "revenueValue"), QStringLiteral("1.25 USDC"));
    // Every figure for this computer says it is an estimate.
    auto* small = shown.card("small");
    QVERIFY(small->findChild<QLabel*>(QStringLiteral("fitHeading"))->text().contains(QStringLiteral("estimate")));
    for (const auto* label : small->findChildren<QLabel*>())
      if (label->text().contains(QStringLiteral("/day")) || label->text().contains(QStringLiteral("/s")))
        QVERIFY2(label->text().contains(QStringLiteral("estimate")), qPrintable(label->text()));
    QVERIFY(small->findChild<QLabel*>(QStringLiteral("badgeCurrent")) != nullptr);
    // The run that does not fit says why, and shows no earnings.
    QCOMPARE(shown.value("huge", "modelValue"), QStringLiteral("48 layers × 8192 wide · 40.0 B parameters"));
    QCOMPARE(shown.value("huge", "lossValue"), QStringLiteral("no steps yet"));
    QCOMPARE(shown.value("huge", "memoryValue"), QStringLiteral("40.0 GiB of 8.0 GiB (cpu)"));
    QCOMPARE(shown.value("huge", "fitReason"),
             QStringLiteral("Does not fit: every stage needs 40.0 GiB; this computer has 8.0 GiB"));
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
    node.takeCalls();
    field->setText(QStringLiteral("tessera://127.0.0.1:8800/r"));
    QVERIFY(test::clickEnabled(add));
    QVERIFY2(shown.page.addError().contains(QStringLiteral("publisher key")), qPrintable(shown.page.addError()));
    field->setText(QStringLiteral("https://hub.example.org/r"));
    QVERIFY(test::clickEnabled(add));
    QVERIFY2(shown.page.addError().startsWith(QStringLiteral("Not a run link")), qPrintable(shown.page.addError()));
    QTest::qWait(100);
    QVERIFY(node.takeCalls().empty());
    // Valid: sent to the node, listed, the field emptied and the error gone.
    const auto link = link_of("fresh");
    field->setText(QString::fromStdString("  " + link + " "));
    QVERIFY(test::clickEnabled(add));
    QVERIFY(shown.page.addError().isEmpty());
    QTRY_VERIFY(shown.card(QStringLiteral("fresh")) != nullptr);
    QCOMPARE(node.takeCalls(), std::vector<std::string>{"add " + link});
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
    node.setRuns({run_json("a", true), run_json("b", true), run_json("huge", false)}, nullptr);
    ShownPage shown(dir.path());
    QTRY_COMPARE(shown.page.cards().size(), 3);
    QVERIFY(shown.settle());
    node.takeCalls();
    // Idle: Join where it fits, not where it does not; no Leave, no Switch.
    QVERIFY(shown.button("a", "joinButton")->isEnabled());
    QVERIFY(!shown.button("huge", "joinButton")->isEnabled());
    QVERIFY(shown.button("huge", "joinButton")->toolTip().contains(QStringLiteral("40.0 GiB")));
    QVERIFY(shown.button("a", "leaveButton") == nullptr && shown.button("a", "switchButton") == nullptr);
    QVERIFY(test::clickEnabled(shown.button("a", "joinButton")));
    QTRY_VERIFY(shown.card("a") && shown.card("a")->isCurrent());
    QVERIFY(shown.settle());
    QCOMPARE(node.takeCalls(), std::vector<std::string>{"join a"});
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
    QCOMPARE(node.takeCalls(), std::vector<std::string>{"join b"});
    QVERIFY(!shown.card("a")->isCurrent());
    QVERIFY(test::clickEnabled(shown.button("b", "leaveButton")));
    QTRY_VERIFY(shown.button("b", "joinButton") != nullptr);
    QVERIFY(shown.settle());
    QCOMPARE(node.takeCalls(), std::vector<std::string>{"leave"});
    QCOMPARE(shown.page.activityText(), QStringLiteral("Now: Idle: not in any run."));
    // Remove.
    QVERIFY(test::clickEnabled(shown.button("huge", "removeButton")));
    QTRY_COMPARE(shown.page.cards().size(), 2);
    QCOMPARE(node.takeCalls(), std::vector<std::string>{"remove huge"});
  }

  void buttonsWaitWhileACommandRuns() {
    QTemporaryDir dir;
    FakeNode node(dir.path());
    node.setRuns({run_json("a", true)}, nullptr);
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
    QTRY_VERIFY(shown.page.activityText().startsWith(QStringLiteral("Cannot reach the node")));
    QVERIFY(shown.page.cards().isEmpty());
    // A node that starts later is found on the next poll (control.json is read again).
    FakeNode node(dir.path());
    node.setRuns({run_json("a", true)}, nullptr);
    shown.service.refresh();
    QTRY_COMPARE(shown.page.cards().size(), 1);
    // A failed command is said on the page.
    node.server.stop();
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
    page.showNodeStatus(status);
    QVERIFY(!button->isVisible());
    QVERIFY(page.findChild<QLabel*>(QStringLiteral("demoState"))->text().startsWith(QStringLiteral("Running now")));
  }
};

QTEST_MAIN(TestRunsPage)
#include "test_runs_page.moc"
