// Runs joined, left and switched without restarting the node (docs/runs.md): two hubs over HTTPS
// in this process, each serving a one-stage run under its link, and one real `tessera-node run`
// started in no run. Through its control API the test adds both links, joins run A and sees it
// train, leaves (the node stays up, idle), joins A again (it fetches the stage's state from a
// replica this process runs meanwhile, and goes on training), then switches to run B and sees
// that train. The node's process and control API are the same throughout, and its one
// contribution log verifies, holding the work of both runs.
// The fit estimate against the real run: the tokens/s the fit predicts for run A from a doctor
// measurement and what the node then trains alone on it are within a factor of kFitFactor.
#include <QtTest>

#include <signal.h>

#include <fstream>
#include <memory>
#include <optional>

#include "core/control/control_api.h"
#include "core/control/control_file.h"
#include "core/hub/hub_service.h"
#include "core/hub/tls_identity.h"
#include "core/ledger/reader.h"
#include "core/model/model_config.h"
#include "core/control/run_views.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "tests/support/run_process.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

// The estimate scales doctor's matmul rate at a fixed utilisation (30%); a small model on a shared
// CPU lands within this factor of it either way.
constexpr double kFitFactor = 4.0;

template <typename Condition>
bool wait_until(Condition&& condition, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!condition()) {
    if (timer.elapsed() > timeout_ms) return false;
    QTest::qWait(200);
  }
  return true;
}

struct TlsHub {
  wallet::KeyPair key = wallet::KeyPair::generate();  // the hub's and the publisher's
  std::unique_ptr<hub::HubService> service;

  void start(protocol::RunManifest manifest) {
    manifest.hub_key = key.public_key();
    protocol::sign_manifest(manifest, key);
    hub::HubOptions options;
    options.hub_key = &key;
    options.tls = hub::TlsIdentity::self_signed({"127.0.0.1"}, {});
    options.check_rate = 0;
    service = std::make_unique<hub::HubService>(manifest, options);
    service->start();
  }
  std::string link() const { return service->run_link().to_string(); }
};

}  // namespace

class TestNodeRuns : public QObject {
  Q_OBJECT

  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  TlsHub hub_a_, hub_b_;
  protocol::RunManifest run_a_, run_b_;
  std::unique_ptr<QProcess> node_;
  std::unique_ptr<control::ControlClient> control_;
  test::RunningNode replica_;  // a second replica of run A's stage, so a rejoin has state to fetch

  fs::path data_dir() const { return fs::path(dir_.path().toStdString()) / "node"; }
  fs::path output_file() const { return fs::path(dir_.path().toStdString()) / "node.log"; }

  QByteArray node_output() const {
    std::ifstream in(output_file());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return QByteArray::fromStdString(text.size() > 6000 ? text.substr(text.size() - 6000) : text);
  }

  control::NodeStatus status() { return control_->status(); }

  // Waits until the node trains `run` past `step`; returns the step it reached.
  // The node is in `run` and its step has moved past `past_step`. A replica that does not drive
  // spends most of a step "waiting" for the driver, so either state counts once the step moves.
  bool trains(const std::string& run, std::int64_t past_step, int timeout_ms = 40000) {
    const bool ok = wait_until(
        [&] {
          const auto s = status();
          return s.run == run && (s.state == "running" || s.state == "waiting") && s.step > past_step;
        },
        timeout_ms);
    if (!ok) qWarning("the node does not train %s past step %lld; status %s; its output:\n%s", run.c_str(),
                      static_cast<long long>(past_step), status().to_json().dump().c_str(), node_output().constData());
    return ok;
  }

  bool idle() {
    const bool ok = wait_until([&] { return control_->runs().activity == "idle" && status().state == "idle"; }, 30000);
    if (!ok) qWarning("the node does not go idle; its output:\n%s", node_output().constData());
    return ok;
  }

