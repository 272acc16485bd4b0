// The traffic meter: every swarm message kind's class, the CurveZMQ frame cost, the counters from
// several threads, and the snapshot's JSON both ways, a hostile one refused.
#include <QtTest>

#include <thread>
#include <vector>

#include "core/net/traffic_meter.h"

using namespace tessera;
using net::MessageKind;
using net::TrafficKind;

class TestTrafficMeter : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void everyMessageKindHasItsClass() {
    const std::pair<MessageKind, TrafficKind> expected[] = {
        {MessageKind::Forward, TrafficKind::boundary_forward},
        {MessageKind::Backward, TrafficKind::boundary_backward},
        {MessageKind::Receipt, TrafficKind::control},
        {MessageKind::StateRequest, TrafficKind::state_transfer},
        {MessageKind::StateChunk, TrafficKind::state_transfer},
        {MessageKind::Ping, TrafficKind::control},
        {MessageKind::Pong, TrafficKind::control},
        {MessageKind::Error, TrafficKind::control},
        {MessageKind::GradNorm, TrafficKind::replica_averaging},
        {MessageKind::Reduce, TrafficKind::replica_averaging},
        {MessageKind::GradFetch, TrafficKind::replica_averaging},
        {MessageKind::Gradient, TrafficKind::replica_averaging},
        {MessageKind::Step, TrafficKind::control},
        {MessageKind::Abort, TrafficKind::control},
        {MessageKind::Ack, TrafficKind::control},
        {MessageKind::Infer, TrafficKind::inference},
        {MessageKind::Logits, TrafficKind::inference},
        {MessageKind::SharedGradient, TrafficKind::embedding_sync},
        {MessageKind::CheckFetch, TrafficKind::spot_checks},
        {MessageKind::CheckChunk, TrafficKind::spot_checks},
    };
    QCOMPARE(std::size(expected), std::size_t{20});  // every kind of wire.h
    for (const auto& [message, traffic] : expected) QCOMPARE(net::classify(message, 100), traffic);
  }

  void aLargeGradNormCarriesTheEmbedding() {
    QCOMPARE(net::classify(MessageKind::GradNorm, net::kGradNormEmbeddingBytes), TrafficKind::replica_averaging);
    QCOMPARE(net::classify(MessageKind::GradNorm, net::kGradNormEmbeddingBytes + 1), TrafficKind::embedding_sync);
    QCOMPARE(net::classify(MessageKind::Gradient, 1 << 20), TrafficKind::replica_averaging);
  }

  void kindNamesRoundTrip() {
    for (std::size_t i = 0; i < net::kTrafficKinds; ++i) {
      const auto kind = static_cast<TrafficKind>(i);
      QCOMPARE(net::traffic_kind_from_name(net::kind_name(kind)), std::optional(kind));
    }
    QVERIFY(!net::traffic_kind_from_name("total"));
    QCOMPARE(std::string(net::kind_name(TrafficKind::control)), std::string("control"));
  }

  void curveFrameCost() {
    QCOMPARE(net::curve_frame_bytes(0), 35u);      // 2 + 8 + 8 + 1 + 16
    QCOMPARE(net::curve_frame_bytes(222), 257u);   // a body of 255: the short header
    QCOMPARE(net::curve_frame_bytes(223), 265u);   // 256: the 9-byte header
    QCOMPARE(net::curve_frame_bytes(1 << 20), (1u << 20) + 42u);
  }

  void countersAddUpAcrossThreads() {
    net::TrafficMeter meter;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) {
          meter.count_sent(TrafficKind::boundary_forward, 3);
          meter.count_received(TrafficKind::control, 5);
        }
      });
    for (auto& thread : threads) thread.join();
    const auto snapshot = meter.snapshot();
    QCOMPARE(snapshot[TrafficKind::boundary_forward].sent, 12000u);
    QCOMPARE(snapshot[TrafficKind::boundary_forward].received, 0u);
    QCOMPARE(snapshot[TrafficKind::control].received, 20000u);
    QCOMPARE(snapshot.total(), (net::TrafficCount{12000, 20000}));
    auto doubled = snapshot;
    doubled += snapshot;
    QCOMPARE(doubled.total().both(), 64000u);
  }

  void bytesPerToken() {
    net::TrafficReport report;
    report.bytes[TrafficKind::boundary_forward] = {600, 400};
    QVERIFY(!report.bytes_per_token());
    report.tokens = 100;
    QCOMPARE(*report.bytes_per_token(), 10.0);
  }

  void reportOfTheMeter() {
    net::TrafficMeter meter;
    meter.count_sent(TrafficKind::boundary_forward, 4000);
    meter.count_received(TrafficKind::replica_averaging, 6000);
    meter.count_trained_tokens(10);
    const auto report = meter.report();
    QCOMPARE(report.tokens, 10u);
    QCOMPARE(*report.bytes_per_token(), 1000.0);
    QCOMPARE(report.summary(), std::string("0.0 MB sent, 0.0 MB received, 1,000 bytes/token "
                                           "(boundary_forward 40%, replica_averaging 60%)"));
    QCOMPARE(net::TrafficReport::from_json(report.to_json()), std::optional(report));
    QCOMPARE(report.to_json()["bytes_per_token"].get<double>(), 1000.0);
    QVERIFY(net::TrafficReport{}.to_json()["bytes_per_token"].is_null());
    QVERIFY(!net::TrafficReport::from_json(nlohmann::json{{"bytes", report.bytes.to_json()}, {"tokens", -3}}));
  }

  // Compression: what the boundary, averaging and embedding-sync exchanges would have carried as
  // raw float32 over what they carried; other kinds do not count.
  void compressionAgainstRawFloat32() {
    net::TrafficMeter meter;
    QVERIFY(!meter.report().compression());
    meter.count_sent(TrafficKind::boundary_forward, 400);
    meter.count_received(TrafficKind::replica_averaging, 600);
    meter.count_sent(TrafficKind::spot_checks, 1000000);
    meter.count_trained_tokens(10);
    meter.count_fp32_equivalent(20000);
    const auto report = meter.report();
    QCOMPARE(*report.compression(), 20.0);
    QVERIFY(report.summary().find("20.0× less than fp32") != std::string::npos);
    QCOMPARE(report.to_json()["compression"].get<double>(), 20.0);
    QCOMPARE(net::TrafficReport::from_json(report.to_json()), std::optional(report));
    auto hostile = report.to_json();
    hostile["fp32_equivalent"] = -1;
    QVERIFY(!net::TrafficReport::from_json(hostile));
  }

  void jsonRoundTrip() {
    net::TrafficSnapshot snapshot;
    snapshot[TrafficKind::inference] = {7, 9};
    snapshot[TrafficKind::spot_checks] = {1ull << 53, 0};
    const auto json = snapshot.to_json();
    QCOMPARE(json.size(), net::kTrafficKinds + 1);
    QCOMPARE(json["total"]["received"].get<std::uint64_t>(), 9u);
    QCOMPARE(json["inference"]["sent"].get<std::uint64_t>(), 7u);
    QCOMPARE(net::TrafficSnapshot::from_json(json), std::optional(snapshot));
    // A report may leave kinds out; "total" is recomputed, never believed.
    auto partial = nlohmann::json::parse(R"({"control": {"sent": 5, "received": 6}, "total": {"sent": 1e99}})");
    QCOMPARE(net::TrafficSnapshot::from_json(partial)->total(), (net::TrafficCount{5, 6}));
  }

  void hostileJsonIsRefused() {
    const char* bad[] = {
        R"([])",
        R"("control")",
        R"({"control": 5})",
        R"({"control": {"sent": -1, "received": 0}})",
        R"({"control": {"sent": 1.5, "received": 0}})",
        R"({"control": {"sent": 9007199254740993, "received": 0}})",
        R"({"control": {"sent": 18446744073709551615, "received": 0}})",
        R"({"control": {"sent": "5", "received": 0}})",
        R"({"control": {"sent": 5}})",
        R"({"control": {"sent": 5, "received": 0, "extra": 1}})",
        R"({"bitcoin": {"sent": 5, "received": 0}})",
        R"({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10})",
    };
    for (const auto* text : bad) QVERIFY2(!net::TrafficSnapshot::from_json(nlohmann::json::parse(text)), text);
  }
};

QTEST_APPLESS_MAIN(TestTrafficMeter)
#include "test_traffic_meter.moc"
