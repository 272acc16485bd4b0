// Work units follow DESIGN.md: forward 2N + 4·L·d·T per token, backward twice forward.
#include <QtTest>

#include "core/engine/model_config.h"
#include "core/protocol/work_units.h"

using namespace tessera;

class TestWorkUnits : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void formula() {
    const protocol::StageShape shape{1'000'000, 2, 128, 64};
    const double forward = 2.0 * 1'000'000 + 4.0 * 2 * 128 * 64;
    QCOMPARE(protocol::forward_flops_per_token(shape), forward);
    QCOMPARE(protocol::backward_flops_per_token(shape), 2 * forward);
    QCOMPARE(protocol::training_flops_per_token(shape), 3 * forward);
  }

  void emptyStageDoesNoWork() {
    QCOMPARE(protocol::training_flops_per_token({}), 0.0);
  }

  void nonEmbeddingParametersOfABlock() {
    engine::ModelConfig config;
    config.layers = 1;
    config.width = 8;
    // qkv 3·64+24, projection 64+8, MLP 8·64+5·8, two LayerNorms 4·8.
    QCOMPARE(engine::non_embedding_parameters(config), std::int64_t(3 * 64 + 24 + 64 + 8 + 512 + 40 + 32));
    config.layers = 3;
    QCOMPARE(engine::non_embedding_parameters(config), std::int64_t(3 * (12 * 64 + 13 * 8)));
  }
};

QTEST_APPLESS_MAIN(TestWorkUnits)
#include "test_work_units.moc"