 private Q_SLOTS:
  void initTestCase() {
    run_a_ = test::tiny_two_stage_manifest("runs-a");
    run_a_.model = model::demo_model_config();  // the model doctor's rate is quoted for
    run_a_.stages = 1;
    run_a_.codec = "none";
    run_a_.train.micro_batch_size = 2;
    run_a_.train.total_steps = 1000000;
    hub_a_.start(run_a_);
    run_b_ = test::tiny_two_stage_manifest("runs-b");
    run_b_.stages = 1;
    run_b_.codec = "none";
    run_b_.train.total_steps = 1000000;
    hub_b_.start(run_b_);

    fs::create_directories(data_dir());
    const auto node_key = wallet::load_or_create_node_key(data_dir() / wallet::kNodeKeyFileName);
    const auto delegation = wallet::sign_delegation(owner_, node_key.public_key(), wallet::kAnyRun, 4102444800);
    std::ofstream(data_dir() / "delegation.json") << delegation.to_json().dump();

    node_ = std::make_unique<QProcess>();
    node_->setStandardOutputFile(QString::fromStdString(output_file().string()));
    node_->setStandardErrorFile(QString::fromStdString(output_file().string()), QIODevice::Append);
    node_->start(QStringLiteral(TESSERA_NODE_BIN),
                 {QStringLiteral("--data-dir"), QString::fromStdString(data_dir().string()), QStringLiteral("run"),
                  QStringLiteral("--listen"), QStringLiteral("tcp://127.0.0.1:0"), QStringLiteral("--no-port-mapping"),
                  QStringLiteral("--no-relay")});
    QVERIFY(node_->waitForStarted());
    const auto file = data_dir() / control::kControlFileName;
    QVERIFY2(wait_until([&] { return fs::exists(file); }, 30000), node_output().constData());
    QTest::qWait(200);  // written atomically, but give the server its first accept
    const auto endpoint = control::read_control_file(file);
    control_ = std::make_unique<control::ControlClient>(endpoint.port, endpoint.token);
  }

  void startsInNoRun() {
    const auto report = control_->runs();
    QVERIFY(!report.current);
    QCOMPARE(QString::fromStdString(report.activity), QStringLiteral("idle"));
    QVERIFY(report.runs.empty());
    QCOMPARE(QString::fromStdString(status().state), QStringLiteral("idle"));
  }

