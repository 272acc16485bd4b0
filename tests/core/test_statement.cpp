// Merkle proofs for every leaf; signed statements; any one-byte tampering of a leaf, proof, root
// or signature is rejected; a version 2 statement's events and each leaf's activity (rejected
// receipts, spot checks) are signed, and version 1 statements still verify as they were signed.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/protocol/statement.h"

using namespace tessera;
using namespace tessera::protocol;

namespace {

EpochSettlement settled(int owners) {
  SettlementState state;
  std::map<std::string, std::uint64_t> units;
  for (int i = 0; i < owners; ++i) units["owner-" + std::to_string(i)] = 1000 + 37 * i;
  state = settle_epoch(state, units, 0).state;
  return settle_epoch(state, units, 123457);
}

EpochActivity activity() {
  EpochActivity out;
  out.events.push_back({wallet::KeyPair::generate().public_key(), "owner-3", "excluded",
                        "weights differ from its replicas", 41});
  out.events.push_back({wallet::KeyPair::generate().public_key(), "owner-7", "excluded",
                        "a checker's report the second check contradicted", 44});
  out.owners["owner-3"] = {5, 1, 1};
  out.owners["owner-4"] = {2, 3, 0};
  return out;
}

}  // namespace

class TestStatement : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void everyLeafProvesForEveryTreeSize() {
    for (std::uint64_t count = 1; count <= 33; ++count) {
      std::vector<Hash> leaves;
      for (std::uint64_t i = 0; i < count; ++i) leaves.push_back(leaf_hash({"o" + std::to_string(i), i, 2 * i}));
      const MerkleTree tree(leaves);
      for (std::uint64_t i = 0; i < count; ++i) {
        const auto proof = tree.proof(i);
        QVERIFY(verify_proof(leaves[i], proof, tree.root()));
        // The same proof does not prove another leaf, nor at another position.
        QVERIFY(!verify_proof(leaves[(i + 1) % count], proof, tree.root()) || count == 1);
        auto moved = proof;
        moved.index = (i + 1) % count;
        QVERIFY(!verify_proof(leaves[i], moved, tree.root()) || count == 1);
      }
      QVERIFY_THROWS_EXCEPTION(std::out_of_range, tree.proof(count));
    }
    QCOMPARE(MerkleTree({}).root(), empty_root());
  }

  void leafIsNotANode() {
    const Hash a = leaf_hash({"a", 1, 1});
    const Hash b = leaf_hash({"b", 2, 2});
    const MerkleTree tree({a, b});
    QCOMPARE(tree.root(), node_hash(a, b));
    QVERIFY(tree.root() != a && tree.root() != b);
    // Leaves and nodes are hashed under different tags: the same bytes give different hashes.
    QVERIFY(node_hash(a, b) != leaf_hash({"", 0, 0}));
  }

  void publishedStatementVerifies() {
    const auto hub = wallet::KeyPair::generate();
    const auto settlement = settled(25);
    const PublishedEpoch published("demo-run", settlement, hub);
    const auto& statement = published.statement();
    QVERIFY(verify_statement(statement, hub.public_key()));
    QVERIFY(!verify_statement(statement, wallet::KeyPair::generate().public_key()));
    QCOMPARE(statement.owner_count, std::uint64_t(25));
    QCOMPARE(statement.epoch, std::uint64_t(2));
    QCOMPARE(statement.total_revenue, std::uint64_t(123457));
    std::uint64_t revenue = 0;
    for (int i = 0; i < 25; ++i) {
      const auto proof = published.proof_for("owner-" + std::to_string(i));
      QVERIFY(proof.has_value());
      QVERIFY(verify_leaf(statement, *proof));
      revenue += proof->leaf.revenue;
    }
    QCOMPARE(revenue, statement.total_revenue);
    QVERIFY(!published.proof_for("stranger"));
  }

  void anyTamperingIsRejected() {
    const auto hub = wallet::KeyPair::generate();
    const PublishedEpoch published("demo-run", settled(9), hub);
    const auto statement_json = to_json(published.statement());
    const auto proof_json = to_json(*published.proof_for("owner-4"));

    // One changed character anywhere in the root, signature or a sibling: rejected.
    for (const char* field : {"root", "signature"}) {
      auto changed = statement_json;
      std::string value = changed[field];
      value[5] = value[5] == '0' ? '1' : '0';
      changed[field] = value;
      const auto statement = statement_from_json(changed);
      QVERIFY2(!verify_statement(statement, hub.public_key()) ||
                   !verify_leaf(statement, leaf_proof_from_json(proof_json)),
               field);
    }
    for (const char* field : {"total_units", "total_revenue", "epoch", "owner_count"}) {
      auto changed = statement_json;
      changed[field] = changed[field].get<std::uint64_t>() + 1;
      QVERIFY2(!verify_statement(statement_from_json(changed), hub.public_key()), field);
    }
    const auto statement = published.statement();
    for (const char* field : {"units", "revenue", "index", "leaf_count"}) {
      auto changed = proof_json;
      changed[field] = changed[field].get<std::uint64_t>() + 1;
      QVERIFY2(!verify_leaf(statement, leaf_proof_from_json(changed)), field);
    }
    auto other_owner = proof_json;
    other_owner["owner"] = "owner-5";
    QVERIFY(!verify_leaf(statement, leaf_proof_from_json(other_owner)));
    for (std::size_t s = 0; s < proof_json["siblings"].size(); ++s) {
      auto changed = proof_json;
      std::string sibling = changed["siblings"][s];
      sibling[0] = sibling[0] == 'a' ? 'b' : 'a';
      changed["siblings"][s] = sibling;
      QVERIFY(!verify_leaf(statement, leaf_proof_from_json(changed)));
    }
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));  // the untouched proof still holds
  }

  void eventsAndActivityAreSigned() {
    const auto hub = wallet::KeyPair::generate();
    const PublishedEpoch published("demo-run", settled(9), hub, activity());
    const auto statement_json = to_json(published.statement());
    const auto statement = statement_from_json(statement_json);
    QCOMPARE(statement.version, kStatementVersion);
    QCOMPARE(statement.events.size(), std::size_t(2));
    QCOMPARE(statement.events[0].reason, std::string("weights differ from its replicas"));
    QCOMPARE(statement.events[1].step, std::uint64_t(44));
    QVERIFY(verify_statement(statement, hub.public_key()));

    // Any change to an event, or dropping one, breaks the signature.
    for (const char* field : {"owner", "kind", "reason"}) {
      auto changed = statement_json;
      changed["events"][0][field] = changed["events"][0][field].get<std::string>() + "x";
      QVERIFY2(!verify_statement(statement_from_json(changed), hub.public_key()), field);
    }
    auto later = statement_json;
    later["events"][1]["step"] = 45;
    QVERIFY(!verify_statement(statement_from_json(later), hub.public_key()));
    auto fewer = statement_json;
    fewer["events"].erase(1);
    QVERIFY(!verify_statement(statement_from_json(fewer), hub.public_key()));
    auto older = statement_json;
    older["version"] = 1;  // passing a version 2 statement off as one without events
    QVERIFY(!verify_statement(statement_from_json(older), hub.public_key()));

    // Each owner's activity is in its leaf: the proof carries it and any change breaks it.
    const auto proof = *published.proof_for("owner-4");
    QCOMPARE(proof.leaf.rejected_receipts, std::uint64_t(2));
    QCOMPARE(proof.leaf.checks_passed, std::uint64_t(3));
    QCOMPARE(proof.leaf.checks_failed, std::uint64_t(0));
    const auto proof_json = to_json(proof);
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));
    for (const char* field : {"rejected_receipts", "checks_passed", "checks_failed"}) {
      auto changed = proof_json;
      changed[field] = changed[field].get<std::uint64_t>() + 1;
      QVERIFY2(!verify_leaf(statement, leaf_proof_from_json(changed)), field);
    }
    const auto quiet = *published.proof_for("owner-0");
    QCOMPARE(quiet.leaf.checks_passed + quiet.leaf.checks_failed + quiet.leaf.rejected_receipts, std::uint64_t(0));
    QVERIFY(verify_leaf(statement, quiet));
  }

  void versionOneStatementsStillVerify() {
    const auto hub = wallet::KeyPair::generate();
    const PublishedEpoch published("demo-run", settled(5), hub, activity(), 1);
    auto json = to_json(published.statement());
    QVERIFY(published.statement().events.empty());
    json.erase("version");  // as an older hub served it
    json.erase("events");
    const auto statement = statement_from_json(json);
    QCOMPARE(statement.version, std::uint8_t(1));
    QVERIFY(verify_statement(statement, hub.public_key()));
    auto proof_json = to_json(*published.proof_for("owner-3"));
    QCOMPARE(proof_json["checks_failed"].get<std::uint64_t>(), std::uint64_t(0));  // version 1 leaves carry none
    for (const char* field : {"rejected_receipts", "checks_passed", "checks_failed"}) proof_json.erase(field);
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));
    // Version 1 and 2 leaves of the same balances hash apart.
    QVERIFY(leaf_hash({"a", 1, 1}, 1) != leaf_hash({"a", 1, 1}, 2));
    auto unknown = to_json(published.statement());
    unknown["version"] = 4;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, statement_from_json(unknown));
  }

  void versionTwoStatementsStillVerify() {
    const auto hub = wallet::KeyPair::generate();
    auto settlement = settled(5);
    const PublishedEpoch published("demo-run", settlement, hub, activity(), 2);
    auto json = to_json(published.statement());
    QVERIFY(!json.contains("total_data_units"));
    const auto statement = statement_from_json(json);
    QCOMPARE(statement.version, std::uint8_t(2));
    QVERIFY(verify_statement(statement, hub.public_key()));
    auto proof_json = to_json(*published.proof_for("owner-3"));
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));
    proof_json.erase("data_units");  // as an older hub served it
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));
    // A figure the version does not sign cannot ride along on a proof.
    proof_json["data_units"] = 7;
    QVERIFY(!verify_leaf(statement, leaf_proof_from_json(proof_json)));
    QVERIFY(leaf_hash({"a", 1, 1}, 2) != leaf_hash({"a", 1, 1}, 3));
  }

  void dataUnitsAreSignedInVersionThree() {
    const auto hub = wallet::KeyPair::generate();
    auto previous = settled(4).state;
    const auto settlement = settle_epoch(previous, {{"owner-1", 10}}, 500, {{"owner-2", 40}, {"contributor", 9}});
    const PublishedEpoch published("demo-run", settlement, hub, activity());
    const auto statement_json = to_json(published.statement());
    const auto statement = statement_from_json(statement_json);
    QCOMPARE(statement.version, std::uint8_t(3));
    QCOMPARE(statement.total_data_units, std::uint64_t(49));
    QCOMPARE(statement.owner_count, std::uint64_t(5));
    QVERIFY(verify_statement(statement, hub.public_key()));
    auto more = statement_json;
    more["total_data_units"] = 50;
    QVERIFY(!verify_statement(statement_from_json(more), hub.public_key()));
    auto older = statement_json;
    older["version"] = 2;  // passing it off as a statement without data units
    QVERIFY(!verify_statement(statement_from_json(older), hub.public_key()));

    const auto proof = *published.proof_for("contributor");
    QCOMPARE(proof.leaf.units, std::uint64_t(9));
    QCOMPARE(proof.leaf.data_units, std::uint64_t(9));
    const auto proof_json = to_json(proof);
    QCOMPARE(proof_json["data_units"].get<std::uint64_t>(), std::uint64_t(9));
    QVERIFY(verify_leaf(statement, leaf_proof_from_json(proof_json)));
    for (const std::uint64_t changed_units : {std::uint64_t(8), std::uint64_t(10), std::uint64_t(0)}) {
      auto changed = proof_json;
      changed["data_units"] = changed_units;
      QVERIFY(!verify_leaf(statement, leaf_proof_from_json(changed)));
    }
    const auto worker = *published.proof_for("owner-2");
    QCOMPARE(worker.leaf.data_units, std::uint64_t(40));
    QCOMPARE(worker.leaf.units, std::uint64_t(1000 + 37 * 2) * 2 + 40);
    QVERIFY(verify_leaf(statement, worker));
  }

  void badJsonIsNamed() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, statement_from_json(nlohmann::json::array()));
    auto json = to_json(PublishedEpoch("r", settled(2), wallet::KeyPair::generate()).statement());
    json["root"] = "abc";
    try {
      statement_from_json(json);
      QFAIL("accepted a short root");
    } catch (const std::invalid_argument& error) {
      QVERIFY(QString::fromUtf8(error.what()).contains(QStringLiteral("root")));
    }
  }
};

QTEST_APPLESS_MAIN(TestStatement)
#include "test_statement.moc"
