// A node's spot-check evidence (core/node/swarm/evidence_store.h) and its byte format
// (core/net/check_evidence.h): kept for committed steps only, bounded by steps and bytes with the
// oldest dropped first, an abandoned attempt's inputs gone; the encoding round-trips and a
// truncated or padded one is refused.
#include <QtTest>

#include "core/net/check_evidence.h"
#include "core/node/swarm/evidence_store.h"

using namespace tessera;
using node::swarm::EvidenceLimits;
using node::swarm::EvidenceStore;

namespace {

engine::ForwardMessage forward_in(std::uint32_t micro_batch, std::size_t activation_bytes) {
  engine::ForwardMessage input;
  input.micro_batch = micro_batch;
  input.batch = 1;
  input.sequence = 2;
  input.tokens = {1, 2, static_cast<std::int32_t>(micro_batch)};
  input.activations.codec = model::CodecKind::none;
  input.activations.shape = {1, 2, static_cast<std::int64_t>(activation_bytes / 8)};
  input.activations.bytes.assign(activation_bytes, static_cast<std::uint8_t>(micro_batch));
  return input;
}

model::Payload gradient(std::uint8_t fill) { return {model::CodecKind::none, {1, 2, 1}, std::vector<std::uint8_t>(8, fill)}; }

// One committed step: its weights, both inputs of `micro_batches` micro-batches, commit.
void run_step(EvidenceStore& store, std::uint64_t step, int micro_batches = 2, std::size_t activation_bytes = 64) {
  store.keep_weights(step, std::vector<float>(10, static_cast<float>(step)));
  for (int m = 0; m < micro_batches; ++m) {
    store.record_forward(step, static_cast<std::uint32_t>(m), forward_in(static_cast<std::uint32_t>(m), activation_bytes));
    store.record_backward(step, static_cast<std::uint32_t>(m), gradient(static_cast<std::uint8_t>(m)));
  }
  store.commit(step);
}

}  // namespace

class TestEvidenceStore : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void committedStepIsFound() {
    EvidenceStore store;
    run_step(store, 3);
    const auto evidence = store.find(3, 1, 2);
    QVERIFY(evidence.has_value());
    QCOMPARE(evidence->step, 3u);
    QCOMPARE(evidence->micro_batch, 1u);
    QCOMPARE(evidence->stage, 2);
    QVERIFY(evidence->parameters == std::vector<float>(10, 3.0f));
    QVERIFY(evidence->tokens == (std::vector<std::int32_t>{1, 2, 1}));
    QVERIFY(evidence->forward && evidence->forward->bytes == std::vector<std::uint8_t>(64, 1));
    QVERIFY(evidence->backward && evidence->backward->bytes == std::vector<std::uint8_t>(8, 1));
    QVERIFY(!store.find(3, 2, 2));  // a micro-batch it never served
    QVERIFY(!store.find(4, 0, 2));  // a step it never committed
  }

  void abandonedAttemptLeavesNothing() {
    EvidenceStore store;
    store.keep_weights(5, std::vector<float>(4, 1.0f));
    store.record_forward(5, 0, forward_in(0, 16));
    store.drop_attempt();  // the driver's Abort
    store.record_forward(5, 1, forward_in(1, 16));
    store.commit(5);
    QVERIFY(!store.find(5, 0, 0));
    QVERIFY(store.find(5, 1, 0));
    QVERIFY(store.has_weights(5));
  }

  void stageZeroKeepsTokenIdsOnly() {
    EvidenceStore store;
    store.keep_weights(0, {1.0f});
    engine::ForwardMessage input;
    input.batch = 1;
    input.sequence = 1;
    input.tokens = {4, 5};
    store.record_forward(0, 0, input);
    store.commit(0);
    const auto evidence = store.find(0, 0, 0);
    QVERIFY(evidence && !evidence->forward && !evidence->backward);
    QVERIFY(evidence->tokens == (std::vector<std::int32_t>{4, 5}));
  }

  void oldestStepsGoPastTheCount() {
    EvidenceStore store(EvidenceLimits{4, std::chrono::milliseconds(0), 1ull << 30});
    for (std::uint64_t step = 0; step < 10; ++step) run_step(store, step);
    QCOMPARE(store.committed_steps(), 4u);
    for (std::uint64_t step = 0; step < 6; ++step) QVERIFY(!store.find(step, 0, 0));
    for (std::uint64_t step = 6; step < 10; ++step) QVERIFY(store.find(step, 0, 0));
  }

  void oldestStepsGoPastTheBytes() {
    // A step holds 40 bytes of weights and 2 × (4096 + 12 + 8) of inputs: three fit in 30,000.
    EvidenceStore store(EvidenceLimits{100, std::chrono::milliseconds(0), 30'000});
    for (std::uint64_t step = 0; step < 6; ++step) run_step(store, step, 2, 4096);
    QVERIFY(store.bytes() <= 30'000);
    QCOMPARE(store.committed_steps(), 3u);
    QVERIFY(!store.find(2, 0, 0));
    QVERIFY(store.find(5, 0, 0));
  }

  void weightsAreReportedOncePerKeep() {
    EvidenceStore store;
    run_step(store, 0);
    store.keep_weights(1, std::vector<float>(10, 7.0f));
    const auto reports = store.take_weight_reports();
    QCOMPARE(reports.size(), 2u);
    QCOMPARE(reports[1].step, 1u);
    const std::vector<float> weights(10, 7.0f);
    QVERIFY(reports[1].digest == protocol::weights_digest(weights));
    QVERIFY(store.take_weight_reports().empty());
  }

  void encodingRoundTrips() {
    EvidenceStore store;
    run_step(store, 9);
    const auto evidence = *store.find(9, 1, 1);
    const auto bytes = evidence.encode();
    const auto back = net::CheckEvidence::decode(bytes);
    QCOMPARE(back.step, 9u);
    QCOMPARE(back.micro_batch, 1u);
    QCOMPARE(back.stage, 1);
    QCOMPARE(back.batch, 1);
    QCOMPARE(back.sequence, 2);
    QVERIFY(back.parameters == evidence.parameters);
    QVERIFY(back.tokens == evidence.tokens);
    QVERIFY(back.forward && back.forward->bytes == evidence.forward->bytes && back.forward->shape == evidence.forward->shape);
    QVERIFY(back.backward && back.backward->bytes == evidence.backward->bytes);
    for (std::size_t cut : {std::size_t{0}, std::size_t{4}, bytes.size() / 2, bytes.size() - 1}) {
      const std::vector<std::uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net::CheckEvidence::decode(truncated));
    }
    auto padded = bytes;
    padded.push_back(0);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net::CheckEvidence::decode(padded));
    auto huge_count = bytes;  // the token count claims more than the bytes hold
    huge_count[4 + 1 + 8 + 4 + 2 + 4 + 4 + 7] = 0x7f;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net::CheckEvidence::decode(huge_count));
  }
};

QTEST_APPLESS_MAIN(TestEvidenceStore)
#include "test_evidence_store.moc"
