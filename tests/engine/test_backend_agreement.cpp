// The two backends train the same model to the same losses: tessera-engine-check trains the
// reference model for 20 steps on the CPU, once with each backend (Debian's libtorch 1.13, and
// PyTorch's libtorch 2.x that the CUDA backend is built on), each in its own process; every step's
// loss agrees within 1e-4 relative.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

class TestBackendAgreement : public QObject {
  Q_OBJECT

  static QJsonObject losses(const QString& backend) {
    QProcess process;
    auto environment = QProcessEnvironment::systemEnvironment();
    environment.insert("TESSERA_BACKEND", backend);
    process.setProcessEnvironment(environment);
    process.start(TESSERA_ENGINE_CHECK, {"losses", "--steps", "20", "--device", "cpu"});
    if (!process.waitForFinished(240000) || process.exitCode() != 0)
      qFatal("tessera-engine-check losses (%s) failed: %s", qPrintable(backend),
             process.readAllStandardError().constData());
    return QJsonDocument::fromJson(process.readAllStandardOutput()).object();
  }

 private Q_SLOTS:
  void lossesAgreeOverTwentySteps() {
    const auto cpu = losses("cpu"), cuda = losses("cuda");
    QCOMPARE(cpu["backend"].toString(), QStringLiteral("cpu"));
    QCOMPARE(cuda["backend"].toString(), QStringLiteral("cuda"));
    const auto a = cpu["losses"].toArray(), b = cuda["losses"].toArray();
    QCOMPARE(a.size(), 20);
    QCOMPARE(b.size(), 20);
    double worst = 0.0;
    for (int i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i].toDouble() - b[i].toDouble()) / a[i].toDouble());
    qInfo("worst relative loss difference over 20 steps: %.3g (first %.6f, last %.6f)", worst, a[0].toDouble(),
          a[19].toDouble());
    QVERIFY2(worst <= 1e-4, qPrintable(QString("losses differ by %1 relative").arg(worst)));
    QVERIFY(a[19].toDouble() < a[0].toDouble());  // and the model learns
  }
};

QTEST_GUILESS_MAIN(TestBackendAgreement)
#include "test_backend_agreement.moc"
