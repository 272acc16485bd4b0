// A node killed and started again keeps an honest log: a hub in this process settles epochs on the
// test's word (every epoch earns inference revenue, split between the node's owner and another);
// the real `tessera-node run` is SIGKILLed three times across settled epochs, sometimes right after
// an epoch closes, and started again each time. At the end the node's contribution log, read with
// the real reader and with `tessera-node log summary --json`, holds each epoch's accrued revenue
// and its verified statement exactly once, and they agree.
#include <QtTest>

#include <signal.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <fstream>
#include <memory>

#include "core/hub/hub_service.h"
#include "core/ledger/reader.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "tests/support/run_process.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kTokensPerEpoch = 2000;  // at 1,000 micro-units per 1,000 tokens: 2,000 per epoch
constexpr std::int64_t kOwnersPart = 1000;       // half the units, half the revenue

template <typename Condition>
bool wait_until(Condition&& condition, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!condition()) {
    if (timer.elapsed() > timeout_ms) return false;
    QTest::qWait(100);
  }
  return true;
}

}  // namespace

class TestNodeRestart : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair hub_key_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;
  std::string owner_address_;
  std::unique_ptr<QProcess> node_;
  QString output_;

  fs::path data_dir() const { return dir_.path().toStdString(); }
  fs::path log_file() const { return data_dir() / "contributions.db"; }

  void start_node() {
    node_ = std::make_unique<QProcess>();
    node_->setProcessChannelMode(QProcess::MergedChannels);
    node_->start(QStringLiteral(TESSERA_NODE_BIN),
                 {QStringLiteral("--data-dir"), dir_.path(), QStringLiteral("run"), QStringLiteral("--hub"),
                  QString::fromStdString(hub_->url()), QStringLiteral("--paused")});
    QVERIFY(node_->waitForStarted());
  }

  void kill_node() {
    ::kill(static_cast<pid_t>(node_->processId()), SIGKILL);
    QVERIFY(node_->waitForFinished(10000));
    output_ += QString::fromUtf8(node_->readAll());
  }

  // Settles one epoch that earned revenue (the first also credits the work that shares it).
  std::uint64_t settle_epoch() {
    hub_->settlement()->credit_paid(kTokensPerEpoch, kTokensPerEpoch);  // 1,000 micro-units per 1k tokens
    return hub_->close_epoch();
  }

  std::int64_t last_verified() const {
    if (!fs::exists(log_file())) return 0;
    try {
      return ledger::LedgerReader(log_file()).last_verified_epoch(hub_->manifest().run_id, owner_address_).value_or(0);
    } catch (const std::exception&) {
      return 0;  // the node is creating the file
    }
  }

  bool recorded(std::uint64_t epoch) {
    const bool done = wait_until([&] { return last_verified() >= static_cast<std::int64_t>(epoch); }, 60000);
    if (!done) qWarning("the node did not record epoch %llu; its output:\n%s", static_cast<unsigned long long>(epoch),
                        qPrintable(output_ + QString::fromUtf8(node_->readAll())));
    return done;
  }

 private Q_SLOTS:
  void initTestCase() {
    auto manifest = test::tiny_two_stage_manifest("restart-test");
    manifest.codec = "none";
    manifest.epoch_seconds = 2;  // the node looks for statements every 500 ms
    manifest.price_per_1k_tokens = 1000;
    manifest.hub_key = hub_key_.public_key();
    protocol::sign_manifest(manifest, hub_key_);
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    options.epoch_length = std::chrono::hours(1);  // epochs close when the test says
    hub_ = std::make_unique<hub::HubService>(manifest, options);
    hub_->start();

    const auto node_key = wallet::load_or_create_node_key(data_dir() / wallet::kNodeKeyFileName);
    const auto delegation = wallet::sign_delegation(owner_, node_key.public_key(), wallet::kAnyRun, 4102444800);
    owner_address_ = delegation.owner_address;
    std::ofstream(data_dir() / "delegation.json") << delegation.to_json().dump();
    // Epoch 1: the owner and someone else each own half; its revenue is split by nobody's shares yet.
    hub_->settlement()->credit_work(owner_address_, 4e6);
    hub_->settlement()->credit_work("someone-else", 4e6);
    QCOMPARE(hub_->close_epoch(), std::uint64_t(1));
  }

  void killedThreeTimesCountsEachEpochOnce() {
    std::uint64_t epoch = 1;
    for (int kill = 0; kill < 3; ++kill) {
      start_node();
      QVERIFY(recorded(epoch));            // caught up after the restart
      QVERIFY(recorded(epoch = settle_epoch()));  // and follows while it runs
      epoch = settle_epoch();              // settled, and the node killed at once: maybe recorded, maybe not
      kill_node();
    }
    start_node();
    QVERIFY(recorded(epoch));
    ::kill(static_cast<pid_t>(node_->processId()), SIGTERM);
    QVERIFY(node_->waitForFinished(30000));
    QCOMPARE(node_->exitCode(), 0);

    // Epochs 2..epoch each earned kOwnersPart, accrued once and verified once.
    ledger::LedgerReader reader(log_file());
    const auto epochs = static_cast<std::int64_t>(epoch);
    QCOMPARE(reader.row_count(ledger::Table::Statements), epochs);
    QCOMPARE(reader.row_count(ledger::Table::Revenue), epochs - 1);
    const auto revenue = reader.revenue_per_epoch();
    QCOMPARE(static_cast<std::int64_t>(revenue.size()), epochs);
    for (const auto& row : revenue) {  // epoch 1 earned nothing: no shares to split it by yet
      const auto part = row.epoch == 1 ? 0 : kOwnersPart;
      QCOMPARE(row.accrued, part);
      QCOMPARE(row.verified, std::optional<std::int64_t>(part));
    }
    const auto raw = reader.revenue_per_epoch_from_raw();
    QCOMPARE(raw.size(), revenue.size());
    const auto report = reader.verify();
    QVERIFY2(report.intact, report.to_text().c_str());

    // The command line a user reads the earnings with says the same.
    const auto cli = test::run_process(QStringLiteral(TESSERA_NODE_BIN),
                                       {QStringLiteral("--data-dir"), dir_.path(), QStringLiteral("log"),
                                        QStringLiteral("summary"), QStringLiteral("--json")});
    QVERIFY2(cli.exit_code == 0, qPrintable(cli.err));
    const auto rows = QJsonDocument::fromJson(cli.out.toUtf8()).object().value(QStringLiteral("revenue")).toArray();
    QCOMPARE(rows.size(), static_cast<qsizetype>(epochs));
    qint64 accrued = 0, verified = 0;
    for (const auto& row : rows) {
      accrued += row.toObject().value(QStringLiteral("accrued")).toInteger();
      verified += row.toObject().value(QStringLiteral("verified")).toInteger();
    }
    QCOMPARE(accrued, (epochs - 1) * kOwnersPart);
    QCOMPARE(verified, accrued);
  }

  void cleanupTestCase() {
    if (node_ && node_->state() != QProcess::NotRunning) {
      node_->kill();
      node_->waitForFinished(10000);
    }
    if (hub_) hub_->stop();
  }
};

QTEST_GUILESS_MAIN(TestNodeRestart)
#include "test_node_restart.moc"
