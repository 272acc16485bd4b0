// The step record the driver signs when a step commits (core/node/swarm/step_record_builder.h):
// its slots are the attempt's routes (micro-batch m through replica m mod R of each stage, in the
// order the attempt routed them), its committers those that installed the step, per stage, its
// tokens the manifest's micro_batch_size × context, its seed the hub's, its token digests the
// micro-batches' ids; signed by the driver, it verifies and survives encoding.
#include <QtTest>

#include "core/model/data.h"
#include "core/node/swarm/run_context.h"
#include "core/node/swarm/step_attempt.h"
#include "core/node/swarm/step_record_builder.h"
#include "core/protocol/payload_digest.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using node::swarm::StepAttempt;

namespace {

net::Hop hop_of(const wallet::KeyPair& key, int port) {
  return {key.public_key(), "tcp://127.0.0.1:" + std::to_string(port)};
}

}  // namespace

class TestStepRecordBuilder : public QObject {
  Q_OBJECT

  wallet::KeyPair driver_ = wallet::KeyPair::generate();
  wallet::KeyPair a_ = wallet::KeyPair::generate(), b_ = wallet::KeyPair::generate(), c_ = wallet::KeyPair::generate();
  node::SwarmNodeOptions options_;
  node::swarm::RunContext run_{driver_, options_};
  StepAttempt attempt_;
  std::vector<std::vector<std::int32_t>> tokens_;

 private Q_SLOTS:
  void initTestCase() {
    run_.manifest = test::tiny_two_stage_manifest("record-test");
    run_.manifest.stages = 3;
    run_.manifest.train.micro_batches = 4;
    const auto& train = run_.manifest.train;
    const auto data = model::DataSource::from_spec("arithmetic", run_.manifest.model.context, run_.manifest.model.seed);
    attempt_.step = 17;
    attempt_.id = 99;
    attempt_.route_seed.fill(0x3C);
    // Stage 0: A and the driver (A first, as a seed may order it); stage 1: B; stage 2: C.
    attempt_.replicas = {{hop_of(a_, 1), hop_of(driver_, 2)}, {hop_of(b_, 3)}, {hop_of(c_, 4)}};
    for (int m = 0; m < train.micro_batches; ++m) {
      tokens_.push_back(data.micro_batch(17, m, train.micro_batches, train.micro_batch_size));
      attempt_.tokens_hashes.push_back(protocol::tokens_digest(tokens_.back()));
    }
    // Who installed the step, as ReduceRound leaves them: stage by stage, A missing from stage 0.
    attempt_.committers = {hop_of(driver_, 2), hop_of(b_, 3), hop_of(c_, 4)};
    attempt_.committer_stages = {0, 1, 2};
  }

  void theRecordSaysWhatTheAttemptDid() {
    const auto record = node::swarm::build_step_record(run_, attempt_);
    QCOMPARE(QString::fromStdString(record.run_id), QString("record-test"));
    QCOMPARE(record.step, std::uint64_t{17});
    QCOMPARE(record.attempt, std::uint64_t{99});
    QVERIFY(record.driver == driver_.public_key());
    QCOMPARE(record.micro_batches, std::uint32_t{4});
    QCOMPARE(record.tokens_per_micro_batch, std::uint32_t(2 * 8));  // micro_batch_size × context
    QCOMPARE(record.tokens_per_micro_batch, run_.tokens_per_micro_batch());
    QVERIFY(record.route_seed == attempt_.route_seed);
  }

  void slotsFollowTheRouteOrder() {
    const auto record = node::swarm::build_step_record(run_, attempt_);
    QCOMPARE(record.replicas.size(), std::size_t{3});
    QVERIFY((record.replicas[0] == std::vector<wallet::PublicKey>{a_.public_key(), driver_.public_key()}));
    for (std::uint32_t m = 0; m < 4; ++m) {
      QVERIFY(record.slot(0, m) == (m % 2 == 0 ? a_ : driver_).public_key());
      QVERIFY(record.slot(1, m) == b_.public_key());
      QVERIFY(record.slot(2, m) == c_.public_key());
    }
  }

  void committersArePerStage() {
    const auto record = node::swarm::build_step_record(run_, attempt_);
    QCOMPARE(record.committers.size(), std::size_t{3});
    QVERIFY((record.committers[0] == std::vector<wallet::PublicKey>{driver_.public_key()}));
    QVERIFY((record.committers[1] == std::vector<wallet::PublicKey>{b_.public_key()}));
    QVERIFY((record.committers[2] == std::vector<wallet::PublicKey>{c_.public_key()}));
  }

  void tokenDigestsAreTheMicroBatches() {
    const auto record = node::swarm::build_step_record(run_, attempt_);
    QCOMPARE(record.tokens_hashes.size(), std::size_t{4});
    for (std::size_t m = 0; m < 4; ++m) QVERIFY(record.tokens_hashes[m] == protocol::tokens_digest(tokens_[m]));
    QVERIFY(record.tokens_hashes[0] != record.tokens_hashes[1]);  // each micro-batch its own ids
  }

  void signedByTheDriverItVerifies() {
    const auto record = node::swarm::build_step_record(run_, attempt_);
    const auto signed_record = protocol::sign_step_record(record, driver_);
    QVERIFY(signed_record.verify());
    const auto decoded = protocol::SignedStepRecord::from_hex(signed_record.to_hex());
    QVERIFY(decoded.has_value());
    QVERIFY(decoded->record == record);
    QVERIFY(decoded->verify());
    auto tampered = *decoded;
    tampered.record.replicas[0] = {driver_.public_key(), a_.public_key()};  // another route order
    QVERIFY(!tampered.verify());
  }
};

QTEST_APPLESS_MAIN(TestStepRecordBuilder)
#include "test_step_record_builder.moc"
