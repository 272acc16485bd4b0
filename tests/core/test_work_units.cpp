// Work units follow DESIGN.md: forward 2N + 4·L·d·T per token, backward twice forward.
#include <QtTest>

#include "core/model/model_config.h"
#include "core/model/flops.h"
#include "core/protocol/work_units.h"

using namespace tessera;

class TestWorkUnits : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void formula() {
    const model::StageShape shape{1'000'000, 2, 128, 64};
    const double forward = 2.0 * 1'000'000 + 4.0 * 2 * 128 * 64;
    QCOMPARE(model::forward_flops_per_token(shape), forward);
    QCOMPARE(model::backward_flops_per_token(shape), 2 * forward);
    QCOMPARE(model::training_flops_per_token(shape), 3 * forward);
  }

  void emptyStageDoesNoWork() {
    QCOMPARE(model::training_flops_per_token({}), 0.0);
  }

  void nonEmbeddingParametersOfABlock() {
    model::ModelConfig config;
    config.layers = 1;
    config.width = 8;
    // qkv 3·64+24, projection 64+8, MLP 8·64+5·8, two LayerNorms 4·8.
    QCOMPARE(model::non_embedding_parameters(config), std::int64_t(3 * 64 + 24 + 64 + 8 + 512 + 40 + 32));
    config.layers = 3;
    QCOMPARE(model::non_embedding_parameters(config), std::int64_t(3 * (12 * 64 + 13 * 8)));
  }
};

QTEST_APPLESS_MAIN(TestWorkUnits)
#include "test_work_units.moc"
