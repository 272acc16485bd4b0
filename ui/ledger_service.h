// The contribution log for the app: a worker thread owns a read-only LedgerReader and answers
// dashboard, table page, verify and export requests; results come back as signals carrying
// immutable snapshots. The node keeps writing meanwhile (WAL); each request reads one snapshot.
#pragma once

#include <QDateTime>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QThread>
#include <QVector>

#include <memory>
#include <optional>

#include "core/ledger/reader.h"

namespace tessera::ui {

struct DashboardData {
  ledger::Span span = ledger::Span::Last24h;
  ledger::Donated donated;                       // totals over the span
  std::vector<ledger::DonatedBucket> buckets;    // per hour or day
  std::vector<ledger::OwnershipPoint> ownership;  // all epochs, per run
  std::vector<ledger::EpochRevenue> revenue;     // all epochs
  QDateTime loaded_at;
};
using DashboardSnapshot = std::shared_ptr<const DashboardData>;

struct PageData {
  ledger::Table table = ledger::Table::Work;
  qint64 offset = 0;
  qint64 total = 0;
  std::vector<ledger::PagedRow> rows;
};
using PageSnapshot = std::shared_ptr<const PageData>;

class LedgerWorker : public QObject {
  Q_OBJECT

 public:
  explicit LedgerWorker(QString file) : file_(std::move(file)) {}
  ~LedgerWorker() override;

  void loadDashboard(ledger::Span span, qint64 now_ms);
  void loadPage(ledger::Table table, qint64 offset, qint64 limit);
  void verify(QString node_key_file);
  void exportCsv(ledger::Table table, QString path);

 Q_SIGNALS:
  void dashboardLoaded(tessera::ui::DashboardSnapshot data);
  void pageLoaded(tessera::ui::PageSnapshot page);
  void verified(bool intact, const QString& report);
  void exportedCsv(const QString& path, qint64 rows);
  void unavailable(const QString& why);  // no log yet, or it cannot be read
  void failed(const QString& operation, const QString& message);

 private:
  ledger::LedgerReader* reader();  // opens on first use; nullptr (and unavailable emitted) when it cannot

  QString file_;
  std::unique_ptr<ledger::LedgerReader> reader_;
};

class LedgerService : public QObject {
  Q_OBJECT

 public:
  // `file`: <data-dir>/contributions.db.
  explicit LedgerService(QString file, QObject* parent = nullptr);
  ~LedgerService() override;

  QString file() const { return file_; }
  void loadDashboard(ledger::Span span);
  void loadPage(ledger::Table table, qint64 offset, qint64 limit);
  void verify(const QString& node_key_file);
  void exportCsv(ledger::Table table, const QString& path);

 Q_SIGNALS:
  void dashboardLoaded(tessera::ui::DashboardSnapshot data);
  void pageLoaded(tessera::ui::PageSnapshot page);
  void verified(bool intact, const QString& report);
  void exportedCsv(const QString& path, qint64 rows);
  void unavailable(const QString& why);
  void failed(const QString& operation, const QString& message);

 private:
  QString file_;
  QThread thread_;
  LedgerWorker* worker_ = nullptr;
};

}  // namespace tessera::ui

Q_DECLARE_METATYPE(tessera::ui::DashboardSnapshot)
Q_DECLARE_METATYPE(tessera::ui::PageSnapshot)
