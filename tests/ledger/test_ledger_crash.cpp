// Crash safety: a child process appends continuously (three threads, batches of 1–32 rows in
// three tables) and prints every acknowledged row; the parent SIGKILLs it at a random moment,
// reopens the file and checks that SQLite's integrity check passes, the chain and signatures
// verify, and every acknowledged row is present with its content. TESSERA_CRASH_ROUNDS sets the
// number of rounds (10 by default; the `slow` variant runs 200). A new log is started every ten
// rounds, so each file is reopened after nine crashes.
#include <QtTest>

#include <map>
#include <random>
#include <tuple>

#include "ledger_test_support.h"

using namespace ledger_test;

namespace {

struct Acknowledged {
  std::int64_t seq;
  QByteArray table;
  std::int64_t marker;
};

// seq → (table, marker) for every row of the three tables the child writes.
std::map<std::int64_t, std::pair<QByteArray, std::int64_t>> rows_in(const std::filesystem::path& file) {
  std::map<std::int64_t, std::pair<QByteArray, std::int64_t>> rows;
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  for (const auto& [table, sql] :
       {std::pair{"work", "SELECT seq, step FROM work"}, std::pair{"revenue", "SELECT seq, epoch FROM revenue"},
        std::pair{"events", "SELECT seq, CAST(message AS INTEGER) FROM events"}}) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW)
      rows[sqlite3_column_int64(stmt, 0)] = {QByteArray(table), sqlite3_column_int64(stmt, 1)};
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return rows;
}

}  // namespace

class TestLedgerCrash : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void killedWriterLosesNothingAcknowledged() {
    const int rounds = qEnvironmentVariableIsSet("TESSERA_CRASH_ROUNDS")
                           ? qEnvironmentVariableIntValue("TESSERA_CRASH_ROUNDS")
                           : 10;
    QVERIFY(rounds > 0);
    QTemporaryDir dir;
    const auto key = tessera::wallet::KeyPair::generate();
    const auto seed_file = path_in(dir, "seed");
    {
      QFile out(QString::fromStdString(seed_file.string()));
      QVERIFY(out.open(QIODevice::WriteOnly));
      out.write(reinterpret_cast<const char*>(key.seed().data()), 32);
    }
    std::mt19937 random(QRandomGenerator::global()->generate());
    std::int64_t total_acknowledged = 0;
    for (int round = 0; round < rounds; ++round) {
      const auto file = path_in(dir, qPrintable(QStringLiteral("log-%1.db").arg(round / 10)));
      QProcess child;
      child.setProcessChannelMode(QProcess::SeparateChannels);
      child.start(QStringLiteral(LEDGER_HELPER_BIN), {QStringLiteral("append"), QString::fromStdString(file.string()),
                                                      QString::fromStdString(seed_file.string())});
      QVERIFY2(child.waitForStarted(30000), qPrintable(child.errorString()));
      QByteArray output;
      // Wait for the first acknowledgement, then kill at a random moment 0–150 ms later.
      QElapsedTimer timer;
      timer.start();
      while (!output.contains('\n') && timer.elapsed() < 30000 && child.state() == QProcess::Running) {
        child.waitForReadyRead(100);
        output += child.readAllStandardOutput();
      }
      QVERIFY2(output.contains('\n'), qPrintable(QString::fromUtf8(child.readAllStandardError())));
      const int delay_ms = static_cast<int>(random() % 151);
      timer.restart();
      while (timer.elapsed() < delay_ms) {
        child.waitForReadyRead(std::max<int>(1, delay_ms - static_cast<int>(timer.elapsed())));
        output += child.readAllStandardOutput();
      }
      QCOMPARE(child.state(), QProcess::Running);
      child.kill();  // SIGKILL
      QVERIFY(child.waitForFinished(30000));
      QCOMPARE(child.exitStatus(), QProcess::CrashExit);
      output += child.readAllStandardOutput();

      std::vector<Acknowledged> acknowledged;
      for (const auto& line : output.split('\n')) {
        const auto fields = line.split(' ');
        if (fields.size() != 3) continue;  // the last line may be cut short by the kill
        acknowledged.push_back({fields[0].toLongLong(), fields[1], fields[2].toLongLong()});
      }
      QVERIFY(!acknowledged.empty());
      total_acknowledged += static_cast<std::int64_t>(acknowledged.size());

      LedgerReader reader(file);
      QCOMPARE(reader.integrity_check(), std::string("ok"));
      const auto report = reader.verify(key.public_key());
      QVERIFY2(report.intact, qPrintable(QStringLiteral("round %1: %2").arg(round).arg(QString::fromStdString(report.to_text()))));
      const auto rows = rows_in(file);
      for (const auto& row : acknowledged) {
        const auto found = rows.find(row.seq);
        QVERIFY2(found != rows.end(), qPrintable(QStringLiteral("round %1: acknowledged row %2 is missing").arg(round).arg(row.seq)));
        QCOMPARE(found->second.first, row.table);
        QCOMPARE(found->second.second, row.marker);
      }
      // The roll-ups agree with the raw rows after every crash.
      QCOMPARE(reader.donated(kNow * 2).all_time.steps, reader.donated_from_raw(kNow * 2).all_time.steps);
    }
    qInfo("%d rounds, %lld acknowledged rows checked", rounds, static_cast<long long>(total_acknowledged));
  }
};

QTEST_APPLESS_MAIN(TestLedgerCrash)
#include "test_ledger_crash.moc"
