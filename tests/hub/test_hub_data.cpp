// `tessera-hub data list|reject|add|accept` against a running tessera-hub process: proposals made
// through the node's client are listed with their contributor, one is rejected (and no longer
// listed), the publisher's own file is added to the served shards (and served at once), and an
// acceptance with a key that is not the publisher's is refused before the hub changes anything.
#include <QtTest>

#include <signal.h>

#include <QProcess>
#include <QRegularExpression>

#include <filesystem>
#include <fstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/delegation.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"
#include "tests/support/run_process.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// tessera-hub serving a run on 127.0.0.1 with a free port, stopped with SIGTERM.
class Hub {
 public:
  Hub(const QString& data_dir, const fs::path& run_dir) {
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(QStringLiteral(TESSERA_HUB_BIN),
                   {"--data-dir", data_dir, "--listen", "127.0.0.1:0", "--manifest",
                    QString::fromStdString((run_dir / "manifest.json").string()), "--key",
                    QString::fromStdString((run_dir / "publisher.json").string())});
  }
  ~Hub() {
    if (process_.state() == QProcess::NotRunning) return;
    ::kill(static_cast<pid_t>(process_.processId()), SIGTERM);
    if (!process_.waitForFinished(30000)) process_.kill();
  }
  // The API's URL once the hub serves, "" otherwise (see output()).
  std::string wait_url(int timeout_ms = 30000) {
    static const QRegularExpression serving(QStringLiteral("serving run \\S+ at (http://127\\.0\\.0\\.1:\\d+)"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms && process_.state() != QProcess::NotRunning) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      const auto match = serving.match(output_);
      if (match.hasMatch()) return match.captured(1).toStdString();
    }
    return {};
  }
  const QString& output() const { return output_; }

 private:
  QProcess process_;
  QString output_;
};

test::ProcessResult data(const QString& data_dir, const QStringList& arguments) {
  return test::run_process(QStringLiteral(TESSERA_HUB_BIN), QStringList{"--data-dir", data_dir, "data"} + arguments);
}

std::string text_of(std::size_t bytes, char seed) {
  std::string text;
  for (std::size_t i = 0; i < bytes; ++i) text += static_cast<char>('a' + (i * 5 + static_cast<std::size_t>(seed)) % 26);
  return text;
}

}  // namespace

class TestHubData : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void proposalsAreReviewedFromTheCommandLine() {
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    const auto publisher = wallet::KeyPair::generate();
    auto manifest = test::tiny_two_stage_manifest("data-run");
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    std::ofstream(root / "manifest.json") << protocol::to_json(manifest).dump();
    wallet::write_solana_keypair_file(root / "publisher.json", publisher);
    const auto stranger = wallet::KeyPair::generate();
    wallet::write_solana_keypair_file(root / "stranger.json", stranger);
    const auto data_dir = dir.path() + "/data";

    QVERIFY(data(data_dir, {"list"}).err.contains("no tessera-hub is running"));
    Hub hub(data_dir, root);
    const auto url = hub.wait_url();
    QVERIFY2(!url.empty(), qPrintable(hub.output()));
    QVERIFY(data(data_dir, {"list"}).out.contains("no shards waiting for review"));

    const auto owner = wallet::KeyPair::generate(), node = wallet::KeyPair::generate();
    client::HubClient client(url);
    const auto delegation = wallet::sign_delegation(owner, node.public_key(), "data-run", 4102444800);
    const auto kept = client.propose_shard(node, delegation, text_of(400, 1))["hash"].get<std::string>();
    const auto dropped = client.propose_shard(node, delegation, text_of(300, 2))["hash"].get<std::string>();

    const auto listed = data(data_dir, {"list"});
    QCOMPARE(listed.exit_code, 0);
    QVERIFY(listed.out.contains(QString::fromStdString(kept)));
    QVERIFY(listed.out.contains(QString::fromStdString(wallet::address_of(owner.public_key()))));
    auto as_json = json::parse(data(data_dir, {"list", "--run", "data-run", "--json"}).out.toStdString());
    QCOMPARE(as_json.size(), std::size_t(2));

    const auto rejected = data(data_dir, {"reject", "data-run", QString::fromStdString(dropped)});
    QVERIFY2(rejected.exit_code == 0, qPrintable(rejected.err));
    QVERIFY(!data(data_dir, {"list"}).out.contains(QString::fromStdString(dropped)));
    QCOMPARE(data(data_dir, {"reject", "data-run", QString::fromStdString(dropped)}).exit_code, 1);

    // Not the publisher's key: refused, and the proposal still waits.
    if (!fs::exists(root / "data" / "hub" / "runs" / "data-run.json")) {  // the multi-run hub writes it itself
      fs::create_directories(root / "data" / "hub" / "runs");
      std::ofstream(root / "data" / "hub" / "runs" / "data-run.json") << protocol::to_json(manifest).dump();
    }
    const auto refused = data(data_dir, {"accept", "data-run", QString::fromStdString(kept), "--publisher-key",
                                         QString::fromStdString((root / "stranger.json").string())});
    QCOMPARE(refused.exit_code, 1);
    QVERIFY2(refused.err.contains("is not the key of run data-run's publisher"), qPrintable(refused.err));
    QVERIFY(data(data_dir, {"list"}).out.contains(QString::fromStdString(kept)));

    // The publisher's own shard, served as soon as it is added.
    const auto own = text_of(1000, 3);
    std::ofstream(root / "own.txt", std::ios::binary) << own;
    const auto added = data(data_dir, {"add", QString::fromStdString((root / "own.txt").string())});
    QVERIFY2(added.exit_code == 0, qPrintable(added.err));
    QVERIFY(added.out.startsWith(QString::fromStdString(protocol::shard_hash(own) + "  1000")));
    httplib::Client http(url);
    const auto served = http.Get(protocol::hub_api::shard_path(protocol::shard_hash(own)));
    QVERIFY(served);
    QCOMPARE(served->status, 200);
    QCOMPARE(served->body, own);
  }
};

QTEST_GUILESS_MAIN(TestHubData)
#include "test_hub_data.moc"
