// LedgerReader's views for the desktop app: page() (one table, newest first, by offset) and
// donated_series() (compute donated per hour or day bucket), checked against the totals.
#include <QtTest>

#include <QTemporaryDir>

#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/wallet/signing.h"

using namespace tessera;

namespace {

ledger::WorkRecord work(std::int64_t at, double device_seconds) {
  ledger::WorkRecord w;
  w.at_ms = at;
  w.session_id = "s";
  w.run = "r";
  w.step = at;
  w.tokens = 10;
  w.flops = 1e9;
  w.device_seconds = device_seconds;
  w.energy_joules = 1;
  return w;
}

}  // namespace

class TestLedgerPages : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void seriesAddUpToTheTotals() {
    QTemporaryDir dir;
    const std::string file = dir.filePath(QStringLiteral("log.db")).toStdString();
    const std::int64_t now = 1'800'000'000'000;  // fixed, so bucket edges are known
    {
      ledger::LedgerWriter writer(file, wallet::KeyPair::generate());
      std::vector<ledger::Record> rows;
      for (int i = 0; i < 24 * 40; ++i) rows.push_back(work(now - i * ledger::kHourMs + 1, 60.0 + i % 7));
      writer.append(std::move(rows));
    }
    ledger::LedgerReader reader(file);
    for (auto span : {ledger::Span::Last24h, ledger::Span::Last7d, ledger::Span::Last30d, ledger::Span::AllTime}) {
      const auto series = reader.donated_series(now, span);
      const auto total = reader.donated(now, span);
      double seconds = 0;
      std::int64_t steps = 0;
      std::int64_t previous = std::numeric_limits<std::int64_t>::min();
      const bool daily = span == ledger::Span::Last30d || span == ledger::Span::AllTime;
      for (const auto& bucket : series) {
        QVERIFY(bucket.start_ms > previous);  // oldest first
        QCOMPARE(bucket.start_ms % (daily ? ledger::kDayMs : ledger::kHourMs), std::int64_t{0});
        previous = bucket.start_ms;
        seconds += bucket.donated.device_seconds;
        steps += bucket.donated.steps;
      }
      QCOMPARE(steps, total.steps);
      QCOMPARE(seconds, total.device_seconds);
    }
    QCOMPARE(reader.donated_series(now, ledger::Span::Last24h).size(), std::size_t{24});
  }

  void pagesAreNewestFirst() {
    QTemporaryDir dir;
    const std::string file = dir.filePath(QStringLiteral("log.db")).toStdString();
    {
      ledger::LedgerWriter writer(file, wallet::KeyPair::generate());
      std::vector<ledger::Record> rows;
      for (int i = 0; i < 25; ++i)
        rows.push_back(ledger::EventRecord{1000 + i, "note", "r", "event " + std::to_string(i), ""});
      rows.push_back(work(5000, 1));
      writer.append(std::move(rows));
    }
    ledger::LedgerReader reader(file);
    const auto first = reader.page(ledger::Table::Events, 0, 10);
    QCOMPARE(first.size(), std::size_t{10});
    QCOMPARE(std::get<ledger::EventRecord>(first.front().record).message, std::string("event 24"));
    QVERIFY(first.front().seq > first.back().seq);
    const auto last = reader.page(ledger::Table::Events, 20, 10);
    QCOMPARE(last.size(), std::size_t{5});
    QCOMPARE(std::get<ledger::EventRecord>(last.back().record).message, std::string("event 0"));
    QVERIFY(reader.page(ledger::Table::Events, 30, 10).empty());
    QCOMPARE(reader.page(ledger::Table::Work, 0, 10).size(), std::size_t{1});
    QVERIFY(reader.page(ledger::Table::Payouts, 0, 10).empty());
    // The row a page returns is the row the chain holds.
    const auto row = reader.row(first.front().seq);
    QVERIFY(row.has_value());
    QCOMPARE(std::get<ledger::EventRecord>(row->second).message, std::string("event 24"));
  }
};

QTEST_APPLESS_MAIN(TestLedgerPages)
#include "test_ledger_pages.moc"
