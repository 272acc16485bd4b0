// Run needs: per-stage parameters, memory, FLOPs and link bytes per token, checked against numbers
// worked out by hand from the formulas in model_config.h, flops.h and codec.h.
#include <QtTest>

#include "core/protocol/run_needs.h"

using namespace tessera;

namespace {

// 4 blocks of width 64 (49,984 parameters each: 12·64² + 13·64), context 16, vocab 256, in 2 stages.
protocol::RunManifest small_run(const std::string& codec) {
  protocol::RunManifest m;
  m.run_id = "needs";
  m.model.layers = 4;
  m.model.width = 64;
  m.model.heads = 4;
  m.model.context = 16;
  m.model.vocab = 256;
  m.train.micro_batch_size = 2;
  m.train.micro_batches = 3;
  m.stages = 2;
  m.codec = codec;
  return m;
}

}  // namespace

class TestRunNeeds : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void twoStagesByHand() {
    const auto needs = protocol::run_needs(small_run("int8"));
    // Embeddings (256 + 16)·64 = 17,408; head 2·64 + 64·256 + 256 = 16,768; blocks 4 × 49,984.
    QCOMPARE(needs.parameters, std::int64_t{234'112});
    QCOMPARE(needs.stages.size(), std::size_t{2});
    QCOMPARE(needs.stages[0].stage, 0);
    QCOMPARE(needs.stages[1].stage, 1);
    QCOMPARE(needs.stages[0].parameters, std::int64_t{117'376});  // 2 blocks + embeddings
    QCOMPARE(needs.stages[1].parameters, std::int64_t{116'736});  // 2 blocks + head
    // Forward 2·99,968 + 4·2·64·16 = 208,128, training three times that.
    QCOMPARE(needs.stages[0].flops_per_token, 624'384.0);
    QCOMPARE(needs.stages[1].flops_per_token, 624'384.0);
    // int8: 64 values + a 4-byte scale = 68 bytes a token each way on the one link.
    QCOMPARE(needs.stages[0].bytes_per_token, 136.0);
    QCOMPARE(needs.stages[1].bytes_per_token, 136.0);
    // 16 bytes a parameter (weights, gradients, two moments) + activations of 3 micro-batches:
    // a block stashes 16·2·64·(34 + 5·4·16/64)·2 = 159,744 bytes; the head 4·16·2·(2·256 + 64).
    QCOMPARE(needs.stages[0].memory_bytes, std::uint64_t{16 * 117'376 + 3 * (2 * 159'744)});
    QCOMPARE(needs.stages[1].memory_bytes, std::uint64_t{16 * 116'736 + 3 * (2 * 159'744 + 73'728)});
  }

  void codecsSetTheLinkBytes() {
    QCOMPARE(protocol::run_needs(small_run("none")).stages[0].bytes_per_token, 2.0 * 4 * 64);
    QCOMPARE(protocol::run_needs(small_run("fp16")).stages[1].bytes_per_token, 2.0 * 2 * 64);
    auto one_stage = small_run("int8");
    one_stage.stages = 1;
    const auto alone = protocol::run_needs(one_stage);
    QCOMPARE(alone.stages[0].bytes_per_token, 0.0);  // no links
    QCOMPARE(alone.parameters, std::int64_t{234'112});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::run_needs(small_run("zip")));
  }

  void subspaceSendsItsRankAndCopiesTheEmbeddings() {
    auto m = small_run("subspace");
    m.model.layers = 3;
    m.model.subspace_rank = 8;
    m.stages = 3;
    const auto needs = protocol::run_needs(m);
    // Blocks before the last stage are constrained: 7·64² + 11·64 + 5·64·8 + 2·8 = 31,952.
    QCOMPARE(needs.stages[0].parameters, std::int64_t{31'952 + 17'408});  // every stage holds the embeddings
    QCOMPARE(needs.stages[1].parameters, std::int64_t{31'952 + 17'408});
    QCOMPARE(needs.stages[2].parameters, std::int64_t{49'984 + 17'408 + 16'768});
    QCOMPARE(needs.parameters, std::int64_t{2 * 31'952 + 49'984 + 17'408 + 16'768});  // embeddings once
    // 8 coefficients + a 4-byte scale = 12 bytes each way; the middle stage has two links.
    QCOMPARE(needs.stages[0].bytes_per_token, 24.0);
    QCOMPARE(needs.stages[1].bytes_per_token, 48.0);
    QCOMPARE(needs.stages[2].bytes_per_token, 24.0);
    QCOMPARE(needs.stages[0].flops_per_token, 3.0 * (2 * 31'952 + 4 * 64 * 16));
    QCOMPARE(needs.stages[2].flops_per_token, 3.0 * (2 * 49'984 + 4 * 64 * 16));
  }

  void memoryIsTheHubsAdmissionNumber() {
    const auto m = small_run("int8");
    const auto memory = protocol::stage_memory_bytes(m);
    const auto needs = protocol::run_needs(m);
    QCOMPARE(memory.size(), needs.stages.size());
    for (std::size_t i = 0; i < memory.size(); ++i) QCOMPARE(memory[i], needs.stages[i].memory_bytes);
  }
};

QTEST_APPLESS_MAIN(TestRunNeeds)
#include "test_run_needs.moc"
