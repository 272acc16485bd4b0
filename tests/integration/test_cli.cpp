// The executables as a user runs them: --version from the one project version, doctor's JSON,
// and clear errors on bad input.
#include <QtTest>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "tessera/version.h"
#include "tests/support/run_process.h"

namespace {

using Result = tessera::test::ProcessResult;

Result run(const QString& program, const QStringList& arguments) { return tessera::test::run_process(program, arguments); }

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void versionsComeFromTheProject_data() {
    QTest::addColumn<QString>("program");
    QTest::addColumn<QString>("name");
    QTest::newRow("node") << QStringLiteral(TESSERA_NODE_BIN) << QStringLiteral("tessera-node");
    QTest::newRow("hub") << QStringLiteral(TESSERA_HUB_BIN) << QStringLiteral("tessera-hub");
#ifdef TESSERA_APP_BIN
    QTest::newRow("app") << QStringLiteral(TESSERA_APP_BIN) << QStringLiteral("Tessera");
#endif
  }

  void versionsComeFromTheProject() {
    QFETCH(QString, program);
    QFETCH(QString, name);
    const auto result = run(program, {QStringLiteral("--version")});
    QCOMPARE(result.exit_code, 0);
    QCOMPARE(result.out.trimmed(), name + QLatin1Char(' ') + QString::fromLatin1(tessera::kVersion));
  }

  void doctorJson() {
    QTemporaryDir data;
    const auto result = run(QStringLiteral(TESSERA_NODE_BIN),
                            {QStringLiteral("--data-dir"), data.path(), QStringLiteral("doctor"),
                             QStringLiteral("--json"), QStringLiteral("--seconds"), QStringLiteral("0.3")});
    QVERIFY2(result.exit_code == 0, qPrintable(result.err));
    QJsonParseError error{};
    const auto document = QJsonDocument::fromJson(result.out.toUtf8(), &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(result.out));
    const auto object = document.object();
    for (const char* key : {"os", "cpu", "ram_bytes", "disk_free_bytes", "torch_version", "cuda", "devices", "blas",
                            "matmul_gflops", "verdict"})
      QVERIFY2(object.contains(QLatin1String(key)), key);
    QVERIFY(object.value(QStringLiteral("matmul_gflops")).toDouble() > 0.0);
    QCOMPARE(object.value(QStringLiteral("data_dir")).toString(), data.path());
    QVERIFY(object.value(QStringLiteral("verdict")).toString().startsWith(QStringLiteral("ready")) ||
            object.value(QStringLiteral("verdict")).toString().startsWith(QStringLiteral("not ready")));
  }

  void doctorTextEndsWithVerdict() {
    QTemporaryDir data;
    const auto result = run(QStringLiteral(TESSERA_NODE_BIN),
                            {QStringLiteral("--data-dir"), data.path(), QStringLiteral("doctor"),
                             QStringLiteral("--seconds"), QStringLiteral("0.2")});
    QCOMPARE(result.exit_code, 0);
    QVERIFY(result.out.contains(QStringLiteral("Matmul")));
    const auto last = result.out.trimmed().split(QLatin1Char('\n')).last();
    QVERIFY2(last.startsWith(QStringLiteral("ready")) || last.startsWith(QStringLiteral("not ready")), qPrintable(last));
  }

  void badDeviceIsAClearError() {
    const auto result = run(QStringLiteral(TESSERA_NODE_BIN),
                            {QStringLiteral("doctor"), QStringLiteral("--device"), QStringLiteral("gpu7")});
    QCOMPARE(result.exit_code, 1);
    QVERIFY2(result.err.contains(QStringLiteral("unknown device 'gpu7'")), qPrintable(result.err));
  }

  void missingCommandIsAUsageError() {
    const auto result = run(QStringLiteral(TESSERA_NODE_BIN), {});
    QVERIFY(result.exit_code != 0);
    QVERIFY(result.err.contains(QStringLiteral("doctor")) || result.out.contains(QStringLiteral("doctor")));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
