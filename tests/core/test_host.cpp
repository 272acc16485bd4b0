// Host probes: plausible CPU, memory and disk figures, and BLAS classification by path.
#include <QtTest>

#include <filesystem>

#include "core/sys/host.h"

using namespace tessera::sys;

class TestHost : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cpuAndMemoryArePlausible() {
    const auto cpu = cpu_info();
    QVERIFY(cpu.threads >= 1);
    QVERIFY(!cpu.model.empty());
#if defined(__linux__)
    QVERIFY(total_ram_bytes() > 64ull * 1024 * 1024);
#endif
    QVERIFY(!os_description().empty());
  }

  void diskFreeOfMissingFolderUsesItsParent() {
    QTemporaryDir temp;
    const std::filesystem::path base(temp.path().toStdString());
    const auto existing = disk_free_bytes(base);
    QVERIFY(existing > 0);
    QVERIFY(disk_free_bytes(base / "not" / "yet" / "made") > 0);
  }

  void classifiesBlasLibraries_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("reference");
    QTest::newRow("openblas pthread") << "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
                                      << "OpenBLAS (pthread)" << false;
    QTest::newRow("openblas openmp") << "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"
                                     << "OpenBLAS (OpenMP)" << false;
    QTest::newRow("netlib reference") << "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
                                      << "reference BLAS" << true;
    QTest::newRow("blis") << "/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3" << "BLIS" << false;
    QTest::newRow("mkl") << "/opt/intel/lib/libmkl_rt.so.2" << "MKL" << false;
    QTest::newRow("other") << "/usr/lib/libsomething.so" << "unknown" << false;
  }

  void classifiesBlasLibraries() {
    QFETCH(QString, path);
    QFETCH(QString, name);
    QFETCH(bool, reference);
    const auto info = classify_blas_path(path.toStdString());
    QCOMPARE(QString::fromStdString(info.name), name);
    QCOMPARE(info.reference, reference);
    QCOMPARE(QString::fromStdString(info.path), path);
  }
};

QTEST_APPLESS_MAIN(TestHost)
#include "test_host.moc"