  void addsRunsByLink() {
    auto report = control_->add_run(hub_a_.link());
    report = control_->add_run(hub_b_.link());
    QCOMPARE(report.runs.size(), std::size_t(2));
    QCOMPARE(QString::fromStdString(report.runs[0].run), QStringLiteral("runs-a"));
    QCOMPARE(QString::fromStdString(report.runs[1].link), QString::fromStdString(hub_b_.link()));
    for (const auto& run : report.runs)  // each hub's catalog gives the fit for this machine
      QVERIFY2(run.catalog && run.fit && run.fit->fits && run.fit->stage == 0, run.to_json().dump().c_str());
    QVERIFY(fs::exists(data_dir() / "runs.json"));
    // A link whose publisher key is not the run's is refused, and so is something that is no link.
    auto forged = hub_a_.service->run_link();
    forged.publisher = wallet::KeyPair::generate().public_key();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, control_->add_run(forged.to_string()));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, control_->add_run("https://127.0.0.1:1/"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, control_->join_run("no-such-run"));
    QCOMPARE(control_->runs().runs.size(), std::size_t(2));
  }

  // The node's own estimate for run A (its hub's catalog and doctor's rate) against what the node
  // trains on it alone.
  void joinsAndTrainsNearTheFit() {
    std::optional<control::RunFit> estimate;
    for (const auto& run : control_->runs().runs)
      if (run.run == "runs-a") estimate = run.fit;
    QVERIFY(estimate && estimate->fits && estimate->tokens_per_s);
    const auto& fit = *estimate;

    const auto report = control_->join_run("runs-a");
    QCOMPARE(QString::fromStdString(report.current.value_or("")), QStringLiteral("runs-a"));
    QVERIFY(trains("runs-a", 1));
    const auto first = status().step;
    QElapsedTimer timer;
    timer.start();
    QVERIFY(wait_until([&] { return status().step >= first + 4 || timer.elapsed() > 20000; }, 30000));
    const auto steps = status().step - first;
    const double seconds = timer.elapsed() / 1000.0;
    const double tokens_per_step = run_a_.train.micro_batch_size * run_a_.train.micro_batches * run_a_.model.context;
    const double measured = steps * tokens_per_step / seconds;
    const double ratio = *fit.tokens_per_s / measured;
    qInfo("run A: estimated %.0f tokens/s, measured %.0f tokens/s (%lld steps in %.1f s): ratio %.2f",
          *fit.tokens_per_s, measured, static_cast<long long>(steps), seconds, ratio);
    QVERIFY(steps >= 1);
    QVERIFY2(ratio < kFitFactor && ratio > 1.0 / kFitFactor, "the fit's tokens/s is off by more than the factor");
    const auto runs = control_->runs();
    QVERIFY2(runs.activity.rfind("training stage 1 of 1 of runs-a", 0) == 0, runs.activity.c_str());
  }

  void leavesAndJoinsAgain() {
    // A second replica of run A's stage, so that the state survives the node's leaving. Each
    // replica fetches the other's state while that one holds still (a driver that steps on
    // meanwhile makes a slow machine chase it).
    const auto pid = node_->processId();
    control_->pause(false);
    QTest::qWait(1500);  // a step in flight ends
    const auto paused_at = status().step;
    node::SwarmNodeOptions options;
    options.hub_url = hub_a_.link();
    options.data_dir = fs::path(dir_.path().toStdString()) / "replica";
    options.map_port = false;
    options.use_relays = false;
    replica_.launch(owner_, options);
    QVERIFY(test::wait_until([&] { return replica_.ready() && replica_.node->status().step == paused_at; },
                             std::chrono::seconds(40)));
    control_->start();
    QVERIFY2(test::wait_until([&] { return replica_.node->status().step > paused_at + 1; }, std::chrono::seconds(40)),
             node_output().constData());  // both replicas train together

    const auto report = control_->leave_run();
    QVERIFY(report.activity.rfind("leaving", 0) == 0 || report.activity == "idle");
    QVERIFY(!report.current);
    QVERIFY(idle());
    QCOMPARE(node_->state(), QProcess::Running);

    replica_.node->set_paused(true, "the test holds the run still");
    QTest::qWait(1500);
    const auto left_at = replica_.node->status().step;
    control_->join_run("runs-a");
    QVERIFY2(wait_until(
                 [&] {
                   const auto s = status();
                   return s.run == "runs-a" && s.state == "waiting" && s.step == left_at;
                 },
                 40000),
             node_output().constData());  // it has the replica's state
    replica_.node->set_paused(false);
    QVERIFY(trains("runs-a", left_at));  // and trains on from there
    QCOMPARE(node_->processId(), pid);
  }

  void switchesToAnotherRun() {
    const auto pid = node_->processId();
    const auto report = control_->join_run("runs-b");
    QCOMPARE(QString::fromStdString(report.current.value_or("")), QStringLiteral("runs-b"));
    QVERIFY(trains("runs-b", 1));
    QCOMPARE(node_->processId(), pid);
    QCOMPARE(QString::fromStdString(control_->runs().current.value_or("")), QStringLiteral("runs-b"));
    // The run it left is still listed; the one it is in cannot be removed.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, control_->remove_run("runs-b"));
    QCOMPARE(control_->remove_run("runs-a").runs.size(), std::size_t(1));
    control_->add_run(hub_a_.link());
  }

  void anUnreachableHubIsAnErrorForItsRunOnly() {
    hub_a_.service->stop();
    QTest::qWait(5500);  // past the 5 s the node keeps a catalog answer
    const auto report = control_->runs();  // answers: only run A's entry says what went wrong
    QCOMPARE(report.runs.size(), std::size_t(2));
    const auto& a = report.runs[0].run == "runs-a" ? report.runs[0] : report.runs[1];
    QVERIFY(!a.catalog && !a.fit);
    QVERIFY2(a.error.find("did not answer") != std::string::npos, a.to_json().dump().c_str());
  }

  void stopsAndBothRunsLogsVerify() {
    replica_.stop = true;
    ::kill(static_cast<pid_t>(node_->processId()), SIGTERM);
    QVERIFY2(node_->waitForFinished(30000), node_output().constData());
    QCOMPARE(node_->exitCode(), 0);
    QVERIFY(!fs::exists(data_dir() / control::kControlFileName));

    const auto verify = test::run_process(QStringLiteral(TESSERA_NODE_BIN),
                                          {QStringLiteral("--data-dir"), QString::fromStdString(data_dir().string()),
                                           QStringLiteral("log"), QStringLiteral("verify")});
    QVERIFY2(verify.exit_code == 0, qPrintable(verify.err + verify.out));
    const auto work = test::run_process(QStringLiteral(TESSERA_NODE_BIN),
                                        {QStringLiteral("--data-dir"), QString::fromStdString(data_dir().string()),
                                         QStringLiteral("log"), QStringLiteral("export"), QStringLiteral("--table"),
                                         QStringLiteral("work"), QStringLiteral("--csv"), QStringLiteral("-")});
    QVERIFY2(work.exit_code == 0, qPrintable(work.err));
    QVERIFY(work.out.contains(QStringLiteral("runs-a")));
    QVERIFY(work.out.contains(QStringLiteral("runs-b")));
  }

  void cleanupTestCase() {
    if (node_ && node_->state() != QProcess::NotRunning) {
      node_->kill();
      node_->waitForFinished(10000);
    }
  }
};

QTEST_GUILESS_MAIN(TestNodeRuns)
#include "test_node_runs.moc"
