// Manifest drafts (`tessera-hub init`): defaults filled in, a valid manifest out, and every bad
// combination refused with a message naming the choice.
#include <QtTest>

#include "core/protocol/manifest_draft.h"

using namespace tessera;

namespace {

protocol::RunChoices choices() {
  protocol::RunChoices c;
  c.run_id = "draft-1";
  c.hub_key = wallet::KeyPair::generate().public_key();
  return c;
}

}  // namespace

class TestManifestDraft : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void defaultsMakeAValidManifest() {
    const auto m = protocol::draft_manifest(choices());
    QCOMPARE(m.model.layers, model::ModelConfig{}.layers);
    QCOMPARE(m.model.width, 256);
    QCOMPARE(m.model.heads, 4);
    QCOMPARE(m.model.vocab, model::ModelConfig{}.vocab);
    QCOMPARE(m.model.subspace_rank, 0);
    QCOMPARE(m.stages, 1);
    QCOMPARE(m.codec, std::string("none"));
    QCOMPARE(m.train.lr, model::TrainConfig{}.lr);
    QCOMPARE(m.dataset, std::vector<std::string>{"arithmetic"});
    QVERIFY(m.shards.empty());
    QCOMPARE(m.revision, std::uint64_t{0});
    QCOMPARE(m.epoch_seconds, std::int64_t{3600});
  }

  void choicesAreCarried() {
    auto c = choices();
    c.layers = 6;
    c.width = 384;
    c.context = 64;
    c.stages = 3;
    c.codec = "subspace";
    c.price_per_1k_tokens = 1500;
    c.currency = "EURC";
    c.epoch_seconds = 120;
    c.total_steps = 5;
    c.data_units_per_1k_tokens = 40;
    c.shards = {{std::string(64, 'c'), 10, ""}, {std::string(64, 'd'), 20, ""}};
    const auto m = protocol::draft_manifest(c);
    QCOMPARE(m.model.heads, 6);           // 384 / 64
    QCOMPARE(m.model.subspace_rank, 48);  // 384 / 8
    QCOMPARE(m.train.total_steps, 5);
    QCOMPARE(m.train.warmup_steps, 5);
    QCOMPARE(m.dataset, (std::vector<std::string>{std::string(64, 'c'), std::string(64, 'd')}));
    QVERIFY(m.shards == c.shards);
    QCOMPARE(m.data_units_per_1k_tokens, std::uint64_t{40});
    QCOMPARE(m.currency, std::string("EURC"));
    c.subspace_rank = 8;
    QCOMPARE(protocol::draft_manifest(c).model.subspace_rank, 8);
  }

  void defaultHeadsAndRank() {
    QCOMPARE(protocol::default_heads(256), 4);
    QCOMPARE(protocol::default_heads(768), 12);
    QCOMPARE(protocol::default_heads(200), 2);  // 3 does not divide 200
    QCOMPARE(protocol::default_heads(32), 1);
    QCOMPARE(protocol::default_subspace_rank(256), 32);
    QCOMPARE(protocol::default_subspace_rank(4096), 64);
    QCOMPARE(protocol::default_subspace_rank(4), 1);
  }

  void badCombinationsAreNamed_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("named");
    QTest::newRow("heads") << "heads" << "3" << "not divisible by heads 3";
    QTest::newRow("stages") << "stages" << "5" << "stages 5";
    QTest::newRow("no stages") << "stages" << "0" << "stages 0";
    QTest::newRow("codec") << "codec" << "zip" << "zip";
    QTest::newRow("rank without subspace") << "rank" << "8" << "subspace codec";
    QTest::newRow("rank too big") << "subspace rank" << "300" << "rank 300";
    QTest::newRow("run") << "run" << "a/b" << "run id";
    QTest::newRow("layers") << "layers" << "0" << "layers 0";
    QTest::newRow("epoch") << "epoch" << "0" << "epoch seconds";
    QTest::newRow("steps") << "steps" << "0" << "total steps";
    QTest::newRow("hub key") << "hub key" << "" << "hub key";
    QTest::newRow("same shard twice") << "shards" << "" << "twice";
  }

  void badCombinationsAreNamed() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, named);
    auto c = choices();
    const int number = value.toInt();
    if (field == "heads") c.heads = number;
    if (field == "stages") c.stages = number;
    if (field == "codec") c.codec = value.toStdString();
    if (field == "rank") c.codec = "int8", c.subspace_rank = number;
    if (field == "subspace rank") c.codec = "subspace", c.subspace_rank = number;
    if (field == "run") c.run_id = value.toStdString();
    if (field == "layers") c.layers = number;
    if (field == "epoch") c.epoch_seconds = number;
    if (field == "steps") c.total_steps = number;
    if (field == "hub key") c.hub_key = {};
    if (field == "shards") c.shards = {{std::string(64, 'e'), 1, ""}, {std::string(64, 'e'), 1, ""}};
    try {
      protocol::draft_manifest(c);
      QFAIL("accepted a bad combination");
    } catch (const std::invalid_argument& error) {
      QVERIFY2(QString::fromUtf8(error.what()).contains(named), error.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestManifestDraft)
#include "test_manifest_draft.moc"
