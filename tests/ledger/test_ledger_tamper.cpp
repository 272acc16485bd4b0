// Tamper evidence: verify names the first row that was edited, deleted, inserted or reordered,
// and catches a rewritten chain through the signed heads.
#include <QtTest>

#include "core/ledger/chain.h"
#include "ledger_test_support.h"

using namespace ledger_test;

class TestLedgerTamper : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::filesystem::path file_;
  std::optional<tessera::wallet::KeyPair> key_;

  // Ten rows: seq 1–6 work (two transactions), 7 event, 8–10 work.
  void writeFresh() {
    std::filesystem::remove(file_);
    std::filesystem::remove(file_.string() + "-wal");
    std::filesystem::remove(file_.string() + "-shm");
    LedgerWriter writer(file_, *key_);
    writer.append(std::vector<Record>{work(kNow, 1), work(kNow, 2), work(kNow, 3)});
    writer.append(std::vector<Record>{work(kNow, 4), work(kNow, 5), work(kNow, 6)});
    writer.append(EventRecord{kNow, "pause", "run-a", "paused by the user", ""});
    writer.append(std::vector<Record>{work(kNow, 8), work(kNow, 9), work(kNow, 10)});
  }

  VerifyReport verify() { return LedgerReader(file_).verify(key_->public_key()); }

  // The chain hashes of rows 1..10, recomputed from their values.
  std::vector<Hash> chainHashes() {
    LedgerReader reader(file_);
    std::vector<Hash> hashes;
    Hash previous{};
    for (std::int64_t seq = 1; seq <= 10; ++seq) {
      const auto row = *reader.row(seq);
      std::vector<std::uint8_t> canonical;
      append_canonical(row.first, to_values(row.second), canonical);
      previous = chain_hash(previous, canonical);
      hashes.push_back(previous);
    }
    return hashes;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    file_ = path_in(dir_);
    key_.emplace(tessera::wallet::KeyPair::generate());
  }

  void init() { writeFresh(); }

  void intactLogVerifies() {
    const auto report = verify();
    QVERIFY2(report.intact, report.to_text().c_str());
    QCOMPARE(report.rows, std::int64_t{10});
    QCOMPARE(report.transactions, std::int64_t{4});
  }

  void editedValueIsNamed() {
    hand_edit(file_, "UPDATE work SET tokens = tokens + 1 WHERE seq = 5");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{5});
    QCOMPARE(report.problem->table, std::string("work"));
    QCOMPARE(report.problem->kind, std::string("edited"));
    QVERIFY(QString::fromStdString(report.to_text()).contains(QStringLiteral("seq 5 (table work)")));
  }

  void editedRealAndTextAreNamed() {
    hand_edit(file_, "UPDATE work SET flops = flops * 2 WHERE seq = 2");
    QCOMPARE(verify().problem->seq, std::int64_t{2});
    writeFresh();
    hand_edit(file_, "UPDATE events SET message = 'nothing happened' WHERE seq = 7");
    const auto report = verify();
    QCOMPARE(report.problem->seq, std::int64_t{7});
    QCOMPARE(report.problem->table, std::string("events"));
  }

  void changedStorageTypeIsAnEdit() {
    // 512.9 in the INTEGER column reads back as 512 and would hash right; its type gives it away.
    hand_edit(file_, "UPDATE work SET tokens = tokens + 0.9 WHERE seq = 3");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{3});
    QCOMPARE(report.problem->kind, std::string("edited"));
  }

  void editedRollupsAreCaught() {
    // The dashboards read the roll-ups, which are outside the chain: verify recomputes them.
    hand_edit(file_, "UPDATE rollup_work SET tokens = tokens + 1000");
    auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->table, std::string("roll-ups"));
    QVERIFY2(QString::fromStdString(report.to_text()).contains(QStringLiteral("compute donated roll-up")),
             report.to_text().c_str());
    writeFresh();
    {
      LedgerWriter writer(file_, *key_);
      writer.append(revenue("run-a", 1, 40));
    }
    QVERIFY(verify().intact);
    hand_edit(file_, "UPDATE rollup_revenue SET accrued = accrued * 10");
    report = verify();
    QVERIFY(!report.intact);
    QVERIFY(QString::fromStdString(report.to_text()).contains(QStringLiteral("revenue roll-up")));
  }

  void deletedRowIsNamed() {
    hand_edit(file_, "DELETE FROM work WHERE seq = 4");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{4});
    QCOMPARE(report.problem->kind, std::string("deleted"));
  }

  void deletedAndRenumberedRowIsCaught() {
    hand_edit(file_, "DELETE FROM work WHERE seq = 4; UPDATE work SET seq = seq - 1 WHERE seq > 4; "
                     "UPDATE events SET seq = seq - 1;");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{3});
  }

  void deletedTailIsCaught() {
    hand_edit(file_, "DELETE FROM work WHERE seq >= 9");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{9});
    QCOMPARE(report.problem->kind, std::string("deleted"));
  }

  void insertedRowIsNamed() {
    // A forged row linked properly after row 2 (valid hash), the later rows moved up by one.
    const auto hashes = chainHashes();
    std::vector<std::uint8_t> canonical;
    auto forged = work(kNow, 99);
    append_canonical(Table::Work, to_values(forged), canonical);
    const auto hash = chain_hash(hashes[1], canonical);
    hand_edit(file_, "UPDATE events SET seq = seq + 1; UPDATE work SET seq = -seq WHERE seq > 2; "
                     "UPDATE work SET seq = 1 - seq WHERE seq < 0; INSERT INTO work SELECT 3, x'" + to_hex(hashes[1]) + "', x'" + to_hex(hash) +
                     "', at_ms, session_id, run, 99, stage, micro_batches, tokens, flops - step + 99, device_seconds, "
                     "energy_joules - (step % 7) + (99 % 7), codec, bytes_sent, bytes_received, 'r99' "
                     "FROM work WHERE seq = 2;");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{3});
    QCOMPARE(report.problem->kind, std::string("inserted"));
  }

  void rowAddedAtTheEndIsUnsigned() {
    hand_edit(file_, "INSERT INTO work SELECT 11, hash, hash, at_ms, session_id, run, step, stage, micro_batches, "
                     "tokens, flops, device_seconds, energy_joules, codec, bytes_sent, bytes_received, receipt_ids "
                     "FROM work WHERE seq = 10;");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{11});
  }

  void duplicateSeqIsAnInsertion() {
    hand_edit(file_, "INSERT INTO events SELECT 5, prev_hash, hash, at_ms, kind, run, message, details FROM events");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{5});
    QCOMPARE(report.problem->kind, std::string("inserted"));
  }

  void reorderedRowsAreNamed() {
    hand_edit(file_, "UPDATE work SET seq = -1 WHERE seq = 5; UPDATE work SET seq = 5 WHERE seq = 6; "
                     "UPDATE work SET seq = 6 WHERE seq = -1;");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{5});
    QCOMPARE(report.problem->kind, std::string("reordered"));
  }

  void rewrittenChainFailsTheSignedHead() {
    // Change row 2 and recompute every hash after it, as a careful forger would: only the signed
    // heads (which the forger cannot re-sign) catch it.
    {
      LedgerReader reader(file_);
      std::vector<std::pair<Table, Record>> rows;
      for (std::int64_t seq = 1; seq <= 10; ++seq) rows.push_back(*reader.row(seq));
      std::get<WorkRecord>(rows[1].second).tokens = 1;
      Hash previous{};
      std::string sql;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        std::vector<std::uint8_t> canonical;
        const auto values = to_values(rows[i].second);
        append_canonical(rows[i].first, values, canonical);
        const auto hash = chain_hash(previous, canonical);
        sql += "UPDATE " + std::string(table_info(rows[i].first).name) + " SET prev_hash = x'" + to_hex(previous) +
               "', hash = x'" + to_hex(hash) + "' WHERE seq = " + std::to_string(i + 1) + ";";
        previous = hash;
      }
      sql += "UPDATE work SET tokens = 1 WHERE seq = 2;";
      hand_edit(file_, sql);
    }
    auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->seq, std::int64_t{1});  // the first row of the transaction whose head no longer matches
    QVERIFY(QString::fromStdString(report.problem->detail).contains(QStringLiteral("seq 1 to 3")));
    // Rewriting the heads' hashes too leaves their signatures invalid.
    hand_edit(file_, "UPDATE heads SET head_hash = (SELECT hash FROM work WHERE seq = heads.last_seq) "
                     "WHERE last_seq IN (SELECT seq FROM work); "
                     "UPDATE heads SET head_hash = (SELECT hash FROM events WHERE seq = heads.last_seq) "
                     "WHERE last_seq IN (SELECT seq FROM events);");
    report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->kind, std::string("bad signature"));
  }

  void foreignKeyIsRejectedOnlyWhenExpected() {
    const auto other = tessera::wallet::KeyPair::generate();
    const auto against_other = LedgerReader(file_).verify(other.public_key());
    QVERIFY(!against_other.intact);
    QCOMPARE(against_other.problem->kind, std::string("bad signature"));
    const auto recorded = LedgerReader(file_).verify();
    QVERIFY(recorded.intact);
    QVERIFY(QString::fromStdString(recorded.key_source).contains(QStringLiteral("recorded in the file")));
    QCOMPARE(recorded.signer_keys.size(), std::size_t{1});
    QVERIFY(recorded.signer_keys[0] == key_->public_key());
  }

  void deletedHeadIsCaught() {
    hand_edit(file_, "DELETE FROM heads WHERE txn = 2");
    const auto report = verify();
    QVERIFY(!report.intact);
    QCOMPARE(report.problem->kind, std::string("deleted"));
  }

  void publicKeyParsing() {
    const auto hex = to_hex(key_->public_key());
    QVERIFY(parse_public_key(hex) == key_->public_key());
    const auto base64 = QByteArray(reinterpret_cast<const char*>(key_->public_key().data()), 32).toBase64().toStdString();
    QVERIFY(parse_public_key(base64) == key_->public_key());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_public_key("abc"));
  }
};

QTEST_APPLESS_MAIN(TestLedgerTamper)
#include "test_ledger_tamper.moc"
