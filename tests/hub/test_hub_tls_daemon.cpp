// tessera-hub and HTTPS (docs/hub.md "HTTPS and the run link"): on loopback with --tls it prints
// and writes its run link, and a restart reuses its self-signed certificate (nodes keep their pin);
// on any other address it serves HTTPS without being asked, and plain HTTP is not answered there;
// a certificate from files is served and bound to the run; --tls-cert needs --tls-key.
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <httplib.h>

#include "core/client/hub_client.h"
#include "core/hub/tls_identity.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/keypair_file.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;

namespace {

// tessera-hub with `arguments`; waits for its run link (empty when none came: see output).
class Hub {
 public:
  explicit Hub(const QStringList& arguments) {
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(QStringLiteral(TESSERA_HUB_BIN), arguments);
  }
  ~Hub() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(30000)) process_.kill();
  }
  std::string wait_for(const QRegularExpression& pattern, int timeout_ms = 30000) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms) {
      process_.waitForReadyRead(50);
      output_ += QString::fromUtf8(process_.readAll());
      const auto match = pattern.match(output_);
      if (match.hasMatch()) return match.captured(1).toStdString();
      if (process_.state() == QProcess::NotRunning) break;
    }
    output_ += QString::fromUtf8(process_.readAll());
    return {};
  }
  std::string wait_for_link() { return wait_for(QRegularExpression(QStringLiteral("run link: (tessera://\\S+)"))); }
  void stop() {
    process_.terminate();
    process_.waitForFinished(30000);
  }
  const QString& output() const { return output_; }

 private:
  QProcess process_;
  QString output_;
};

}  // namespace

class TestHubTlsDaemon : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  QString manifest_file_, key_file_;

  QStringList run(const QString& data, const QString& listen) const {
    return {QStringLiteral("--data-dir"), dir_.filePath(data), QStringLiteral("--listen"), listen,
            QStringLiteral("--manifest"), manifest_file_, QStringLiteral("--key"), key_file_};
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    auto manifest = test::tiny_two_stage_manifest("daemon-tls");
    manifest.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest, publisher_);
    manifest_file_ = dir_.filePath(QStringLiteral("manifest.json"));
    key_file_ = dir_.filePath(QStringLiteral("publisher.json"));
    std::ofstream(manifest_file_.toStdString()) << protocol::to_json(manifest).dump();
    wallet::write_solana_keypair_file(key_file_.toStdString(), publisher_);
  }

  void loopbackWithTlsPrintsItsLinkAndKeepsItsCertificate() {
    protocol::CertificateFingerprint first{};
    for (int start = 0; start < 2; ++start) {
      Hub hub(run(QStringLiteral("a"), QStringLiteral("127.0.0.1:0")) << QStringLiteral("--tls"));
      const auto link = hub.wait_for_link();
      QVERIFY2(!link.empty(), qPrintable(hub.output()));
      QVERIFY(protocol::parse_run_link(link).run_id == "daemon-tls");
      client::HubClient client(link);
      QCOMPARE(QString::fromStdString(client.manifest().run_id), QStringLiteral("daemon-tls"));
      QVERIFY(client.receipt_summary().is_object());
      const auto pinned = client.endpoint()->pinned();
      QVERIFY(pinned.has_value());
      if (start == 0) first = *pinned;
      else QVERIFY(*pinned == first);  // the same certificate after a restart
      const auto state = std::filesystem::path(dir_.filePath(QStringLiteral("a/hub")).toStdString());
      std::ifstream written(state / "run-link.txt");
      std::string line;
      std::getline(written, line);
      QCOMPARE(QString::fromStdString(line), QString::fromStdString(link));
      struct stat key_stat{};
      QCOMPARE(::stat((state / hub::TlsIdentity::kKeyFile).c_str(), &key_stat), 0);
      QCOMPARE(key_stat.st_mode & 0777, 0600u);
    }
  }

  void plainLoopbackStaysHttp() {
    Hub hub(run(QStringLiteral("b"), QStringLiteral("127.0.0.1:0")));
    const auto url = hub.wait_for(QRegularExpression(QStringLiteral("serving run \\S+ at (\\S+)")));
    QVERIFY2(url.rfind("http://127.0.0.1:", 0) == 0, qPrintable(hub.output()));
    QVERIFY(!hub.output().contains("run link:"));
    QCOMPARE(QString::fromStdString(client::HubClient(url).manifest().run_id), QStringLiteral("daemon-tls"));
  }

  void anyOtherAddressServesHttpsOnly() {
    Hub hub(run(QStringLiteral("c"), QStringLiteral("0.0.0.0:0"))
            << QStringLiteral("--public-host") << QStringLiteral("127.0.0.1"));
    const auto link = hub.wait_for_link();
    QVERIFY2(link.rfind("tessera://127.0.0.1:", 0) == 0, qPrintable(hub.output()));
    QCOMPARE(QString::fromStdString(client::HubClient(link).manifest().run_id), QStringLiteral("daemon-tls"));
    httplib::Client plain("127.0.0.1", protocol::parse_run_link(link).port);
    plain.set_connection_timeout(std::chrono::seconds(5));
    plain.set_read_timeout(std::chrono::seconds(5));
    const auto answer = plain.Get(protocol::hub_api::kManifest);
    QVERIFY(!answer || answer->status != 200);
  }

  void aCertificateFromFilesIsServedAndBound() {
    const auto certs = std::filesystem::path(dir_.filePath(QStringLiteral("certs")).toStdString());
    const auto identity = hub::TlsIdentity::self_signed({"127.0.0.1"}, certs);
    const auto cert = QString::fromStdString((certs / hub::TlsIdentity::kCertificateFile).string());
    const auto key = QString::fromStdString((certs / hub::TlsIdentity::kKeyFile).string());
    Hub hub(run(QStringLiteral("d"), QStringLiteral("127.0.0.1:0"))
            << QStringLiteral("--tls-cert") << cert << QStringLiteral("--tls-key") << key);
    const auto link = hub.wait_for_link();
    QVERIFY2(!link.empty(), qPrintable(hub.output()));
    client::HubClient client(link);
    QVERIFY(client.receipt_summary().is_object());
    QVERIFY(client.endpoint()->pinned() == identity->fingerprint());

    Hub half(run(QStringLiteral("e"), QStringLiteral("127.0.0.1:0")) << QStringLiteral("--tls-cert") << cert);
    half.wait_for(QRegularExpression(QStringLiteral("(never)")), 10000);
    QVERIFY2(half.output().contains("--tls-cert and --tls-key go together"), qPrintable(half.output()));
  }
};

QTEST_APPLESS_MAIN(TestHubTlsDaemon)
#include "test_hub_tls_daemon.moc"
