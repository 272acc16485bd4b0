// Checkpoint and resume: 10 steps, save, restore into fresh stages, 10 more equals 20 straight
// (dropout on, so the RNG state must be restored too).
#include <QtTest>

#include <fstream>

#include "engine_test_util.h"

using namespace tessera::engine;
using namespace tessera::model;
using namespace tessera::engine::testing;

class TestCheckpoint : public QObject {
  Q_OBJECT

  static PipelineOptions options() {
    PipelineOptions o;
    o.model = tiny_model();
    o.model.dropout = 0.1;
    o.train = tiny_train();
    o.stages = 2;
    o.threads = test_threads;
    return o;
  }

 private Q_SLOTS:
  void resumeEqualsStraightRun() {
    const auto data = DataSource::arithmetic(tiny_model().context, 5);
    Pipeline straight(options());
    std::vector<double> straight_losses;
    for (int step = 0; step < 20; ++step) straight_losses.push_back(straight.train_step(step_batches(data, options().train, step))["loss"]);

    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    const std::filesystem::path path = folder.path().toStdString();
    {
      Pipeline first(options());
      for (int step = 0; step < 10; ++step) first.train_step(step_batches(data, options().train, step));
      first.save(path);
      // One more step after the save must not leak into the checkpoint.
      first.train_step(step_batches(data, options().train, 10));
    }
    QVERIFY(std::filesystem::exists(Pipeline::checkpoint_file(path, 0, 2)));
    QVERIFY(!std::filesystem::exists(Pipeline::checkpoint_file(path, 0, 2).string() + ".tmp"));
    Pipeline resumed(options());
    resumed.load(path);
    QCOMPARE(resumed.step_count(), std::int64_t(10));
    for (int step = 10; step < 20; ++step) {
      const double loss = resumed.train_step(step_batches(data, options().train, step))["loss"];
      QVERIFY2(relative(loss, straight_losses[static_cast<std::size_t>(step)]) <= 1e-6,
               qPrintable(QStringLiteral("step %1: %2 vs %3").arg(step).arg(loss).arg(straight_losses[static_cast<std::size_t>(step)])));
    }
    const auto mine = by_name(resumed.named_parameters());
    for (const auto& [name, values] : by_name(straight.named_parameters()))
      QVERIFY2(max_relative_difference(mine.at(name), values) <= 1e-6, name.c_str());
  }

  void dropoutMattersSoTheRngIsReallyRestored() {
    // Without restoring the RNG, a resumed run draws other dropout masks: check the masks matter.
    const auto data = DataSource::arithmetic(tiny_model().context, 5);
    auto other = options();
    other.model.dropout = 0.2;
    Pipeline a(options()), b(other);
    QVERIFY(a.train_step(step_batches(data, options().train, 0))["loss"] !=
            b.train_step(step_batches(data, options().train, 0))["loss"]);
  }

  void refusesAnotherStagesCheckpoint() {
    QTemporaryDir folder;
    const std::filesystem::path path = folder.path().toStdString();
    Pipeline two(options());
    two.save(path);
    StageOptions stage;
    stage.model = options().model;
    stage.train = options().train;
    stage.stage_count = 2;
    stage.stage_index = 1;
    stage.threads = test_threads;
    Stage second(stage);
    try {
      second.load(Pipeline::checkpoint_file(path, 0, 2));
      QFAIL("loaded stage 0's checkpoint into stage 1");
    } catch (const std::runtime_error& error) {
      QVERIFY2(QString(error.what()).contains("is for stage 0 of 2, this is stage 1 of 2"), error.what());
    }
    auto changed = stage;
    changed.model.seed = 99;
    Stage other_model(changed);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, other_model.load(Pipeline::checkpoint_file(path, 1, 2)));
  }

  void damagedFileIsAClearError() {
    QTemporaryDir folder;
    const auto file = std::filesystem::path(folder.path().toStdString()) / "stage.pt";
    std::ofstream(file) << "not a checkpoint";
    StageOptions stage;
    stage.model = options().model;
    stage.threads = test_threads;
    Stage only(stage);
    try {
      only.load(file);
      QFAIL("loaded garbage");
    } catch (const std::runtime_error& error) {
      QVERIFY2(QString(error.what()).contains("damaged"), error.what());
    }
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, only.load(file.string() + ".missing"));
  }
};

QTEST_APPLESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
