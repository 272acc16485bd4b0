// The contribution log's writer and reader: appends are chained, signed and rolled up; the
// dashboard figures from roll-ups equal those from raw rows; readers read while the writer
// writes; a row whose unique key is already in the log is not recorded again; version-1 and
// version-2 files (the latter with the repeats an older node wrote) migrate forward; a version-3
// file gains each verified leaf's epoch activity from the proofs it already holds; CSV export.
#include <QtTest>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "core/ledger/chain.h"
#include "core/ledger/schema.h"
#include "ledger_test_support.h"

using namespace ledger_test;

namespace {

// Takes a file's roll-ups back to before version 5, or before version 4 (the hand edits that make
// an older file).
const std::string kBeforeVersion5 = "ALTER TABLE rollup_ownership DROP COLUMN data_units; ";
const std::string kBeforeVersion4 = kBeforeVersion5 +
    "ALTER TABLE rollup_ownership DROP COLUMN epoch_rejected; ALTER TABLE rollup_ownership DROP COLUMN "
    "epoch_checks_passed; ALTER TABLE rollup_ownership DROP COLUMN epoch_checks_failed; ";

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

void compare(const Donated& a, const Donated& b) {
  QCOMPARE(a.steps, b.steps);
  QCOMPARE(a.tokens, b.tokens);
  QVERIFY(close(a.flops, b.flops));
  QVERIFY(close(a.device_seconds, b.device_seconds));
  QVERIFY(close(a.energy_joules, b.energy_joules));
}

// Work spread over 40 days before kNow (some rows in each window), statements and revenue.
void fill(LedgerWriter& writer) {
  std::vector<Record> batch;
  for (int i = 0; i < 2000; ++i)
    batch.push_back(work(kNow - static_cast<std::int64_t>(i) * 29 * 60 * 1000, i, i % 3 == 0 ? "run-b" : "run-a"));
  writer.append(std::move(batch));
  // Two sources in one epoch add up; one source is recorded once per epoch.
  writer.append(std::vector<Record>{revenue("run-a", 1, 100), RevenueRecord{kNow - 2000, "run-a", 1, 50, "USDC", "tips"},
                                    revenue("run-a", 2, 70), revenue("run-b", 1, 5)});
  writer.append(statement("run-a", 1, 10, 100, 140, false));
  writer.append(statement("run-a", 1, 12, 100, 150, true));
  writer.append(statement("run-a", 1, 99, 100, 999, false));  // a later unverified one does not replace it
  writer.append(statement("run-a", 2, 30, 200, 215, true));
  writer.append(statement("run-b", 1, 1, 50, 4, true));
  writer.append(EventRecord{kNow, "join", "run-a", "joined run-a as stage 2", "{}"});
  writer.append(SessionRecord{kNow, "s1", "start", "run-a", "cpu", "balanced"});
  writer.append(PayoutRecord{kNow, "run-a", 100, "USDC", "addr", "tx1", "sent"});
  writer.append(ReceiptRecord{kNow, "r1", "run-a", 1, 0, 2, "peerA", "me", 512, {1, 2}, {3, 4, 5}});
}

}  // namespace

