// The subspace codec loses almost nothing: through a 2-stage pipeline, the rank-8 subspace model
// (12 bytes per token at each boundary instead of 512 in float32, 42.7× less) ends a fixed
// budget within 2% of the uncompressed model's held-out loss, with the same seed and data.
// The budget is the one `tessera-node train --corpus arithmetic --width 128 --context 32
// --micro-batch 16 --steps 150 --warmup 15 [--codec subspace --rank 8]` runs, so the same figures
// can be reproduced by hand.
#include <QtTest>

#include "engine_test_util.h"

using namespace tessera::engine;
using namespace tessera::model;
using namespace tessera::engine::testing;

namespace {
ModelConfig subspace_test_model() {
  ModelConfig model;
  model.layers = 4;
  model.width = 128;
  model.heads = 4;
  model.context = 32;
  model.seed = 1;
  return model;
}

TrainConfig subspace_test_train(int steps) {
  TrainConfig train;
  train.warmup_steps = 15;
  train.total_steps = steps;
  train.micro_batch_size = 16;
  train.micro_batches = 2;
  return train;
}
}  // namespace

class TestSubspace : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void subspaceEndsWithinTwoPercentOfNone() {
    constexpr int steps = 150;
    constexpr int rank = 8;
    const auto model = subspace_test_model();
    const auto train = subspace_test_train(steps);
    const auto data = DataSource::arithmetic(model.context, model.seed);
    const auto eval = arithmetic_eval_set(model.context, model.seed, 256);
    struct Run {
      double held_out = 0.0, bytes_per_token = 0.0, shared_bytes = 0.0;
    };
    const auto run = [&](const ModelConfig& m, CodecKind codec) {
      Pipeline pipeline({m, train, 2, codec, "cpu", test_threads, 0});
      Run result;
      for (int step = 0; step < steps; ++step) {
        auto metrics = pipeline.train_step(step_batches(data, train, step));
        result.bytes_per_token = metrics["forward_bytes_per_token"];
        result.shared_bytes = metrics["shared_embedding_bytes_per_stage"];
      }
      result.held_out = pipeline.evaluate(eval.tokens, eval.batch).loss;
      return result;
    };
    const auto none = run(model, CodecKind::none);
    auto constrained = model;
    constrained.subspace_rank = rank;
    const auto subspace = run(constrained, CodecKind::subspace);
    const double compression = none.bytes_per_token / subspace.bytes_per_token;
    qInfo("held-out loss after %d steps: none %.4f, subspace r=%d %.4f (%+.2f%%); %.0f vs %.0f bytes per token "
          "(%.1fx); shared embedding gradient %.0f bytes per stage per step",
          steps, none.held_out, rank, subspace.held_out, 100 * (subspace.held_out / none.held_out - 1),
          none.bytes_per_token, subspace.bytes_per_token, compression, subspace.shared_bytes);
    QCOMPARE(subspace.bytes_per_token, double(payload_bytes_per_token(CodecKind::subspace, rank)));
    QVERIFY(compression > 40.0);
    QCOMPARE(subspace.shared_bytes, 4.0 * (model.vocab + model.context) * model.width);
    QVERIFY2(subspace.held_out <= none.held_out * 1.02,
             qPrintable(QStringLiteral("subspace %1 vs none %2").arg(subspace.held_out).arg(none.held_out)));
    QVERIFY(none.held_out < 0.45 * std::log(256.0));  // both did learn
  }
};

QTEST_APPLESS_MAIN(TestSubspace)
#include "test_subspace.moc"
