// `tessera-hub keys add|list|credit|revoke` against a running tessera-hub process: a key is printed
// once, listed without its secret, credited and revoked, and the gateway follows (401 without a
// live key, 402 beyond the balance, a failed completion costs nothing); the admin API refuses a
// wrong token; the access file is 0600 and gone once the hub stops; keys and balances outlive a
// restart.
#include <QtTest>

#include <signal.h>
#include <sys/stat.h>

#include <QProcess>
#include <QRegularExpression>

#include <filesystem>
#include <fstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/keypair_file.h"
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
  ~Hub() { stop(); }
  // The gateway's port once it serves, 0 otherwise (see output()).
  int wait_gateway(int timeout_ms = 30000) {
    static const QRegularExpression gateway(QStringLiteral("gateway: http://127\\.0\\.0\\.1:(\\d+)/v1"));
    static const QRegularExpression serving(QStringLiteral("serving run"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms && process_.state() != QProcess::NotRunning) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      const auto match = gateway.match(output_);
      if (match.hasMatch() && serving.match(output_).hasMatch()) return match.captured(1).toInt();
    }
    return 0;
  }
  void stop() {
    if (process_.state() == QProcess::NotRunning) return;
    ::kill(static_cast<pid_t>(process_.processId()), SIGTERM);
    if (!process_.waitForFinished(30000)) process_.kill();
    output_ += QString::fromUtf8(process_.readAll());
  }
  const QString& output() { return output_; }

 private:
  QProcess process_;
  QString output_;
};

test::ProcessResult keys(const QString& data_dir, const QStringList& arguments) {
  return test::run_process(QStringLiteral(TESSERA_HUB_BIN), QStringList{"--data-dir", data_dir, "keys"} + arguments);
}

}  // namespace

class TestHubKeys : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void keysAreManagedWhileTheHubRuns() {
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    const auto publisher = wallet::KeyPair::generate();
    auto manifest = test::tiny_two_stage_manifest("keys-run");
    manifest.price_per_1k_tokens = 1000;  // 1 micro-unit per token
    manifest.epoch_seconds = 3600;
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    std::ofstream(root / "manifest.json") << protocol::to_json(manifest).dump();
    wallet::write_solana_keypair_file(root / "publisher.json", publisher);
    const auto data = dir.path() + "/data";

    QVERIFY(keys(data, {"list"}).err.contains("no tessera-hub is running"));
    auto hub = std::make_unique<Hub>(data, root);
    const int port = hub->wait_gateway();
    QVERIFY2(port > 0, qPrintable(hub->output()));
    const auto access_file = fs::path(data.toStdString()) / "hub" / protocol::hub_admin_api::kAccessFileName;
    struct stat info {};
    QCOMPARE(::stat(access_file.c_str(), &info), 0);
    QCOMPARE(info.st_mode & 0777, 0600u);

    auto added = keys(data, {"add", "--name", "alice", "--balance", "0.000020"});
    QVERIFY2(added.exit_code == 0, qPrintable(added.err));
    const auto key = added.out.trimmed().toStdString();
    QVERIFY2(key.rfind("tsk_", 0) == 0 && key.size() == 68, key.c_str());
    QVERIFY(added.err.contains("shown only this once"));
    auto listed = keys(data, {"list"});
    QCOMPARE(listed.exit_code, 0);
    QVERIFY(listed.out.contains("alice"));
    QVERIFY(listed.out.contains("0.000020"));
    QVERIFY(!listed.out.contains(QString::fromStdString(key.substr(4, 16))));
    auto as_json = json::parse(keys(data, {"list", "--json"}).out.toStdString());
    QCOMPARE(as_json["keys"].size(), std::size_t(1));
    const auto id = QString::number(as_json["keys"][0]["id"].get<std::int64_t>());
    QCOMPARE(as_json["keys"][0]["balance"].get<std::int64_t>(), std::int64_t(20));

    httplib::Client gateway("127.0.0.1", port);
    gateway.set_read_timeout(std::chrono::seconds(30));
    const auto complete = [&](const std::string& bearer, int max_tokens) {
      httplib::Headers headers;
      if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
      const json body{{"model", manifest.run_id}, {"prompt", "1"}, {"max_tokens", max_tokens}};
      auto reply = gateway.Post("/v1/completions", headers, body.dump(), "application/json");
      return reply ? reply->status : -1;
    };
    QCOMPARE(complete("", 1), 401);
    QCOMPARE(complete("tsk_unknown", 1), 401);
    QCOMPARE(complete(key, 30), 402);  // 1 + 30 tokens cost 31 micro-units; the balance is 20

    auto credited = keys(data, {"credit", id, "1.5"});
    QVERIFY2(credited.exit_code == 0, qPrintable(credited.err));
    QVERIFY(credited.out.contains("1.500020"));
    QCOMPARE(complete(key, 30), 503);  // no node serves the stages: nothing is debited
    as_json = json::parse(keys(data, {"list", "--json"}).out.toStdString());
    QCOMPARE(as_json["keys"][0]["balance"].get<std::int64_t>(), std::int64_t(1'500'020));
    QCOMPARE(as_json["keys"][0]["reserved"].get<std::int64_t>(), std::int64_t(0));
    QCOMPARE(as_json["keys"][0]["spent"].get<std::int64_t>(), std::int64_t(0));

    QCOMPARE(keys(data, {"credit", "99", "1"}).exit_code, 1);
    QCOMPARE(keys(data, {"credit", id, "1.0000001"}).exit_code, 1);  // finer than a micro-unit
    auto revoked = keys(data, {"revoke", id});
    QVERIFY2(revoked.exit_code == 0, qPrintable(revoked.err));
    QCOMPARE(complete(key, 1), 401);
    QVERIFY(keys(data, {"list"}).out.contains("Z"));  // a revocation time

    // The admin API wants the token the hub wrote, and only that.
    const auto access = protocol::admin_access_from_json(json::parse(std::ifstream(access_file)));
    httplib::Client admin(access.url);
    QCOMPARE(admin.Get(protocol::hub_admin_api::kKeys)->status, 401);
    QCOMPARE(admin.Get(protocol::hub_admin_api::kKeys, {{protocol::hub_admin_api::kTokenHeader, "00"}})->status, 401);
    QCOMPARE(admin.Get(protocol::hub_admin_api::kKeys, {{protocol::hub_admin_api::kTokenHeader, access.token}})->status,
             200);

    hub->stop();
    QVERIFY(!fs::exists(access_file));
    QVERIFY(keys(data, {"list"}).err.contains("no tessera-hub is running"));
    hub = std::make_unique<Hub>(data, root);
    QVERIFY2(hub->wait_gateway() > 0, qPrintable(hub->output()));
    as_json = json::parse(keys(data, {"list", "--json"}).out.toStdString());
    QCOMPARE(as_json["keys"][0]["balance"].get<std::int64_t>(), std::int64_t(1'500'020));
    QVERIFY(!as_json["keys"][0]["revoked_ms"].is_null());
  }
};

QTEST_GUILESS_MAIN(TestHubKeys)
#include "test_hub_keys.moc"
