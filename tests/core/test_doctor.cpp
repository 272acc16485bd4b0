// The doctor: real measurement on the CPU, the verdict's rules, device parsing and the JSON shape.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/engine/device_probe.h"
#include "core/node/doctor.h"

using namespace tessera;

namespace {

node::DoctorReport healthyReport() {
  node::DoctorReport report;
  report.ram_bytes = 16ull << 30;
  report.disk_free_bytes = 100ull << 30;
  report.data_dir = "/home/someone/.local/share/tessera";
  report.blas = "OpenBLAS (pthread)";
  report.device = "cpu";
  report.matmul_gflops = 100.0;
  return report;
}

}  // namespace

class TestDoctor : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void measuresTheCpu() {
    QTemporaryDir temp;
    node::DoctorOptions options;
    options.data_dir = temp.path().toStdString();
    options.device = "cpu";
    options.matmul_seconds = 0.2;
    options.matmul_size = 256;
    const auto report = node::run_doctor(options);
    QVERIFY(report.matmul_gflops > 0.0);
    QCOMPARE(report.matmul_size, 256);
    QCOMPARE(QString::fromStdString(report.device), QStringLiteral("cpu"));
    QVERIFY(!report.torch_version.empty());
    QVERIFY(report.disk_free_bytes > 0);
    QVERIFY(!report.verdict.empty());
#if defined(__linux__)
    // libtorch links libblas.so.3; the loaded implementation must be recognised by its path.
    QVERIFY2(!report.blas_path.empty(), report.blas.c_str());
#endif
  }

  void jsonHasTheStableKeys() {
    auto report = healthyReport();
    node::judge(report);
    const auto json = node::to_json(report);
    for (const char* key : {"os", "cpu", "ram_bytes", "disk_free_bytes", "torch_version", "cuda", "devices",
                            "blas", "matmul_gflops", "verdict"})
      QVERIFY2(json.contains(key), key);
    QVERIFY(json["devices"].is_array());
    QVERIFY(json["cuda"].is_boolean());
    QCOMPARE(json["matmul_gflops"].get<double>(), 100.0);
  }

  void healthyCpuIsReadyWithAnEstimate() {
    auto report = healthyReport();
    node::judge(report);
    QVERIFY(report.ready);
    QVERIFY2(report.verdict.rfind("ready: CPU only, expect about ", 0) == 0, report.verdict.c_str());
    QVERIFY(report.demo_tokens_per_s > 0.0);
    // Twice the matmul rate, twice the estimate.
    auto faster = healthyReport();
    faster.matmul_gflops = 200.0;
    node::judge(faster);
    QCOMPARE(faster.demo_tokens_per_s, 2 * report.demo_tokens_per_s);
  }

  void referenceBlasIsAProblemToFix() {
    auto report = healthyReport();
    report.blas = "reference BLAS";
    report.blas_reference = true;
    node::judge(report);
    QVERIFY(!report.ready);
    QVERIFY2(report.verdict.find("install libopenblas0-pthread") != std::string::npos, report.verdict.c_str());
  }

  void lowDiskAndMemoryAreNamed() {
    auto report = healthyReport();
    report.disk_free_bytes = 100ull << 20;
    report.ram_bytes = 1ull << 30;
    node::judge(report);
    QVERIFY(!report.ready);
    QVERIFY(report.verdict.find("memory") != std::string::npos);
    QVERIFY(report.verdict.find("free in /home/someone/.local/share/tessera") != std::string::npos);
  }

  void gpuWithoutCudaLibtorchIsExplained() {
    auto report = healthyReport();
    report.devices.push_back({0, "NVIDIA GeForce RTX 4090", 24ull << 30, 8, 9});
    node::judge(report);
    QVERIFY(report.ready);
    QVERIFY(report.verdict.find("the CUDA backend is not in use: install tessera-cuda") != std::string::npos);
  }

  void cudaDeviceIsNamed() {
    auto report = healthyReport();
    report.cuda = true;
    report.torch_cuda_built = true;
    report.device = "cuda:0";
    report.devices.push_back({0, "NVIDIA H200", 141ull << 30, 9, 0});
    node::judge(report);
    QVERIFY2(report.verdict.rfind("ready: CUDA on NVIDIA H200 (cuda:0)", 0) == 0, report.verdict.c_str());
  }

  void parsesDevices() {
    engine::TorchInfo no_gpu;
    QCOMPARE(QString::fromStdString(engine::parse_device("cpu", no_gpu).label()), QStringLiteral("cpu"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, engine::parse_device("gpu", no_gpu));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, engine::parse_device("cuda:x", no_gpu));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, engine::parse_device("cuda:", no_gpu));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, engine::parse_device("cuda", no_gpu));
    engine::TorchInfo two_gpus;
    two_gpus.cuda_available = true;
    two_gpus.cuda_device_count = 2;
    QCOMPARE(QString::fromStdString(engine::parse_device("cuda:1", two_gpus).label()), QStringLiteral("cuda:1"));
    QCOMPARE(QString::fromStdString(engine::parse_device("cuda", two_gpus).label()), QStringLiteral("cuda:0"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, engine::parse_device("cuda:2", two_gpus));
    QCOMPARE(QString::fromStdString(engine::default_device(no_gpu).label()), QStringLiteral("cpu"));
    QCOMPARE(QString::fromStdString(engine::default_device(two_gpus).label()), QStringLiteral("cuda:0"));
  }
};

QTEST_APPLESS_MAIN(TestDoctor)
#include "test_doctor.moc"
