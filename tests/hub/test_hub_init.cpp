// `tessera-hub init` as a publisher runs it: a signed manifest from a few choices, data files
// copied as content-addressed shards next to it, what each stage needs printed; existing files
// kept without --force; bad combinations refused with a message; and the real tessera-hub serves
// the written manifest unchanged.
#include <QtTest>

#include <QProcess>
#include <QRegularExpression>

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_needs.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/run_process.h"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

std::string blake2b_hex(const std::string& bytes) {
  std::array<std::uint8_t, 32> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     nullptr, 0);
  return wallet::to_hex(digest);
}

QString q(const fs::path& path) { return QString::fromStdString(path.string()); }

test::ProcessResult hub_init(const QStringList& arguments) {
  return test::run_process(QStringLiteral(TESSERA_HUB_BIN), QStringList{"init"} + arguments, {}, 30000);
}

}  // namespace

class TestHubInit : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  fs::path root_, publisher_file_, hub_file_;
  wallet::PublicKey publisher_{}, hub_{};

  // A two-stage int8 run of a tiny model on two data files, written to `out`; `change` replaces
  // options (an option followed by its values).
  QStringList choices(const fs::path& out, const QStringList& change = {}) const {
    QList<QStringList> options{{"--run", "init-test"}, {"--layers", "2"}, {"--width", "32"}, {"--heads", "2"},
                               {"--context", "8"}, {"--stages", "2"}, {"--codec", "int8"},
                               {"--dataset", q(root_ / "a.txt"), q(root_ / "b.txt")}, {"--price", "0.002"},
                               {"--epoch-seconds", "60"}, {"--total-steps", "5"}, {"--data-rate", "10"},
                               {"--publisher-key", q(publisher_file_)}, {"--hub-key", q(hub_file_)}, {"--out", q(out)}};
    for (qsizetype i = 0; i < change.size();) {
      QStringList option{change[i++]};
      while (i < change.size() && !change[i].startsWith("--")) option << change[i++];
      bool replaced = false;
      for (auto& existing : options)
        if (existing[0] == option[0]) existing = option, replaced = true;
      if (!replaced) options << option;
    }
    QStringList arguments;
    for (const auto& option : options) arguments += option;
    return arguments;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(sodium_init() >= 0);
    QVERIFY(dir_.isValid());
    root_ = dir_.path().toStdString();
    publisher_file_ = root_ / "publisher.json";
    hub_file_ = root_ / "hub.json";
    const auto publisher = wallet::KeyPair::generate();
    const auto hub = wallet::KeyPair::generate();
    wallet::write_solana_keypair_file(publisher_file_, publisher);
    wallet::write_solana_keypair_file(hub_file_, hub);
    publisher_ = publisher.public_key();
    hub_ = hub.public_key();
    write_text(root_ / "a.txt", "12+34=46\n");
    write_text(root_ / "b.txt", "The quick brown fox jumps over the lazy dog.\n");
  }

  void writesASignedManifestAndItsShards() {
    const auto out = root_ / "run" / "manifest.json";
    fs::create_directories(out.parent_path());
    const auto result = hub_init(choices(out));
    QVERIFY2(result.exit_code == 0, qPrintable(result.err));
    const auto manifest = protocol::manifest_from_json(nlohmann::json::parse(read_text(out)));
    QVERIFY(protocol::verify_manifest(manifest, publisher_));
    QVERIFY(manifest.hub_key == hub_);
    QCOMPARE(manifest.model.width, 32);
    QCOMPARE(manifest.model.heads, 2);
    QCOMPARE(manifest.stages, 2);
    QCOMPARE(manifest.codec, std::string("int8"));
    QCOMPARE(manifest.price_per_1k_tokens, std::uint64_t{2000});
    QCOMPARE(manifest.epoch_seconds, std::int64_t{60});
    QCOMPARE(manifest.train.total_steps, 5);
    QCOMPARE(manifest.data_units_per_1k_tokens, std::uint64_t{10});
    QCOMPARE(manifest.shards.size(), std::size_t{2});
    for (std::size_t i = 0; i < 2; ++i) {
      const auto bytes = read_text(root_ / (i == 0 ? "a.txt" : "b.txt"));
      QCOMPARE(manifest.shards[i].hash, blake2b_hex(bytes));
      QCOMPARE(manifest.shards[i].bytes, std::uint64_t{bytes.size()});
      QCOMPARE(manifest.shards[i].contributor, std::string());
      QCOMPARE(manifest.dataset[i], manifest.shards[i].hash);
      QCOMPARE(read_text(out.parent_path() / "shards" / manifest.shards[i].hash), bytes);  // served later by hash
    }
    // What it printed is run_needs' numbers.
    const auto needs = protocol::run_needs(manifest);
    QVERIFY2(result.out.contains(QRegularExpression("parameters: [0-9,]+")), qPrintable(result.out));
    QVERIFY(QString(result.out).remove(',').contains(QString::number(needs.parameters)));
    QVERIFY2(result.out.contains(QString::number(needs.stages[0].bytes_per_token)), qPrintable(result.out));
    QVERIFY(result.out.contains(q(out)));
    QVERIFY(!result.out.contains(QString::fromStdString(read_text(publisher_file_)).left(20)));  // no secret
  }

  void keepsAnExistingFileWithoutForce() {
    const auto out = root_ / "kept.json";
    write_text(out, "mine\n");
    const auto refused = hub_init(choices(out));
    QVERIFY(refused.exit_code != 0);
    QVERIFY2(refused.err.contains("--force"), qPrintable(refused.err));
    QCOMPARE(read_text(out), std::string("mine\n"));
    QCOMPARE(hub_init(choices(out, {"--force"})).exit_code, 0);
    QVERIFY(protocol::verify_manifest(protocol::manifest_from_json(nlohmann::json::parse(read_text(out))), publisher_));
  }

  void refusesBadCombinations_data() {
    QTest::addColumn<QStringList>("change");
    QTest::addColumn<QString>("named");
    QTest::newRow("heads") << QStringList{"--width", "30", "--heads", "4"} << "not divisible by heads";
    QTest::newRow("stages") << QStringList{"--stages", "3"} << "stages 3";
    QTest::newRow("rank") << QStringList{"--rank", "8"} << "subspace codec";
    QTest::newRow("codec") << QStringList{"--codec", "zip"} << "zip";
    QTest::newRow("run") << QStringList{"--run", "a/b"} << "run id";
    QTest::newRow("price") << QStringList{"--price", "1.5x"} << "--price";
    QTest::newRow("mixed dataset") << QStringList{"--dataset", "arithmetic", q(root_ / "a.txt")} << "not both";
    QTest::newRow("missing file") << QStringList{"--dataset", q(root_ / "none.txt")} << "none.txt";
    QTest::newRow("hub keys") << QStringList{"--hub-public", "3yZe7d"} << "not both";
  }

  void refusesBadCombinations() {
    QFETCH(QStringList, change);
    QFETCH(QString, named);
    const auto out = root_ / "refused.json";
    const auto result = hub_init(choices(out, change));
    QVERIFY(result.exit_code != 0);
    QVERIFY2(result.err.contains(named), qPrintable(result.err));
    QVERIFY(!fs::exists(out));
  }

  void theHubServesTheWrittenManifest() {
    const auto out = root_ / "served" / "manifest.json";
    fs::create_directories(out.parent_path());
    QCOMPARE(hub_init(choices(out)).exit_code, 0);
    QProcess hub;
    hub.setProcessChannelMode(QProcess::MergedChannels);
    hub.start(QStringLiteral(TESSERA_HUB_BIN), {"--data-dir", q(root_ / "hub-data"), "--listen", "127.0.0.1:0",
                                                "--manifest", q(out), "--hub-key", q(hub_file_)});
    QString output;
    QRegularExpressionMatch serving;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 30000 && hub.state() != QProcess::NotRunning && !serving.hasMatch()) {
      hub.waitForReadyRead(50);
      output += QString::fromUtf8(hub.readAll());
      serving = QRegularExpression(QStringLiteral("serving run \\S+ at http://127\\.0\\.0\\.1:(\\d+)")).match(output);
    }
    QVERIFY2(serving.hasMatch(), qPrintable(output));
    httplib::Client client("127.0.0.1", serving.captured(1).toInt());
    client.set_read_timeout(std::chrono::seconds(10));
    const auto answer = client.Get(protocol::hub_api::kManifest);
    hub.terminate();
    hub.waitForFinished(30000);
    QVERIFY(answer && answer->status == 200);
    QCOMPARE(nlohmann::json::parse(answer->body), nlohmann::json::parse(read_text(out)));
  }
};

QTEST_APPLESS_MAIN(TestHubInit)
#include "test_hub_init.moc"
