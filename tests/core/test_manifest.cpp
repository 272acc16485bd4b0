// Run manifests: JSON round trip, publisher signature over every field, validation that names
// the bad field.
#include <QtTest>

#include "core/protocol/manifest.h"
#include "core/wallet/slip10.h"

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

// Signed by the code before revision, shards and data units existed (publisher seed 1..32).
constexpr const char* kOldManifest =
    R"({"codec":"int8","currency":"USDC","dataset":["arithmetic"],"epoch_seconds":60,"hub_key":"ed0c32e5d87ee5065f7bf5b85b72e3971bd6820da0729a2680e5b9b8345ea4aa","model":{"context":128,"dropout":0.0,"heads":4,"layers":4,"seed":1,"subspace_rank":0,"vocab":256,"width":256},"price_per_1k_tokens":2000,"publisher_key":"79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664","run":"demo-2026.11","signature":"07fa2d03dbeaacba279c4838d96fea54498d487b42502230b4e0b4471e54ae9e92390cea91ee760c41c00734bec9b515d5abcb3fbe4e908a644d02a9e155ff01","stages":3,"train":{"beta1":0.9,"beta2":0.95,"clip_norm":1.0,"eps":1e-08,"lr":0.003,"micro_batch_size":8,"micro_batches":4,"min_lr":0.0003,"total_steps":500,"warmup_steps":10,"weight_decay":0.1},"version":1})";

std::string hash_of(char fill) { return std::string(64, fill); }

// Two shards: one from a contributor, one of the publisher's own.
protocol::RunManifest with_shards(const wallet::KeyPair& publisher) {
  auto m = sample(publisher);
  m.revision = 3;
  m.shards = {{hash_of('a'), 1000, wallet::address_of(wallet::KeyPair::generate().public_key())},
              {hash_of('b'), protocol::kMaxShardBytes, ""}};
  m.dataset = {hash_of('a'), hash_of('b')};
  m.data_units_per_1k_tokens = 25;
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

  void oldManifestsStillVerifyByteForByte() {
    const auto parsed = protocol::manifest_from_json(nlohmann::json::parse(kOldManifest));
    QVERIFY(protocol::verify_manifest(parsed, parsed.publisher_key));
    QCOMPARE(parsed.revision, std::uint64_t{0});
    QVERIFY(parsed.shards.empty());
    QCOMPARE(parsed.data_units_per_1k_tokens, std::uint64_t{0});
    QCOMPARE(QString::fromStdString(protocol::to_json(parsed).dump()), QString::fromUtf8(kOldManifest));
  }

  void revisionShardsAndDataUnitsRoundTripSigned() {
    const auto publisher = wallet::KeyPair::generate();
    const auto original = with_shards(publisher);
    const auto json = protocol::to_json(original);
    QCOMPARE(json["revision"].get<std::uint64_t>(), std::uint64_t{3});
    QCOMPARE(json["shards"].size(), std::size_t{2});
    const auto parsed = protocol::manifest_from_json(nlohmann::json::parse(json.dump()));
    QVERIFY(protocol::verify_manifest(parsed, publisher.public_key()));
    QCOMPARE(parsed.revision, std::uint64_t{3});
    QVERIFY(parsed.shards == original.shards);
    QCOMPARE(parsed.data_units_per_1k_tokens, std::uint64_t{25});
    for (const char* pointer : {"/revision", "/shards/0/bytes", "/data_units_per_1k_tokens"}) {
      auto changed = json;
      changed[nlohmann::json::json_pointer(pointer)] = 7;
      QVERIFY2(!protocol::verify_manifest(protocol::manifest_from_json(changed), publisher.public_key()), pointer);
    }
    auto other_contributor = json;
    other_contributor["shards"][1]["contributor"] = wallet::address_of(publisher.public_key());
    QVERIFY(!protocol::verify_manifest(protocol::manifest_from_json(other_contributor), publisher.public_key()));
    auto dropped = json;
    dropped.erase("revision");
    QVERIFY(!protocol::verify_manifest(protocol::manifest_from_json(dropped), publisher.public_key()));
  }

  void badShardsAreNamed_data() {
    QTest::addColumn<QString>("pointer");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("named");
    QTest::newRow("upper-case hash") << "/shards/0/hash" << ('"' + QString(64, 'A') + '"') << "shards[0].hash";
    QTest::newRow("short hash") << "/shards/1/hash" << R"("abcd")" << "shards[1].hash";
    QTest::newRow("zero bytes") << "/shards/0/bytes" << "0" << "shards[0].bytes";
    QTest::newRow("too many bytes") << "/shards/1/bytes" << QString::number(protocol::kMaxShardBytes + 1) << "shards[1].bytes";
    QTest::newRow("negative bytes") << "/shards/0/bytes" << "-5" << "shards[0].bytes";
    QTest::newRow("contributor") << "/shards/0/contributor" << R"("not-an-address")" << "shards[0].contributor";
    QTest::newRow("contributor hex") << "/shards/0/contributor" << ('"' + QString(64, 'a') + '"') << "shards[0].contributor";
    QTest::newRow("duplicate") << "/shards/1/hash" << ('"' + QString(64, 'a') + '"') << "twice";
    QTest::newRow("dataset order") << "/dataset" << ("[\"" + QString(64, 'b') + "\",\"" + QString(64, 'a') + "\"]") << "dataset";
    QTest::newRow("dataset arithmetic") << "/dataset" << R"(["arithmetic"])" << "dataset";
    QTest::newRow("shards type") << "/shards" << R"({"hash":"x"})" << "shards";
    QTest::newRow("shard type") << "/shards/0" << "5" << "shards[0]";
    QTest::newRow("revision") << "/revision" << "-1" << "revision";
    QTest::newRow("revision type") << "/revision" << R"("2")" << "revision";
    QTest::newRow("data units") << "/data_units_per_1k_tokens" << "1.5" << "data_units_per_1k_tokens";
  }

  void badShardsAreNamed() {
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(QString, named);
    auto json = protocol::to_json(with_shards(wallet::KeyPair::generate()));
    json[nlohmann::json::json_pointer(pointer.toStdString())] = nlohmann::json::parse(value.toStdString());
    try {
      protocol::manifest_from_json(json);
      QFAIL("accepted a bad manifest");
    } catch (const std::invalid_argument& error) {
      QVERIFY2(QString::fromUtf8(error.what()).contains(named), error.what());
    }
  }

  void tooManyShardsAreRefused() {
    auto json = protocol::to_json(with_shards(wallet::KeyPair::generate()));
    json["shards"] = nlohmann::json::array();
    json["dataset"] = nlohmann::json::array();
    for (std::size_t i = 0; i <= protocol::kMaxShards; ++i) {
      char hash[65];
      std::snprintf(hash, sizeof hash, "%064zx", i);
      json["shards"].push_back({{"hash", hash}, {"bytes", 1}, {"contributor", ""}});
      json["dataset"].push_back(hash);
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::manifest_from_json(json));
    json["shards"].erase(json["shards"].size() - 1);
    json["dataset"].erase(json["dataset"].size() - 1);
    QCOMPARE(protocol::manifest_from_json(json).shards.size(), protocol::kMaxShards);
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
