// With codec none, the in-process pipeline of S = 1, 2 and 4 stages trains exactly like the
// unsplit model: same losses and final parameters over 20 steps (CPU, float32, rel. ≤ 1e-5).
#include <QtTest>

#include "core/engine/reference_trainer.h"
#include "engine_test_util.h"

using namespace tessera::engine;
using namespace tessera::model;
using namespace tessera::engine::testing;

class TestEquivalence : public QObject {
  Q_OBJECT

  static constexpr int steps = 20;

  struct Reference {
    std::vector<double> losses;
    Named parameters;
  };

  Reference reference_;

 private Q_SLOTS:
  void initTestCase() {
    const auto data = DataSource::arithmetic(tiny_model().context, 3);
    SingleProcessTrainer trainer({tiny_model(), tiny_train(), "cpu", test_threads});
    double clipped = 0.0;
    for (int step = 0; step < steps; ++step) {
      auto metrics = trainer.train_step(step_batches(data, tiny_train(), step), tiny_train().micro_batch_size);
      reference_.losses.push_back(metrics["loss"]);
      clipped += metrics["clipped"];
    }
    reference_.parameters = trainer.named_parameters();
    QVERIFY2(clipped > 0, "the run should exercise global-norm clipping");
    QVERIFY(reference_.losses.back() < reference_.losses.front());
  }

  void pipelineEqualsUnsplitModel_data() {
    QTest::addColumn<int>("stages");
    QTest::newRow("S=1") << 1;
    QTest::newRow("S=2") << 2;
    QTest::newRow("S=4") << 4;
  }

  void pipelineEqualsUnsplitModel() {
    QFETCH(int, stages);
    const auto data = DataSource::arithmetic(tiny_model().context, 3);
    PipelineOptions options;
    options.model = tiny_model();
    options.train = tiny_train();
    options.stages = stages;
    options.threads = test_threads;
    Pipeline pipeline(options);
    for (int step = 0; step < steps; ++step) {
      const auto metrics = pipeline.train_step(step_batches(data, options.train, step));
      const double difference = relative(metrics.at("loss"), reference_.losses[static_cast<std::size_t>(step)]);
      QVERIFY2(difference <= 1e-5, qPrintable(QStringLiteral("step %1: loss %2 vs %3")
                                                  .arg(step)
                                                  .arg(metrics.at("loss"), 0, 'g', 10)
                                                  .arg(reference_.losses[static_cast<std::size_t>(step)], 0, 'g', 10)));
    }
    const auto mine = by_name(pipeline.named_parameters());
    const auto theirs = by_name(reference_.parameters);
    QCOMPARE(mine.size(), theirs.size());
    for (const auto& [name, values] : theirs) {
      QVERIFY2(mine.count(name), name.c_str());
      const double difference = max_relative_difference(mine.at(name), values);
      QVERIFY2(difference <= 1e-5, qPrintable(QStringLiteral("%1 differs by %2").arg(name.c_str()).arg(difference)));
    }
  }
};

QTEST_APPLESS_MAIN(TestEquivalence)
#include "test_equivalence.moc"
