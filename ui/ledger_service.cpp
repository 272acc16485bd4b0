// The contribution log on a worker thread (see ledger_service.h).
#include "ui/ledger_service.h"

#include <filesystem>
#include <fstream>

#include "core/ledger/ledger.h"
#include "core/wallet/delegation.h"

namespace tessera::ui {

LedgerWorker::~LedgerWorker() = default;

ledger::LedgerReader* LedgerWorker::reader() {
  if (reader_) return reader_.get();
  try {
    reader_ = std::make_unique<ledger::LedgerReader>(file_.toStdString());
  } catch (const std::exception& error) {
    std::error_code ec;
    if (!std::filesystem::exists(file_.toStdString(), ec))
      Q_EMIT unavailable(tr("No contributions yet: the log appears when your node records its first step."));
    else
      Q_EMIT unavailable(QString::fromUtf8(error.what()));
    return nullptr;
  }
  return reader_.get();
}

void LedgerWorker::loadDashboard(ledger::Span span, qint64 now_ms) {
  auto* log = reader();
  if (log == nullptr) return;
  try {
    auto data = std::make_shared<DashboardData>();
    data->span = span;
    const auto summary = log->summary(now_ms);
    data->donated = log->donated(now_ms, span);
    data->buckets = log->donated_series(now_ms, span);
    data->ownership = summary.ownership;
    data->revenue = summary.revenue;
    data->loaded_at = QDateTime::currentDateTime();
    Q_EMIT dashboardLoaded(std::move(data));
  } catch (const std::exception& error) {
    reader_.reset();  // reopen next time (the file may have been replaced)
    Q_EMIT failed(tr("Dashboards"), QString::fromUtf8(error.what()));
  }
}

void LedgerWorker::loadPage(ledger::Table table, qint64 offset, qint64 limit) {
  auto* log = reader();
  if (log == nullptr) return;
  try {
    auto page = std::make_shared<PageData>();
    page->table = table;
    page->offset = offset;
    page->total = log->row_count(table);
    page->rows = log->page(table, offset, limit);
    Q_EMIT pageLoaded(std::move(page));
  } catch (const std::exception& error) {
    reader_.reset();
    Q_EMIT failed(tr("Contribution log"), QString::fromUtf8(error.what()));
  }
}

void LedgerWorker::verify(QString node_key_file) {
  auto* log = reader();
  if (log == nullptr) return;
  try {
    // Against this machine's node key when it exists (the log is ours), else the recorded keys.
    std::optional<wallet::PublicKey> key;
    std::error_code ec;
    if (!node_key_file.isEmpty() && std::filesystem::exists(node_key_file.toStdString(), ec))
      key = wallet::load_or_create_node_key(node_key_file.toStdString()).public_key();
    const auto report = log->verify(key);
    Q_EMIT verified(report.intact, QString::fromStdString(report.to_text()));
  } catch (const std::exception& error) {
    Q_EMIT failed(tr("Verify"), QString::fromUtf8(error.what()));
  }
}

void LedgerWorker::exportCsv(ledger::Table table, QString path) {
  auto* log = reader();
  if (log == nullptr) return;
  try {
    std::ofstream out(path.toStdString(), std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + path.toStdString());
    const auto rows = log->export_csv(table, out);
    out.close();
    if (!out) throw std::runtime_error("writing " + path.toStdString() + " failed (disk full?)");
    Q_EMIT exportedCsv(path, rows);
  } catch (const std::exception& error) {
    Q_EMIT failed(tr("Export CSV"), QString::fromUtf8(error.what()));
  }
}

LedgerService::LedgerService(QString file, QObject* parent) : QObject(parent), file_(std::move(file)) {
  qRegisterMetaType<DashboardSnapshot>();
  qRegisterMetaType<PageSnapshot>();
  worker_ = new LedgerWorker(file_);
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("ledger"));
  thread_.start(QThread::LowPriority);
  connect(worker_, &LedgerWorker::dashboardLoaded, this, &LedgerService::dashboardLoaded);
  connect(worker_, &LedgerWorker::pageLoaded, this, &LedgerService::pageLoaded);
  connect(worker_, &LedgerWorker::verified, this, &LedgerService::verified);
  connect(worker_, &LedgerWorker::exportedCsv, this, &LedgerService::exportedCsv);
  connect(worker_, &LedgerWorker::unavailable, this, &LedgerService::unavailable);
  connect(worker_, &LedgerWorker::failed, this, &LedgerService::failed);
}

LedgerService::~LedgerService() {
  thread_.quit();
  thread_.wait();
}

void LedgerService::loadDashboard(ledger::Span span) {
  const qint64 now = QDateTime::currentMSecsSinceEpoch();
  QMetaObject::invokeMethod(worker_, [w = worker_, span, now] { w->loadDashboard(span, now); }, Qt::QueuedConnection);
}

void LedgerService::loadPage(ledger::Table table, qint64 offset, qint64 limit) {
  QMetaObject::invokeMethod(worker_, [w = worker_, table, offset, limit] { w->loadPage(table, offset, limit); },
                            Qt::QueuedConnection);
}

void LedgerService::verify(const QString& node_key_file) {
  QMetaObject::invokeMethod(worker_, [w = worker_, node_key_file] { w->verify(node_key_file); },
                            Qt::QueuedConnection);
}

void LedgerService::exportCsv(ledger::Table table, const QString& path) {
  QMetaObject::invokeMethod(worker_, [w = worker_, table, path] { w->exportCsv(table, path); }, Qt::QueuedConnection);
}

}  // namespace tessera::ui
