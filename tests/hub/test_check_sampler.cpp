// The spot-check sample: at rate 1 every node that served a step has exactly one of its own slots
// drawn, every slot of a node being drawn in time; at rate 0 none; rates outside [0, 1] refused.
#include <QtTest>

#include <map>
#include <set>

#include "core/hub/check_sampler.h"

using namespace tessera;

namespace {

protocol::StepRecord record_of(int stages, int replicas, std::uint32_t micro_batches) {
  protocol::StepRecord record;
  record.run_id = "sampler";
  record.step = 7;
  record.micro_batches = micro_batches;
  record.tokens_per_micro_batch = 16;
  for (int s = 0; s < stages; ++s) {
    record.replicas.emplace_back();
    for (int r = 0; r < replicas; ++r) record.replicas.back().push_back(wallet::KeyPair::generate().public_key());
  }
  record.tokens_hashes.resize(micro_batches);
  return record;
}

}  // namespace

class TestCheckSampler : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void rateOneChecksEveryNodeOnceInItsOwnSlots() {
    const auto record = record_of(3, 2, 8);  // each node serves 4 micro-batches of its stage
    const hub::CheckSampler sampler(1.0);
    std::map<wallet::PublicKey, std::set<std::uint32_t>> drawn;
    for (int round = 0; round < 200; ++round) {
      const auto sample = sampler.sample(record);
      QCOMPARE(sample.size(), std::size_t(6));
      std::set<wallet::PublicKey> workers;
      for (const auto& slot : sample) {
        QCOMPARE(record.slot(slot.stage, slot.micro_batch), slot.worker);  // the slot is the worker's
        workers.insert(slot.worker);
        drawn[slot.worker].insert(slot.micro_batch);
      }
      QCOMPARE(workers.size(), std::size_t(6));  // one slot per node
    }
    for (const auto& [worker, micro_batches] : drawn) QCOMPARE(micro_batches.size(), std::size_t(4));
  }

  void rateZeroChecksNothing() {
    const hub::CheckSampler sampler(0.0);
    for (int round = 0; round < 50; ++round) QVERIFY(sampler.sample(record_of(4, 3, 6)).empty());
  }

  void aFractionalRateChecksAboutThatShare() {
    const hub::CheckSampler sampler(0.25);
    const auto record = record_of(4, 4, 4);  // 16 nodes
    std::size_t drawn = 0;
    for (int round = 0; round < 500; ++round) drawn += sampler.sample(record).size();
    // 8,000 Bernoulli(0.25) draws: 2,000 expected, a standard deviation of about 39.
    QVERIFY2(drawn > 1750 && drawn < 2250, std::to_string(drawn).c_str());
  }

  void ratesOutsideZeroToOneAreRefused() {
    for (double rate : {-0.1, 1.01, std::numeric_limits<double>::quiet_NaN()})
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, hub::CheckSampler{rate});
  }
};

QTEST_APPLESS_MAIN(TestCheckSampler)
#include "test_check_sampler.moc"