class TestLedger : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void canonicalBytesAreStable() {
    // A change here changes every hash ever written: it needs a new schema version.
    std::vector<std::uint8_t> bytes;
    append_canonical(Table::Revenue, to_values(RevenueRecord{1, "r", 2, 3, "C", "s"}), bytes);
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(bytes.data()), static_cast<int>(bytes.size())).toHex(),
             QByteArray("04000000000000000100000001720000000000000002000000000000000300000001430000000173"));
    const Hash zero{};
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(chain_hash(zero, bytes).data()), 32).size(), 32);
    QVERIFY(chain_hash(zero, bytes) != chain_hash(chain_hash(zero, bytes), bytes));
  }

  void writerAndVerifierEncodeAlike() {
    // The writer encodes straight from records, verify from the stored values: same bytes, and
    // every value has its column's declared type.
    const std::vector<Record> samples{SessionRecord{1, "s", "start", "r", "cpu", "full"}, work(kNow, 3),
                                      ReceiptRecord{1, "id", "r", 1, 2, 3, "a", "b", 4, {1}, {2, 3}},
                                      statement("r", 1, 2.5, 5, 6, true), revenue("r", 1, 2),
                                      PayoutRecord{1, "r", 2, "USDC", "d", "t", "sent"},
                                      EventRecord{1, "error", "r", "m", "{}"}};
    QCOMPARE(samples.size(), std::size_t(kTableCount));
    for (const auto& record : samples) {
      std::vector<std::uint8_t> direct, via_values;
      append_canonical(record, direct);
      const auto values = to_values(record);
      append_canonical(table_of(record), values, via_values);
      QCOMPARE(direct, via_values);
      const auto& info = table_info(table_of(record));
      QCOMPARE(values.size(), info.columns.size());
      for (std::size_t i = 0; i < values.size(); ++i)
        QCOMPARE(static_cast<int>(values[i].index()), static_cast<int>(info.columns[i].type));
    }
  }

  void recordsRoundTrip() {
    const Record original = statement("run-a", 3, 1.25, 2.5, 7, true);
    const auto back = from_values(Table::Statements, to_values(original));
    QCOMPARE(to_values(back), to_values(original));
  }

  void appendsAreDurableChainedAndSigned() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      LedgerWriter writer(file, key);
      QCOMPARE(writer.append(work(kNow, 1)), std::int64_t{1});
      const auto seqs = writer.append(std::vector<Record>{work(kNow, 2), EventRecord{0, "pause", "", "paused", ""}});
      QCOMPARE(seqs, (std::vector<std::int64_t>{2, 3}));
    }
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{kSchemaVersion});
    QCOMPARE(query_int(file, "PRAGMA application_id"), std::int64_t{kApplicationId});
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM heads"), std::int64_t{2});
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), std::int64_t{1});
    LedgerReader reader(file);
    QCOMPARE(reader.row_count(), std::int64_t{3});
    const auto report = reader.verify(key.public_key());
    QVERIFY2(report.intact, report.to_text().c_str());
    QCOMPARE(report.rows, std::int64_t{3});
    QCOMPARE(report.transactions, std::int64_t{2});
    QVERIFY(QString::fromStdString(report.key_source).contains(QStringLiteral("expected")));
    // at_ms 0 is stamped with the time of the append.
    const auto event = reader.row(3);
    QVERIFY(event && event->first == Table::Events);
    QVERIFY(std::get<EventRecord>(event->second).at_ms > 0);
    // Reopening continues the same chain.
    {
      LedgerWriter writer(file, key);
      QCOMPARE(writer.append(work(kNow, 4)), std::int64_t{4});
    }
    QVERIFY(LedgerReader(file).verify(key.public_key()).intact);
  }

  void concurrentAppendersAreBatched() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    std::set<std::int64_t> seqs;
    std::mutex mutex;
    {
      LedgerWriter writer(file, key);
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i) {
            const auto seq = writer.append(work(kNow, t * 1000 + i));
            std::lock_guard lock(mutex);
            seqs.insert(seq);
          }
        });
      for (auto& thread : threads) thread.join();
    }
    QCOMPARE(seqs.size(), std::size_t{400});
    QCOMPARE(*seqs.rbegin(), std::int64_t{400});
    const auto transactions = query_int(file, "SELECT COUNT(*) FROM heads");
    QVERIFY(transactions >= 1 && transactions <= 400);
    QVERIFY(LedgerReader(file).verify(key.public_key()).intact);
  }

  void rollupsEqualRawFigures() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      LedgerWriter writer(file, key);
      fill(writer);
    }
    LedgerReader reader(file);
    const auto rolled = reader.donated(kNow);
    const auto raw = reader.donated_from_raw(kNow);
    compare(rolled.last_24h, raw.last_24h);
    compare(rolled.last_7d, raw.last_7d);
    compare(rolled.last_30d, raw.last_30d);
    compare(rolled.all_time, raw.all_time);
    QCOMPARE(rolled.all_time.steps, std::int64_t{2000});
    QVERIFY(rolled.last_24h.steps > 0 && rolled.last_24h.steps < rolled.last_7d.steps);
    QVERIFY(rolled.last_7d.steps < rolled.last_30d.steps && rolled.last_30d.steps < rolled.all_time.steps);
    // 24 h = the current hour and the 23 before it: rows every 29 minutes back from kNow.
    const std::int64_t window_start = (kNow / kHourMs) * kHourMs - 23 * kHourMs;
    QCOMPARE(rolled.last_24h.steps, (kNow - window_start) / (29 * 60 * 1000) + 1);
    QVERIFY(close(rolled.all_time.kwh(), rolled.all_time.energy_joules / 3.6e6));

    const auto ownership = reader.ownership_series();
    QCOMPARE(ownership.size(), std::size_t{3});
    QCOMPARE(ownership[0].run, std::string("run-a"));
    QCOMPARE(ownership[0].units, 12.0);  // the verified statement of epoch 1
    QVERIFY(ownership[0].verified);
    QCOMPARE(ownership[1].share(), 30.0 / 200.0);
    const auto raw_ownership = reader.ownership_series_from_raw();
    QCOMPARE(raw_ownership.size(), ownership.size());
    for (std::size_t i = 0; i < ownership.size(); ++i) {
      QCOMPARE(raw_ownership[i].run, ownership[i].run);
      QCOMPARE(raw_ownership[i].units, ownership[i].units);
      QCOMPARE(raw_ownership[i].verified, ownership[i].verified);
    }

    const auto revenue_rows = reader.revenue_per_epoch();
    QCOMPARE(revenue_rows.size(), std::size_t{3});
    QCOMPARE(revenue_rows[0].accrued, std::int64_t{150});       // run-a epoch 1
    QCOMPARE(revenue_rows[0].verified, std::optional<std::int64_t>{150});
    QCOMPARE(revenue_rows[1].accrued, std::int64_t{70});        // run-a epoch 2
    QCOMPARE(revenue_rows[1].verified, std::optional<std::int64_t>{65});  // 215 - 150
    QCOMPARE(revenue_rows[2].verified, std::optional<std::int64_t>{4});
    const auto raw_revenue = reader.revenue_per_epoch_from_raw();
    QCOMPARE(raw_revenue.size(), revenue_rows.size());
    for (std::size_t i = 0; i < raw_revenue.size(); ++i) {
      QCOMPARE(raw_revenue[i].accrued, revenue_rows[i].accrued);
      QCOMPARE(raw_revenue[i].verified, revenue_rows[i].verified);
    }
    QVERIFY(reader.verify().intact);
  }

  void readersReadWhileTheWriterWrites() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    LedgerWriter writer(file, key);
    writer.append(work(kNow, 0));
    std::atomic<bool> done{false};
    std::thread producer([&] {
      for (int i = 1; i <= 300; ++i) writer.append(std::vector<Record>{work(kNow, i), work(kNow, i)});
      done = true;
    });
    int reads = 0;
    std::int64_t last_count = 0;
    while (!done || reads < 3) {
      LedgerReader reader(file);
      const auto summary = reader.summary(kNow);
      QVERIFY(summary.donated.all_time.steps >= last_count);  // never goes back
      last_count = summary.donated.all_time.steps;
      const auto report = reader.verify(key.public_key());
      QVERIFY2(report.intact, report.to_text().c_str());
      ++reads;
    }
    producer.join();
    QCOMPARE(LedgerReader(file).donated(kNow).all_time.steps, std::int64_t{601});
  }

  void versionOneFileMigratesForward() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      // A version-1 file: the append-only tables and heads, no roll-ups.
      detail::Connection connection(file, detail::Connection::Mode::ReadWriteCreate);
      connection.exec("PRAGMA journal_mode = WAL");
      detail::migrate(connection, 1);
    }
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{1});
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'rollup_work'"), std::int64_t{0});
    // Rows written by version 1 (same tables and chain): write them with the current writer,
    // then take the file back to version 1 as it would have been.
    {
      LedgerWriter writer(file, key);
      fill(writer);
    }
    hand_edit(file, "DROP TABLE rollup_work; DROP TABLE rollup_ownership; DROP TABLE rollup_revenue; "
                    "DROP TABLE revenue_keys; DROP TABLE statements_keys; PRAGMA user_version = 1;");
    {
      // A reader of a version-1 file computes from the raw rows.
      LedgerReader old(file);
      QCOMPARE(old.schema_version(), 1);
      QCOMPARE(old.donated(kNow).all_time.steps, std::int64_t{2000});
    }
    {
      LedgerWriter writer(file, key);  // migrates to the current version, back-filling the roll-ups
      writer.append(work(kNow, 5000));
    }
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{kSchemaVersion});
    LedgerReader reader(file);
    QCOMPARE(reader.schema_version(), kSchemaVersion);
    const auto rolled = reader.donated(kNow);
    const auto raw = reader.donated_from_raw(kNow);
    compare(rolled.all_time, raw.all_time);
    compare(rolled.last_24h, raw.last_24h);
    QCOMPARE(rolled.all_time.steps, std::int64_t{2001});
    QCOMPARE(reader.revenue_per_epoch().size(), std::size_t{3});
    QCOMPARE(reader.ownership_series()[0].units, 12.0);
    QVERIFY(reader.verify(key.public_key()).intact);
  }

  void repeatedKeysAreRecordedOnce() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      LedgerWriter writer(file, key);
      const auto first = writer.append(revenue("run-a", 1, 100));
      QCOMPARE(writer.append(revenue("run-a", 1, 999)), first);  // the row already there
      const auto seqs = writer.append(std::vector<Record>{statement("run-a", 1, 12, 100, 100, true), work(kNow, 1),
                                                          statement("run-a", 1, 12, 100, 100, true)});
      QCOMPARE(seqs.size(), std::size_t{3});
      QCOMPARE(seqs[2], seqs[0]);
      QCOMPARE(seqs[1], seqs[0] + 1);
      // An unverified statement of the same epoch is another key; another epoch or source too.
      writer.append(std::vector<Record>{statement("run-a", 1, 12, 100, 100, false), revenue("run-a", 2, 40),
                                        RevenueRecord{kNow, "run-a", 1, 7, "USDC", "tips"}});
    }
    const auto heads = query_int(file, "SELECT COUNT(*) FROM heads");
    {
      LedgerWriter writer(file, key);  // the keys are in the file, not in the writer's memory
      writer.append(std::vector<Record>{revenue("run-a", 1, 100), statement("run-a", 1, 12, 100, 100, true)});
    }
    QCOMPARE(query_int(file, "SELECT COUNT(*) FROM heads"), heads);  // nothing new: nothing signed
    LedgerReader reader(file);
    QCOMPARE(reader.row_count(Table::Revenue), std::int64_t{3});
    QCOMPARE(reader.row_count(Table::Statements), std::int64_t{2});
    const auto rows = reader.revenue_per_epoch();
    QCOMPARE(rows.size(), std::size_t{2});
    QCOMPARE(rows[0].accrued, std::int64_t{107});
    QCOMPARE(rows[0].verified, std::optional<std::int64_t>{100});
    QCOMPARE(rows[1].accrued, std::int64_t{40});
    QCOMPARE(reader.revenue_per_epoch_from_raw()[0].accrued, std::int64_t{107});
    QCOMPARE(reader.last_verified_epoch("run-a", "owner1"), std::optional<std::int64_t>{1});
    QCOMPARE(reader.last_verified_epoch("run-a", "someone else"), std::nullopt);
    const auto report = reader.verify(key.public_key());
    QVERIFY2(report.intact, report.to_text().c_str());
  }

  void versionTwoRepeatsCountOnceAfterMigration() {
    // A version-2 node recorded the same epoch again on every start (three starts here).
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    for (int start = 0; start < 3; ++start) {
      {
        LedgerWriter writer(file, key);
        writer.append(std::vector<Record>{revenue("run-a", 1, 10000), statement("run-a", 1, 5, 10, 10000, true)});
      }
      hand_edit(file, "DELETE FROM revenue_keys; DELETE FROM statements_keys");  // as if there were no keys
    }
    hand_edit(file, std::string(kBeforeVersion4) + "DROP TABLE revenue_keys; DROP TABLE statements_keys; PRAGMA user_version = 2");
    QCOMPARE(query_int(file, "SELECT accrued FROM rollup_revenue"), std::int64_t{30000});  // the old count
    {
      LedgerReader old(file);
      QCOMPARE(old.schema_version(), 2);
      QCOMPARE(old.revenue_per_epoch().at(0).accrued, std::int64_t{10000});  // read from the rows, once
      QVERIFY(old.verify(key.public_key()).intact);
    }
    {
      LedgerWriter writer(file, key);  // migrates
      writer.append(revenue("run-a", 1, 10000));
    }
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{kSchemaVersion});
    QCOMPARE(query_int(file, "SELECT accrued FROM rollup_revenue"), std::int64_t{10000});
    QCOMPARE(query_int(file, "SELECT seq FROM revenue_keys"), query_int(file, "SELECT MIN(seq) FROM revenue"));
    LedgerReader reader(file);
    QCOMPARE(reader.row_count(Table::Revenue), std::int64_t{3});  // the chain keeps what was written
    const auto rows = reader.revenue_per_epoch();
    QCOMPARE(rows.size(), std::size_t{1});
    QCOMPARE(rows[0].accrued, std::int64_t{10000});
    QCOMPARE(rows[0].verified, std::optional<std::int64_t>{10000});
    const auto report = reader.verify(key.public_key());
    QVERIFY2(report.intact, report.to_text().c_str());
  }

  void versionThreeFileGainsEpochActivity() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    const std::string leaf = R"({"owner": "owner1", "units": 12, "rejected_receipts": 2, "checks_passed": 5, "checks_failed": 1})";
    auto with_activity = statement("run-a", 1, 12, 100, 100, true);
    with_activity.proof.assign(leaf.begin(), leaf.end());
    {
      LedgerWriter writer(file, key);
      // Epoch 1's leaf carries activity; epoch 2's proof is not JSON; epoch 3's leaf has none (version 1).
      const std::string old_leaf = R"({"owner": "owner1", "units": 30})";
      auto without = statement("run-a", 3, 30, 300, 300, true);
      without.proof.assign(old_leaf.begin(), old_leaf.end());
      writer.append(std::vector<Record>{with_activity, statement("run-a", 2, 20, 200, 200, true), without});
    }
    const auto check = [&](const LedgerReader& reader, std::int64_t rejected, std::int64_t passed, std::int64_t failed) {
      for (const auto& series : {reader.ownership_series(), reader.ownership_series_from_raw()}) {
        QCOMPARE(series.size(), std::size_t{3});
        QCOMPARE(series[0].epoch_rejected, rejected);
        QCOMPARE(series[0].epoch_checks_passed, passed);
        QCOMPARE(series[0].epoch_checks_failed, failed);
        for (std::size_t i : {1, 2}) QCOMPARE(series[i].epoch_rejected + series[i].epoch_checks_passed, std::int64_t{0});
      }
      const auto report = reader.verify(key.public_key());
      QVERIFY2(report.intact, report.to_text().c_str());
    };
    check(LedgerReader(file), 2, 5, 1);
    // The same file as version 3 wrote it: the roll-up without the columns.
    hand_edit(file, std::string(kBeforeVersion4) + "PRAGMA user_version = 3");
    check(LedgerReader(file), 0, 0, 0);  // a version-3 reader's figures: none
    { LedgerWriter writer(file, key); }  // migrates, back-filling from the proofs in the signed rows
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{kSchemaVersion});
    QCOMPARE(query_int(file, "SELECT epoch_checks_passed FROM rollup_ownership WHERE epoch = 1"), std::int64_t{5});
    check(LedgerReader(file), 2, 5, 1);
    // An edited roll-up disagrees with the signed proof.
    hand_edit(file, "UPDATE rollup_ownership SET epoch_checks_failed = 0 WHERE epoch = 1");
    const auto report = LedgerReader(file).verify(key.public_key());
    QVERIFY(!report.intact);
    QCOMPARE(QString::fromStdString(report.problem->table), QStringLiteral("roll-ups"));
  }

  void versionFourFileGainsDataUnits() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      LedgerWriter writer(file, key);
      // Epoch 1 (a version 2 leaf) has none; epoch 2's version 3 leaf: 40 of its 52 units for data.
      const std::string old_leaf = R"({"owner": "owner1", "units": 12, "checks_passed": 1})";
      const std::string leaf = R"({"owner": "owner1", "units": 52, "data_units": 40, "checks_passed": 2})";
      auto first = statement("run-a", 1, 12e6, 100e6, 100, true);
      first.proof.assign(old_leaf.begin(), old_leaf.end());
      auto second = statement("run-a", 2, 52e6, 200e6, 200, true);
      second.proof.assign(leaf.begin(), leaf.end());
      writer.append(std::vector<Record>{first, second});
    }
    const auto check = [&](const LedgerReader& reader, std::int64_t data_units) {
      for (const auto& series : {reader.ownership_series(), reader.ownership_series_from_raw()}) {
        QCOMPARE(series.size(), std::size_t{2});
        QCOMPARE(series[0].data_units, std::int64_t{0});
        QCOMPARE(series[1].data_units, data_units);
        QCOMPARE(series[1].data_flops(), static_cast<double>(data_units) * 1e6);
      }
      const auto report = reader.verify(key.public_key());
      QVERIFY2(report.intact, report.to_text().c_str());
    };
    check(LedgerReader(file), 40);
    hand_edit(file, std::string(kBeforeVersion5) + "PRAGMA user_version = 4");  // as version 4 wrote it
    check(LedgerReader(file), 0);
    { LedgerWriter writer(file, key); }  // migrates, back-filling from the signed proofs
    QCOMPARE(query_int(file, "PRAGMA user_version"), std::int64_t{kSchemaVersion});
    check(LedgerReader(file), 40);
    hand_edit(file, "UPDATE rollup_ownership SET data_units = 1000 WHERE epoch = 2");
    QVERIFY(!LedgerReader(file).verify(key.public_key()).intact);  // the roll-up disagrees with the proof
  }

  void exportsCsv() {
    QTemporaryDir dir;
    const auto file = path_in(dir);
    const auto key = tessera::wallet::KeyPair::generate();
    {
      LedgerWriter writer(file, key);
      writer.append(work(kNow, 1));
      writer.append(EventRecord{kNow, "error", "run-a", "peer said \"no\", retrying", ""});
      writer.append(EventRecord{kNow, "error", "run-a", "=HYPERLINK(\"http://x\")", ""});
    }
    LedgerReader reader(file);
    std::ostringstream work_csv, events_csv;
    QCOMPARE(reader.export_csv(Table::Work, work_csv), std::int64_t{1});
    QCOMPARE(reader.export_csv(Table::Events, events_csv), std::int64_t{2});
    // A peer's text never becomes a spreadsheet formula.
    QVERIFY2(QString::fromStdString(events_csv.str()).contains(QStringLiteral("\"'=HYPERLINK(\"\"http://x\"\")\"")),
             events_csv.str().c_str());
    const auto lines = QString::fromStdString(work_csv.str()).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 2);
    QVERIFY(lines[0].startsWith(QStringLiteral("seq,hash,at_ms,session_id,run,step")));
    QVERIFY(lines[1].startsWith(QStringLiteral("1,")));
    QVERIFY(lines[1].contains(QStringLiteral(",run-a,1,2,4,512,")));
    QVERIFY(QString::fromStdString(events_csv.str()).contains(QStringLiteral("\"peer said \"\"no\"\", retrying\"")));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, table_from_name("wrk"));
  }

  void nonFiniteNumbersAreRefused() {
    QTemporaryDir dir;
    const auto key = tessera::wallet::KeyPair::generate();
    LedgerWriter writer(path_in(dir), key);
    auto bad = work(kNow, 1);
    bad.flops = std::numeric_limits<double>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, writer.append(bad));
  }
};

QTEST_APPLESS_MAIN(TestLedger)
#include "test_ledger.moc"
