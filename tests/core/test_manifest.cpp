// Run manifests: JSON round trip, publisher signature over every field, validation that names
// the bad field.
#include <QtTest>

#include "core/protocol/manifest.h"

using namespace tessera;

namespace {

protocol::RunManifest sample(const wallet::KeyPair& publisher) {
  protocol::RunManifest m;
  m.run_id = "demo-2026.11";
  m.model = model::demo_model_config();
  m.train.total_steps = 500;
  m.stages = 3;
  m.codec = "int8";
  m.dataset = {"arithmetic"};
  m.epoch_seconds = 60;
  m.price_per_1k_tokens = 2000;
  m.hub_key = wallet::KeyPair::generate().public_key();
  protocol::sign_manifest(m, publisher);
  return m;
}

}  // namespace

class TestManifest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void roundTripsAndVerifies() {
    const auto publisher = wallet::KeyPair::generate();
    const auto original = sample(publisher);
    QVERIFY(protocol::verify_manifest(original, publisher.public_key()));
    const auto parsed = protocol::manifest_from_json(nlohmann::json::parse(protocol::to_json(original).dump()));
    QCOMPARE(QString::fromStdString(protocol::canonical_text(parsed)),
             QString::fromStdString(protocol::canonical_text(original)));
    QVERIFY(protocol::verify_manifest(parsed, publisher.public_key()));
    QCOMPARE(parsed.stages, 3);
    QCOMPARE(parsed.model.width, original.model.width);
    QCOMPARE(parsed.train.lr, original.train.lr);
    QVERIFY(!protocol::verify_manifest(parsed, wallet::KeyPair::generate().public_key()));
  }

  void averagingIsSignedAndExactKeepsOldManifestsVerifying() {
    const auto publisher = wallet::KeyPair::generate();
    auto exact = sample(publisher);
    QVERIFY(!protocol::to_json(exact).contains("averaging"));  // the text signed before averaging existed
    auto compressed = exact;
    compressed.averaging = {model::AveragingConfig::Scheme::powersgd, 8};
    protocol::sign_manifest(compressed, publisher);
    const auto parsed = protocol::manifest_from_json(nlohmann::json::parse(protocol::to_json(compressed).dump()));
    QCOMPARE(parsed.averaging.scheme, model::AveragingConfig::Scheme::powersgd);
    QCOMPARE(parsed.averaging.rank, 8);
    QVERIFY(protocol::verify_manifest(parsed, publisher.public_key()));
    auto json = protocol::to_json(compressed);
    json["averaging"]["rank"] = 4;  // changed after signing
    QVERIFY(!protocol::verify_manifest(protocol::manifest_from_json(json), publisher.public_key()));
    json.erase("averaging");  // dropped after signing
    QVERIFY(!protocol::verify_manifest(protocol::manifest_from_json(json), publisher.public_key()));
  }

  void everyFieldIsSigned_data() {
    QTest::addColumn<QString>("pointer");
    QTest::addColumn<QString>("value");
    for (const char* field : {"/run", "/codec", "/currency"})
      QTest::newRow(field) << field << R"("fp16")";
    for (const char* field : {"/stages", "/epoch_seconds", "/price_per_1k_tokens", "/model/layers", "/model/seed",
                              "/train/total_steps", "/train/micro_batches"})
      QTest::newRow(field) << field << "2";
    QTest::newRow("/train/lr") << "/train/lr" << "0.01";
    QTest::newRow("/dataset") << "/dataset" << R"(["arithmetic","arithmetic"])";
  }

  void everyFieldIsSigned() {
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    const auto publisher = wallet::KeyPair::generate();
    auto json = protocol::to_json(sample(publisher));
    json[nlohmann::json::json_pointer(pointer.toStdString())] = nlohmann::json::parse(value.toStdString());
    protocol::RunManifest changed;
    try {
      changed = protocol::manifest_from_json(json);
    } catch (const std::invalid_argument&) {
      return;  // refused outright is fine too
    }
    QVERIFY(!protocol::verify_manifest(changed, publisher.public_key()));
  }

  void badFieldsAreNamed_data() {
    QTest::addColumn<QString>("pointer");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("named");
    QTest::newRow("stages") << "/stages" << "99" << "stages";
    QTest::newRow("codec") << "/codec" << R"("zip")" << "zip";
    QTest::newRow("heads") << "/model/heads" << "7" << "heads";
    QTest::newRow("run") << "/run" << R"("a/b")" << "run";
    QTest::newRow("hub key") << "/hub_key" << R"("abcd")" << "hub_key";
    QTest::newRow("dataset") << "/dataset" << R"(["movies"])" << "movies";
    QTest::newRow("epoch") << "/epoch_seconds" << "0" << "epoch_seconds";
    QTest::newRow("version") << "/version" << "2" << "version";
    QTest::newRow("type") << "/model/width" << R"("wide")" << "model.width";
    QTest::newRow("averaging") << "/averaging" << R"({"scheme":"diloco","rank":4})" << "diloco";
    QTest::newRow("averaging rank") << "/averaging" << R"({"scheme":"powersgd","rank":0})" << "averaging.rank";
  }

  void badFieldsAreNamed() {
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(QString, named);
    auto json = protocol::to_json(sample(wallet::KeyPair::generate()));
    json[nlohmann::json::json_pointer(pointer.toStdString())] = nlohmann::json::parse(value.toStdString());
    try {
      protocol::manifest_from_json(json);
      QFAIL("accepted a bad manifest");
    } catch (const std::invalid_argument& error) {
      QVERIFY2(QString::fromUtf8(error.what()).contains(named), error.what());
    }
    auto missing = protocol::to_json(sample(wallet::KeyPair::generate()));
    missing["model"].erase("context");
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::manifest_from_json(missing));
  }
};

QTEST_APPLESS_MAIN(TestManifest)
#include "test_manifest.moc"
