// `tessera-hub runs add|list|retire` against a running tessera-hub process (issue 21): a second
// run (another publisher, the same hub key) is added while the hub serves and appears in the
// catalog; one naming another hub key is refused with the reason; a retired run refuses joins
// with 410; `keys --run` reaches one run's keys; restarted without --manifest, the hub serves the
// runs of its state folder (with its hub key); without runs and without --manifest it refuses to start.
#include <QtTest>

#include <signal.h>

#include <QProcess>
#include <QRegularExpression>

#include <filesystem>
#include <fstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/run_process.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// tessera-hub on 127.0.0.1 with free ports, stopped with SIGTERM.
class Hub {
 public:
  explicit Hub(const QStringList& arguments) {
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(QStringLiteral(TESSERA_HUB_BIN), arguments);
  }
  ~Hub() { stop(); }
  // The API's port once the hub serves (it prints its catalog's URL last), 0 otherwise.
  int wait_port(int timeout_ms = 30000) {
    static const QRegularExpression catalog(QStringLiteral("catalog: http://127\\.0\\.0\\.1:(\\d+)/api/runs"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      const auto match = catalog.match(output_);
      if (match.hasMatch()) return match.captured(1).toInt();
      if (process_.state() == QProcess::NotRunning) break;
    }
    return 0;
  }
  bool exited() { return process_.waitForFinished(30000); }
  void stop() {
    if (process_.state() == QProcess::NotRunning) return;
    ::kill(static_cast<pid_t>(process_.processId()), SIGTERM);
    if (!process_.waitForFinished(30000)) process_.kill();
    output_ += QString::fromUtf8(process_.readAll());
  }
  const QString& output() {
    output_ += QString::fromUtf8(process_.readAll());
    return output_;
  }

 private:
  QProcess process_;
  QString output_;
};

test::ProcessResult hub_command(const QString& data_dir, const QStringList& arguments) {
  return test::run_process(QStringLiteral(TESSERA_HUB_BIN), QStringList{"--data-dir", data_dir} + arguments);
}

void write_manifest(const fs::path& file, const std::string& run, const wallet::KeyPair& publisher,
                    const wallet::PublicKey& hub_key) {
  auto manifest = test::tiny_two_stage_manifest(run);
  manifest.hub_key = hub_key;
  protocol::sign_manifest(manifest, publisher);
  std::ofstream(file) << protocol::to_json(manifest).dump();
}

protocol::RunCatalog catalog(int port) {
  httplib::Client client("127.0.0.1", port);
  const auto reply = client.Get(protocol::kRunCatalogPath);
  if (!reply || reply->status != 200) throw std::runtime_error("no catalog");
  return protocol::parse_run_catalog(reply->body);
}

}  // namespace

class TestHubRuns : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void runsAreManagedWhileTheHubServes() {
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    const auto publisher = wallet::KeyPair::generate(), bob = wallet::KeyPair::generate();
    const auto stranger = wallet::KeyPair::generate();
    write_manifest(root / "a.json", "run-a", publisher, publisher.public_key());
    write_manifest(root / "b.json", "run-b", bob, publisher.public_key());
    write_manifest(root / "c.json", "run-c", bob, stranger.public_key());
    wallet::write_solana_keypair_file(root / "publisher.json", publisher);
    const auto data = dir.path() + "/data";
    const auto file = [&](const char* name) { return QString::fromStdString((root / name).string()); };

    {  // Nothing to serve: a clear refusal.
      Hub empty({"--data-dir", data, "--listen", "127.0.0.1:0"});
      QVERIFY(empty.exited());
      QVERIFY2(empty.output().contains("no run to serve"), qPrintable(empty.output()));
    }
    auto hub = std::make_unique<Hub>(QStringList{"--data-dir", data, "--listen", "127.0.0.1:0", "--manifest",
                                                 file("a.json"), "--key", file("publisher.json")});
    int port = hub->wait_port();
    QVERIFY2(port > 0, qPrintable(hub->output()));

    auto added = hub_command(data, {"runs", "add", file("b.json")});
    QVERIFY2(added.exit_code == 0, qPrintable(added.err));
    QVERIFY2(added.out.contains("run run-b added"), qPrintable(added.out));
    auto refused = hub_command(data, {"runs", "add", file("c.json")});
    QVERIFY(refused.exit_code != 0);
    QVERIFY2(refused.err.contains("this hub's key is"), qPrintable(refused.err));
    auto listed = hub_command(data, {"runs", "list"});
    QCOMPARE(listed.exit_code, 0);
    QVERIFY2(listed.out.contains(QRegularExpression("run-a\\s+0\\s+default")), qPrintable(listed.out));
    QVERIFY2(listed.out.contains(QRegularExpression("run-b\\s+0\\s+serving")), qPrintable(listed.out));
    auto runs = catalog(port);
    QCOMPARE(runs.runs.size(), std::size_t(2));
    QCOMPARE(runs.runs[1].run, std::string("run-b"));

    QCOMPARE(hub_command(data, {"keys", "--run", "run-b", "list"}).exit_code, 0);
    QVERIFY(hub_command(data, {"keys", "--run", "nope", "list"}).err.contains("serves no run nope"));

    auto retired = hub_command(data, {"runs", "retire", "run-b"});
    QVERIFY2(retired.exit_code == 0, qPrintable(retired.err));
    httplib::Client api("127.0.0.1", port);
    const auto challenge = api.Post(protocol::run_path_prefix("run-b") + protocol::hub_api::kChallenge, "{}",
                                    "application/json");
    QCOMPARE(challenge->status, 410);
    QCOMPARE(api.Post(protocol::hub_api::kChallenge, "{}", "application/json")->status, 200);
    QVERIFY(hub_command(data, {"runs", "list"}).out.contains(QRegularExpression("run-b\\s+0\\s+retired")));

    // Restarted without --manifest: the runs of the state folder, run-b still retired.
    hub->stop();
    hub = std::make_unique<Hub>(
        QStringList{"--data-dir", data, "--listen", "127.0.0.1:0", "--hub-key", file("publisher.json")});
    port = hub->wait_port();
    QVERIFY2(port > 0, qPrintable(hub->output()));
    runs = catalog(port);
    QCOMPARE(runs.runs.size(), std::size_t(2));
    QVERIFY(!runs.runs[0].retired && runs.runs[1].retired);
  }
};

QTEST_APPLESS_MAIN(TestHubRuns)
#include "test_hub_runs.moc"
