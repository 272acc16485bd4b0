// Contribution log page (see log_page.h).
#include "ui/pages/log_page.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableView>

#include "ui/ledger_models.h"
#include "ui/pages/page_helpers.h"

namespace tessera::ui {

LogPage::LogPage(LedgerService* ledger, QString node_key_file, QWidget* parent)
    : QWidget(parent), ledger_(ledger), node_key_file_(std::move(node_key_file)) {
  setObjectName(QStringLiteral("LogPage"));
  model_ = new LogTableModel(this);
  auto* layout = makePageLayout(this, tr("Contribution log"),
                                tr("Every step your node worked, every receipt its neighbours signed, every statement "
                                   "the hub sent, chained and signed so that any change shows."));
  buildToolbar(layout);
  buildTable(layout);
  buildPager(layout);
  connectLedger();
}

// The table choice, Verify and Export CSV.
void LogPage::buildToolbar(QVBoxLayout* layout) {
  auto* tools = new QHBoxLayout();
  table_choice_ = new QComboBox(this);
  table_choice_->setObjectName(QStringLiteral("tableChoice"));
  const std::pair<QString, ledger::Table> tables[] = {
      {tr("Work"), ledger::Table::Work},           {tr("Receipts"), ledger::Table::Receipts},
      {tr("Statements"), ledger::Table::Statements}, {tr("Events"), ledger::Table::Events},
      {tr("Sessions"), ledger::Table::Sessions},   {tr("Revenue"), ledger::Table::Revenue},
      {tr("Payouts"), ledger::Table::Payouts}};
  for (const auto& [name, table] : tables) table_choice_->addItem(name, static_cast<int>(table));
  connect(table_choice_, &QComboBox::currentIndexChanged, this,
          [this](int) { setTable(static_cast<ledger::Table>(table_choice_->currentData().toInt())); });
  tools->addWidget(table_choice_);
  tools->addStretch();
  verify_ = new QPushButton(tr("Verify"), this);
  verify_->setObjectName(QStringLiteral("verifyButton"));
  verify_->setToolTip(tr("Recompute the chain and check every signature"));
  auto* export_csv = new QPushButton(tr("Export CSV…"), this);
  export_csv->setObjectName(QStringLiteral("exportButton"));
  tools->addWidget(verify_);
  tools->addWidget(export_csv);
  layout->addLayout(tools);
  connect(verify_, &QPushButton::clicked, this, &LogPage::verify);
  connect(export_csv, &QPushButton::clicked, this, &LogPage::exportCsv);
}

// The verify result above the table, and the empty-log note under it.
void LogPage::buildTable(QVBoxLayout* layout) {
  verify_result_ = new QLabel(this);
  verify_result_->setObjectName(QStringLiteral("verifyResult"));
  verify_result_->setWordWrap(true);
  verify_result_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  verify_result_->hide();
  layout->addWidget(verify_result_);

  view_ = new QTableView(this);
  view_->setModel(model_);
  view_->setAlternatingRowColors(true);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setWordWrap(false);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->verticalHeader()->setVisible(false);
  view_->verticalHeader()->setDefaultSectionSize(26);
  view_->setObjectName(QStringLiteral("logTable"));
  layout->addWidget(view_, 1);
  empty_ = makeMuted({}, this);
  empty_->setWordWrap(true);
  empty_->hide();
  layout->addWidget(empty_);
}

void LogPage::buildPager(QVBoxLayout* layout) {
  auto* pager = new QHBoxLayout();
  range_ = makeMuted({}, this);
  previous_ = new QPushButton(tr("Newer"), this);
  next_ = new QPushButton(tr("Older"), this);
  previous_->setObjectName(QStringLiteral("newerButton"));
  next_->setObjectName(QStringLiteral("olderButton"));
  pager->addWidget(range_);
  pager->addStretch();
  pager->addWidget(previous_);
  pager->addWidget(next_);
  layout->addLayout(pager);
  connect(previous_, &QPushButton::clicked, this, [this] {
    offset_ = std::max<qint64>(0, offset_ - kPageSize);
    reload();
  });
  connect(next_, &QPushButton::clicked, this, [this] {
    offset_ += kPageSize;
    reload();
  });
}

void LogPage::connectLedger() {
  if (ledger_ != nullptr) {
    connect(ledger_, &LedgerService::pageLoaded, this, &LogPage::onPage);
    connect(ledger_, &LedgerService::unavailable, this, [this](const QString& why) {
      empty_->setText(why);
      empty_->show();
      range_->clear();
    });
    connect(ledger_, &LedgerService::verified, this, [this](bool intact, const QString& report) {
      verify_->setEnabled(true);
      verify_result_->setText((intact ? tr("✔ The log is intact. ") : tr("✘ The log failed verification. ")) + report);
      verify_result_->setProperty("intact", intact);
      verify_result_->setStyleSheet(intact ? QStringLiteral("color: #27ae60;") : QStringLiteral("color: #d64541;"));
      verify_result_->show();
      Q_EMIT verifyFinished(intact);
    });
    connect(ledger_, &LedgerService::exportedCsv, this, [this](const QString& path, qint64 rows) {
      verify_result_->setStyleSheet({});
      verify_result_->setText(tr("Exported %n row(s) to %1.", nullptr, static_cast<int>(rows)).arg(path));
      verify_result_->show();
    });
    connect(ledger_, &LedgerService::failed, this, [this](const QString& operation, const QString& message) {
      verify_->setEnabled(true);
      verify_result_->setStyleSheet(QStringLiteral("color: #d64541;"));
      verify_result_->setText(tr("%1 failed: %2").arg(operation, message));
      verify_result_->show();
    });
  }
}

void LogPage::showEvent(QShowEvent* event) {
  reload();
  QWidget::showEvent(event);
}

void LogPage::setTable(ledger::Table table) {
  table_ = table;
  offset_ = 0;
  const int index = table_choice_->findData(static_cast<int>(table));
  if (index >= 0 && index != table_choice_->currentIndex()) table_choice_->setCurrentIndex(index);
  reload();
}

void LogPage::reload() {
  if (ledger_ != nullptr) ledger_->loadPage(table_, offset_, kPageSize);
}

void LogPage::onPage(const PageSnapshot& page) {
  if (!page || page->table != table_ || page->offset != offset_) return;  // a stale answer
  empty_->hide();
  const bool new_table = model_->columnCount() == 0 || model_->table() != page->table;
  model_->setPage(page);
  if (new_table) view_->resizeColumnsToContents();  // once per table: measuring every cell is not free
  const qint64 shown = static_cast<qint64>(page->rows.size());
  if (page->total == 0)
    range_->setText(tr("No rows yet"));
  else
    range_->setText(tr("Rows %1–%2 of %3, newest first")
                        .arg(QLocale().toString(page->offset + 1), QLocale().toString(page->offset + shown),
                             QLocale().toString(page->total)));
  previous_->setEnabled(page->offset > 0);
  next_->setEnabled(page->offset + shown < page->total);
  Q_EMIT pageShown();
}

void LogPage::verify() {
  if (ledger_ == nullptr) return;
  verify_->setEnabled(false);
  verify_result_->setStyleSheet({});
  verify_result_->setText(tr("Verifying…"));
  verify_result_->show();
  ledger_->verify(node_key_file_);
}

QString LogPage::verifyText() const { return verify_result_->text(); }

void LogPage::exportCsv() {
  if (ledger_ == nullptr) return;
  const QString name = table_choice_->currentText().toLower();
  const QString suggested = QDir(QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation))
                                .filePath(QStringLiteral("tessera-%1.csv").arg(name));
  const QString path = QFileDialog::getSaveFileName(this, tr("Export %1 as CSV").arg(name), suggested,
                                                    tr("CSV files (*.csv)"));
  if (!path.isEmpty()) ledger_->exportCsv(table_, path);
}

}  // namespace tessera::ui
